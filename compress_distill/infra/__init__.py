"""What every job stands on: atomic files (``io``), verified intermediates (``ledger``) that carry the record of the job
that wrote them (``provenance``), a job's identity by content (``identity``), job start-up — log, threads, failures (``jobstart``) —, torch jobs forked from one preloaded process
(``preload``), child processes (``processes``) and the run's ``manifest``."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "io": ("atomic_path", "atomic_dir", "read_json", "write_json", "read_jsonl", "write_jsonl", "stable_seed",
           "InputError"),
    "ledger": ("IntermediateError",),
    "provenance": ("reconcile",),
    "identity": ("code_identity", "job_fingerprint", "file_digest"),
    "jobstart": ("start", "job_threads"),
    "processes": ("executable", "free_port"),
})
