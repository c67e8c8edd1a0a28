"""The study's vocabulary, pure functions only: the trace format (``trace``), grading (``verifier``), target kinds
(``target``), the training grid (``grid``), prompt templates (``prompts``) and problem overlap
(``decontamination``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "trace": ("format_trace", "split_trace", "final_section", "answer_line", "in_trace_format", "join_reasoning"),
    "verifier": ("extract_answer", "grade_many", "verify_traces"),
    "target": ("Target", "TargetKind", "KINDS", "every_target"),
    "grid": ("runs", "run_key", "run_id"),
    "prompts": ("fill_template",),
    "decontamination": ("decontaminate",),
})
