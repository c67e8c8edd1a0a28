"""Compress-Distill: reasoning-trace compression for efficient knowledge distillation.

One module per stage of the study, named in the paper's words:

- ``problems``   training pool and held-out benchmarks (disjoint), sharded.
- ``engine``     the *engine* interface: generate text for a list of requests in resumable chunks; the kinds live
                 in the ``engines`` package (``synthetic``, ``extractive``, ``hf``, ``openai``, ``vllm``), one module
                 each; ``server`` starts and always stops a served model for a job.
- ``teacher``    teacher trace generation (the demo's programmatic teachers are the ``synthetic`` engine).
- ``verifier``   final-answer extraction and grading, chosen per dataset.
- ``compressor`` the *compressor* interface, trace compression and its quality checks.
- ``truncation`` the length-matched truncation ablation.
- ``target``     training targets (raw / compressed / truncated / answer-only) on shared problem ids.
- ``regime``     data regimes: how many of those problems a student trains on.
- ``student``    student tokenizer, model construction and pre-training.
- ``trainer``    the *trainer*: the training loop around one loop state; around it ``batching`` (examples as token
                 rows, micro-batch layout), ``loss``, ``checkpoints``, ``parallel`` and ``fsdp`` (data parallelism,
                 sharding), ``launch`` (one training job: in process or as ``accelerate launch`` workers) and
                 ``settings`` (the typed training settings and job spec).
- ``evaluation`` greedy generation on benchmarks and grading with bootstrap intervals.
- ``grid``       the training grid (factors plus inclusions/exclusions) read from config.
- ``tables``, ``figures``, ``manifest``  the study's outputs, registered in ``outputs`` (with ``study``: a run's
                 results loaded for the tables; ``tablefiles``: CSV, Markdown, LaTeX, HTML).

Support: ``config`` (schema validation), ``io`` (atomic writes, seeds), ``ledger`` (verified intermediates),
``tokens`` (token counts), ``runtime`` (per-rule logging, thread pinning, one-line failures), ``processes``
(console scripts, free ports), ``identity`` (what a job computes from, by content: the rerun trigger and
the resume-state fingerprint), ``numerics`` (CPU kernel dispatch pinned for machine-independent results),
``readme`` (the README's result tables from a run), ``budget`` (GPU-hours a config reserves on SLURM),
``benchmark`` (training throughput: the trainer against plain transformers baselines), ``stagecheck`` (a
preset's training and evaluation on one device, the GPU check).
"""

__version__ = "0.1.0"
