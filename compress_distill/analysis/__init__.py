"""A finished run's results: the registry of tables and figures (``registry``), the run loaded once (``study``), the
tables (``tables``, written by ``table_files``), ``figures`` (drawn alike: ``figure_style``), ``claims``, ``intervals`` and the README's tables
(``readme``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "registry": ("TABLES", "FIGURES", "Output"),
    "study": ("Study",),
    "table_files": ("write_table",),
    "intervals": ("seed_item_interval",),
})
