"""The engine interface: resumable chunked generation that never loses or duplicates a record."""

from __future__ import annotations

import json

import pytest

from compress_distill.core import prompts
from compress_distill.engines import chunked, registry
from compress_distill.engines.interface import Completion, Request
from compress_distill.stages import teacher
from compress_distill.synthetic import arithmetic
from compress_distill.synthetic.teacher import SyntheticTeacher


class Crashing:
    """Wraps an engine and raises after ``ok_chunks`` chunks, as a killed job would stop."""

    def __init__(self, inner, ok_chunks):
        self.inner, self.left = inner, ok_chunks

    def generate(self, requests):
        if self.left == 0:
            raise KeyboardInterrupt("simulated kill")
        self.left -= 1
        return self.inner.generate(requests)


def _setup(arith):

    pool = arithmetic.synthetic_arithmetic(arith, {"pool": 50}, 3)["pool"]
    spec = {"verbosity": 2, "self_check": 0.5, "error_rate": 0.1, "no_answer_rate": 0.0, "max_tokens": 200}
    by_id = {p["id"]: p for p in pool}
    reqs = teacher.requests_for(pool, "{question}", 0, "t")
    return SyntheticTeacher(spec), reqs, lambda r, c: teacher.trace_record(r, c, by_id[r.id])


@pytest.mark.parametrize("ok_chunks", [0, 1, 3, 6])
def test_a_crashed_run_resumes_to_the_same_bytes(arith, tmp_path, ok_chunks):
    eng, reqs, to_record = _setup(arith)
    chunked.run_chunked(eng, reqs, tmp_path / "clean.jsonl", 8, to_record)
    out = tmp_path / "crashed.jsonl"
    with pytest.raises(KeyboardInterrupt):
        chunked.run_chunked(Crashing(eng, ok_chunks), reqs, out, 8, to_record)
    assert not out.exists()
    partial = out.with_name(out.name + ".partial")
    assert len(partial.read_text().splitlines()) == 8 * ok_chunks
    with open(partial, "a") as fh:  # a torn last line, as a kill mid-write leaves
        fh.write('{"id": "pool-0000')
    chunked.run_chunked(eng, reqs, out, 8, to_record)
    assert out.read_bytes() == (tmp_path / "clean.jsonl").read_bytes()
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [r.id for r in reqs] and not partial.exists()


def test_an_engine_that_drops_a_request_is_an_error(arith, tmp_path):
    class Dropping:
        def generate(self, requests):
            return [Completion(r.id, "x", "stop") for r in requests[:-1]]

    _, reqs, to_record = _setup(arith)
    with pytest.raises(RuntimeError, match="incomplete"):
        chunked.run_chunked(Dropping(), reqs, tmp_path / "o.jsonl", 8, to_record)


def test_unknown_engine_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="synthetic"):
        registry.make_engine({"kind": "nope"})


def test_templates_fill_only_named_fields():
    assert prompts.fill_template("Q: {question} \\boxed{} {x}", question="2+2") == "Q: 2+2 \\boxed{} {x}"


def test_hf_engine_generates_and_reports_stop_or_length(tiny_tokenizer, tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    eng = registry.make_engine({"kind": "hf", "max_new_tokens": 5, "batch_size": 2}, model_path=str(tmp_path))
    reqs = [Request(f"r{i}", [{"role": "user", "content": f"Compute {i} + 1."}], seed=0) for i in range(3)]
    outs = eng.generate(reqs)
    assert [o.id for o in outs] == ["r0", "r1", "r2"]
    for o in outs:
        assert o.finish_reason in ("stop", "length") and 1 <= o.completion_tokens <= 5
        assert o.finish_reason == "stop" or o.completion_tokens == 5
    assert [o.text for o in outs] == [o.text for o in eng.generate(reqs)]  # greedy is repeatable


def test_an_empty_shard_gives_empty_files_not_a_crash(tmp_path):
    from compress_distill.core import verifier

    out = chunked.run_chunked(SyntheticTeacher({}), [], tmp_path / "empty.jsonl", 8, lambda r, c: {})
    assert out == [] and (tmp_path / "empty.jsonl").read_text() == ""
    kept, rejects = verifier.verify_traces([], "math")
    assert kept == [] and sum(rejects.values()) == 0


def test_a_partial_written_for_another_job_is_discarded_not_mixed_in(arith, tmp_path, caplog):
    """A kill leaves a .partial; the job's inputs then change (another fingerprint): the rerun starts afresh."""
    eng, reqs, to_record = _setup(arith)
    out = tmp_path / "out.jsonl"
    old_record = lambda r, c: {**to_record(r, c), "made_by": "old job"}  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        chunked.run_chunked(Crashing(eng, 2), reqs, out, 8, old_record, fingerprint="old")
    assert len(out.with_name(out.name + ".partial").read_text().splitlines()) == 16
    chunked.run_chunked(eng, reqs, out, 8, to_record, fingerprint="new")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(reqs) and not any("made_by" in r for r in records)
    assert "was written for other inputs, settings or code" in caplog.text
    assert not list(tmp_path.glob("*.partial*"))


def test_a_partial_of_the_same_job_is_resumed(arith, tmp_path):
    eng, reqs, to_record = _setup(arith)
    out = tmp_path / "out.jsonl"
    marked = lambda r, c: {**to_record(r, c), "made_by": "first attempt"}  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        chunked.run_chunked(Crashing(eng, 2), reqs, out, 8, marked, fingerprint="same")
    chunked.run_chunked(eng, reqs, out, 8, to_record, fingerprint="same")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum("made_by" in r for r in records) == 16  # the first two chunks came from the partial
