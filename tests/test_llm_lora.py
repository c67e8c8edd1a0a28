"""Reasoning traces teach more than answers alone, with LoRA (merged before evaluation): demo students of the `small`
size that are real (small) language models (tests/llm_students.py), evaluated on held-out problems."""

from __future__ import annotations

from llm_students import DEMO_LORA, assert_traces_teach_more_than_answers, demo_data


def test_lora_raw_trace_students_stop_on_their_own_and_beat_answer_only(tmp_path_factory, worker_id):
    data = demo_data(tmp_path_factory, worker_id)
    assert_traces_teach_more_than_answers(data, tmp_path_factory, worker_id, lora=DEMO_LORA)
