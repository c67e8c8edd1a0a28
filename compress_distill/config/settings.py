"""Typed settings, one path from config to a job: :func:`job_settings` turns the validated config, a stage and a
job's wildcards into that job's settings — a small frozen dataclass: a teacher's, a compressor's, the evaluation's,
the training hyperparameters (a training job's spec, :class:`TrainJob`, is serialised as the JSON each ``accelerate
launch`` worker reads). The rule carries the part that changes results as its ``settings`` param (Snakemake reruns
a job when it changes) and the execution-only part (:data:`EXECUTION`) as resources (it does not); the job's script
rebuilds the same object with :meth:`FromSchema.of_job`. Defaults live in the config schema only
(:func:`compress_distill.config.validation.with_defaults`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar

from compress_distill.config.validation import canonical, student_training, with_defaults

# how a job runs, never what it computes: a change reruns nothing (tested in tests/test_reruns.py)
EXECUTION = ("chunk_size", "checkpoint_every")


class FromSchema:
    """Built from a config block checked against the schema's ``$defs/<DEFINITION>``, its defaults filled in."""

    DEFINITION: ClassVar[str]

    @classmethod
    def of(cls, block: dict, key: str | None = None):
        """From ``block``; keys it leaves out take the schema's defaults; errors name ``key``. Keys that are not
        settings of the job (its cluster ``resources``) stay with Snakemake."""
        full = with_defaults(cls.DEFINITION, block, key or cls.DEFINITION)
        return cls(**{f.name: full[f.name] for f in fields(cls) if f.name in full})

    def results(self) -> dict:
        """What the job's results depend on: the rule's ``settings`` param, keys sorted (a reordered YAML file
        reruns nothing)."""
        return canonical({k: v for k, v in asdict(self).items() if k not in EXECUTION})

    def execution(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in EXECUTION}

    @classmethod
    def of_job(cls, smk):
        """The settings a running job was planned with: its ``settings`` param and its execution resources."""
        return cls(**smk.params.settings, **{f.name: smk.resources[f.name] for f in fields(cls)
                                             if f.name in EXECUTION})


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
    """One teacher of ``teachers`` (schema ``$defs/teacher``). Its ``prompt`` template is the job's input (its
    content counts through the rule's ``prompt`` param, not its path)."""

    DEFINITION: ClassVar[str] = "teacher"

    engine: dict
    chunk_size: int


@dataclass(frozen=True)
class CompressorSettings(TeacherSettings):
    """One compressor of ``compressors`` (schema ``$defs/compressor``): a generating model, as a teacher, and the
    checks its outputs pass (``params_b``, its size, only prices compression in the tables)."""

    DEFINITION: ClassVar[str] = "compressor"

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


def engine_of(block: dict) -> dict:
    """A model block's engine; evaluation leaves it unset to mean the ``hf`` engine (the schema gives it no default,
    so a run's manifest records the config as written)."""
    return block.get("engine") or {"kind": "hf"}


STAGES = {"teacher_generate": TeacherSettings, "compress": CompressorSettings, "train": TrainingSettings,
          "evaluate": EvaluationSettings}


def execution_fields(stage: str) -> list[str]:
    return [f.name for f in fields(STAGES[stage]) if f.name in EXECUTION]


def job_settings(config: dict, stage: str, wildcards) -> FromSchema:
    """The typed settings of one job of ``stage``: the one place that reads a stage's settings from config."""
    if stage == "teacher_generate":
        return TeacherSettings.of(config["teachers"][wildcards.teacher], f"teachers.{wildcards.teacher}")
    if stage == "compress":
        return CompressorSettings.of(config["compressors"][wildcards.compressor],
                                     f"compressors.{wildcards.compressor}")
    if stage == "train":
        return TrainingSettings.of(student_training(config, wildcards.student), f"students.{wildcards.student}")
    if stage == "evaluate":
        return EvaluationSettings.of(config["evaluation"], "evaluation")
    raise ValueError(f"no typed settings for stage {stage!r}")
