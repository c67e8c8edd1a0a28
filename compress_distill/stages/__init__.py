"""The study's stages, one module each, in pipeline order: ``problems``, ``teacher``, ``compressor``,
``truncation``, ``selection`` (shared problems, regimes, target records), ``evaluation`` and ``adaptive`` (the
compression strength a pilot on validation fits to each student)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "problems": ("load_all", "shard"),
    "compressor": ("Retrying", "compressed_record"),
    "truncation": ("truncate_many", "truncated_records"),
    "selection": ("load_verdicts", "shared_ids", "select"),
    "evaluation": ("grade_outputs", "summarise"),
    "adaptive": ("pilot_examples", "choose"),
})
