"""The demo's synthetic world in one place: its arithmetic task and one-step facts (``arithmetic``), its programmatic
teachers (``teacher``), its rule-based compressors (``compressors``) and its students' pre-training corpus
(``pretraining``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "arithmetic": ("synthetic_arithmetic", "Expression", "pretraining_corpus", "single_step_facts"),
    "teacher": ("SyntheticTeacher", "language_documents"),
    "compressors": ("ExtractiveCompressor",),
    "pretraining": ("pretraining_documents",),
})
