"""Compress-Distill: reasoning-trace compression for efficient knowledge distillation.

Wings by concern, each importing only the wings above it in this list (tested):

- ``numerics``  CPU kernel dispatch pinned, so results are the same bits on any x86-64 machine.
- ``infra``     atomic files, verified intermediates, job identity, job start-up, preloading, the manifest.
- ``core``      the study's vocabulary: trace format, verifier, target kinds, grid, prompts, decontamination.
- ``config``    schema validation and each job's typed settings.
- ``models``    students (tokenizer, construction, pre-training, loading), token counts, model conversion.
- ``engines``   the engine interface, its kinds and registry, resumable chunked runs, served models.
- ``synthetic`` the demo's world: arithmetic task, programmatic teachers, rule-based compressors, pre-training.
- ``training``  the trainer and one training job.
- ``stages``    problems, teacher, compressor, truncation, selection, evaluation.
- ``analysis``  tables, figures, claims and intervals from a finished run.
- ``planning``  cluster costs, budget, submissions, the paper-scale simulator.
- ``checks``    the training benchmark and the one-device stage check.
"""

__version__ = "0.1.0"

# the wings in layer order: a module imports only from its own wing and those before it
WINGS = ("numerics", "infra", "core", "config", "models", "engines", "synthetic", "training", "stages", "analysis",
         "planning", "checks")
