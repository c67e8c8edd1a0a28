"""Typed settings at the boundary: each stage's block of the validated config as a small frozen dataclass, built
once by the stage's script and handed to the package — a training job's settings and spec (serialised as the JSON
each ``accelerate launch`` worker reads), a teacher's, a compressor's, the evaluation's. Defaults live in the config
schema only (:func:`compress_distill.config.with_defaults`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from .config import with_defaults


class FromSchema:
    """Built from a config block checked against the schema's ``$defs/<DEFINITION>``, its defaults filled in."""

    DEFINITION: ClassVar[str]

    @classmethod
    def of(cls, block: dict, key: str | None = None):
        """From ``block``; keys it leaves out take the schema's defaults; errors name ``key``."""
        return cls(**with_defaults(cls.DEFINITION, block, key or cls.DEFINITION))


@dataclass(frozen=True)
class TrainingSettings(FromSchema):
    """``training`` of the config (a student's overrides applied); see the schema for each field."""

    DEFINITION: ClassVar[str] = "training"

    epochs: int
    examples_per_step: int
    lr: float
    weight_decay: float
    warmup_ratio: float
    max_length: int
    max_tokens_per_microbatch: int
    checkpoint_every: int
    packing: bool
    max_grad_norm: float
    gradient_checkpointing: bool
    distributed: str
    bf16: bool


@dataclass(frozen=True)
class TeacherSettings(FromSchema):
    """One teacher of ``teachers`` (schema ``$defs/teacher``)."""

    DEFINITION: ClassVar[str] = "teacher"

    engine: dict
    prompt: str
    chunk_size: int
    resources: dict


@dataclass(frozen=True)
class CompressorSettings(TeacherSettings):
    """One compressor of ``compressors`` (schema ``$defs/compressor``): a generating model, as a teacher, and the
    checks its outputs pass."""

    DEFINITION: ClassVar[str] = "compressor"

    params_b: float
    min_reasoning_chars: int
    retries: int
    target_share: float | None


@dataclass(frozen=True)
class EvaluationSettings(FromSchema):
    """``evaluation`` (schema ``$defs/evaluation``); ``engine`` None means the ``hf`` engine."""

    DEFINITION: ClassVar[str] = "evaluation"

    max_new_tokens: int
    batch_size: int
    chunk_size: int
    bootstrap_resamples: int
    resources: dict
    engine: dict | None = None


@dataclass(frozen=True)
class TrainJob:
    """One training run: where its inputs and outputs are, and how to train."""

    base: str  # a pre-trained folder or a hub name
    examples: str
    hp: TrainingSettings
    seed: int
    model: str
    metrics: str
    curve: str
    lora: dict | None = None
    checkpoint: str | None = None  # a folder outside the job's outputs, kept across a preempted job's rerun
    fingerprint: str = ""  # the job's identity: a checkpoint is resumed only by the job it was made for
    meta: dict = field(default_factory=dict)  # the run's factors, copied into its metrics
    gpus: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainJob":
        return cls(**{**data, "hp": TrainingSettings(**data["hp"])})
