"""Checks on a device: the training-throughput benchmark (``benchmark``) and a preset's model stages on one device
(``stagecheck``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {"benchmark": ("SIZES",)})
