"""Compress-Distill: reasoning-trace compression for efficient knowledge distillation.

One module per stage of the study, named in the paper's words:

- ``problems``   training pool and held-out benchmarks (disjoint), sharded.
- ``engine``     the *engine* interface: generate text for a list of requests in resumable chunks; kinds live in
                 ``teacher`` (synthetic), ``compressor`` (extractive), ``evaluation`` (hf), ``openai_engine``,
                 ``vllm_engine``; ``server`` starts and always stops a served model for a job.
- ``teacher``    teacher trace generation (the demo's programmatic teachers are the ``synthetic`` engine).
- ``verifier``   final-answer extraction and grading, chosen per dataset.
- ``compressor`` the *compressor* interface, trace compression and its quality checks.
- ``truncation`` the length-matched truncation ablation.
- ``target``     training targets (raw / compressed / truncated / answer-only) on shared problem ids.
- ``regime``     data regimes: how many of those problems a student trains on.
- ``student``    student tokenizer, model construction and pre-training.
- ``trainer``    the *trainer* interface: fine-tune a student, write a metrics JSON; one process or the workers
                 ``accelerate launch`` starts (``fsdp`` shards the model for students that outgrow one GPU).
- ``evaluation`` greedy generation on benchmarks and grading with bootstrap intervals.
- ``grid``       the training grid (factors plus inclusions/exclusions) read from config.
- ``tables``, ``figures``, ``manifest``  the study's outputs.

Support: ``config`` (schema validation), ``io`` (atomic writes, seeds), ``tokens`` (token counts), ``runtime``
(per-rule logging and thread pinning), ``identity`` (what a job computes from, by content: the rerun trigger and
the resume-state fingerprint), ``numerics`` (CPU kernel dispatch pinned for machine-independent results),
``readme`` (the README's result tables from a run), ``budget`` (GPU-hours a config reserves on SLURM),
``benchmark`` (training throughput: the trainer against plain transformers baselines).
"""

__version__ = "0.1.0"
