"""The trainer: the loop (``trainer``) around examples as token rows and micro-batches (``batching``), the loss
(``loss``), resumable checkpoints (``checkpoints``), data parallelism (``parallel``, ``fsdp``) and one training job,
in process or as ``accelerate launch`` workers (``launch``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "trainer": ("train",),
    "launch": ("run_job", "launch"),
    "loss": ("summed_loss",),
})
