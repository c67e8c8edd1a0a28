"""From config to a job: the schema's validation with its defaults (``validation``), and each job's typed settings
(``settings``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "validation": ("validate", "ConfigError", "with_defaults", "student_training"),
    "settings": ("TrainingSettings", "TeacherSettings", "CompressorSettings", "EvaluationSettings", "TrainJob"),
})
