"""Before a run: what each CPU rule asks a cluster for (``cpu_costs``), GPU-hours reserved (``budget``), cluster
submissions (``submissions``), why each output a run would rebuild is stale (``why``) and a model-free simulation of
a paper-scale run (``simulate``, its records from ``synthetic_records``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "cpu_costs": ("declared",),
    "submissions": ("count",),
    "why": ("reasons",),
})
