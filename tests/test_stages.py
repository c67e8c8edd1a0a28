"""Unit tests of each stage's logic, on small data the tests generate."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from compress_distill.core import decontamination, target, verifier
from compress_distill.core.decontamination import Settings
from compress_distill.core.trace import answer_line, in_trace_format, split_trace
from compress_distill.engines.interface import Completion, Request
from compress_distill.infra import io, ledger
from compress_distill.models import tokens
from compress_distill.stages import adaptive, compressor, evaluation, problems, selection, teacher, truncation
from compress_distill.synthetic import arithmetic, pretraining
from compress_distill.synthetic.compressors import ExtractiveCompressor
from compress_distill.synthetic.teacher import SyntheticTeacher, language_documents
from compress_distill.training import batching
from conftest import BAD_ROWS

SPEC = {"verbosity": 2, "self_check": 0.6, "error_rate": 0.0, "no_answer_rate": 0.0, "max_tokens": 200}


def _problems(arith, n=60, seed=1):
    return arithmetic.synthetic_arithmetic(arith, {"bench": 20, "pool": n}, seed)


def test_synthetic_sets_are_distinct_and_sharded_exactly_once(arith):
    sets = _problems(arith)
    assert not set().union(*decontamination.overlaps(sets["pool"], sets["bench"], Settings()).values())
    shards = [problems.shard(sets["pool"], 7, i) for i in range(7)]
    assert sorted(p["id"] for s in shards for p in s) == sorted(p["id"] for p in sets["pool"])
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_a_benchmark_item_leaked_into_the_pool_leaves_it_counted(arith):
    sets = _problems(arith)
    leaked = [dict(sets["bench"][3], id="leak", question="  " + sets["bench"][3]["question"].upper())]
    kept, counts = decontamination.decontaminate(sets["pool"] + leaked, {"bench": sets["bench"]}, Settings())
    assert kept == sets["pool"] and counts["bench"]["pool_removed"] == 1


def test_too_many_problems_for_the_operand_range_is_a_clear_error():
    small = {"operations": [["+", "*"]], "max_operand": 2, "max_factor": 2}
    with pytest.raises(ValueError, match="distinct expressions"):
        arithmetic.synthetic_arithmetic(small, {"pool": 50}, 0)


def test_pretraining_corpus_has_every_single_step_but_no_two_step_problem(arith):
    corpus = set(arithmetic.pretraining_corpus(arith))
    for p in _problems(arith)["pool"]:
        expr = arithmetic.Expression(**p["expression_parts"])
        for step in expr.steps:
            a, op, b, r = step
            assert f"Compute {a} {op} {b}. {a} {op} {b} = {r}." in corpus
        assert not any(expr.text in line for line in corpus)


def test_pretraining_documents_train_every_token_a_compressed_trace_writes(arith, tiny_tokenizer):
    # a LoRA student cannot learn an embedding its pre-training left untrained: the format must be in pre-training
    docs = pretraining.pretraining_documents(arith, tiny_tokenizer)
    seen = {t for d in docs for t in tiny_tokenizer(d, add_special_tokens=False)["input_ids"]}
    (a, op1, b, s), (_, op2, c, r) = arithmetic.Expression(**_problems(arith)["pool"][0]["expression_parts"]).steps
    trace = f"<think>\n{a} {op1} {b} = {s}.\n{s} {op2} {c} = {r}.\n</think>\n{answer_line(str(r))}"
    (_, labels), = batching.encode_examples(tiny_tokenizer, [("Compute it.", trace)])
    assert {t for t in labels if t != batching.IGNORE} <= seen
    assert not {t for t in labels if t != batching.IGNORE} <= {
        t for d in arithmetic.pretraining_corpus(arith) for t in tiny_tokenizer(d, add_special_tokens=False)["input_ids"]}
    assert set(arithmetic.pretraining_corpus(arith)) < set(docs)
    assert not any(p["question"][len("Compute "):-1] in d for d in docs for p in _problems(arith)["pool"])


def test_pretraining_documents_train_every_token_of_a_raw_trace_and_its_prompt(arith, tiny_tokenizer):
    # the teachers' sentences too: under LoRA an embedding left untrained stays random
    docs = pretraining.pretraining_documents(arith, tiny_tokenizer)
    language = set(language_documents(arithmetic.single_step_facts(arith)))
    pool = _problems(arith)["pool"]
    traces = SyntheticTeacher({**SPEC, "self_check": 1.0}).generate(_requests(pool))
    rows = batching.encode_examples(tiny_tokenizer, [(p["question"], c.text) for p, c in zip(pool, traces)])
    written = {t for ids, _ in rows for t in ids}

    def trained(texts):
        return {t for d in texts for t in tiny_tokenizer(d, add_special_tokens=False)["input_ids"]}

    assert written <= trained(docs)
    assert not written <= trained(d for d in docs if d not in language)
    assert not any(p["question"][len("Compute "):-1] in d for d in language for p in pool)


def _requests(pool, seed=0):
    return teacher.requests_for(pool, "{question}", seed, "t")


def test_the_trained_tokenizer_spells_each_chat_role_in_one_token(tiny_tokenizer):
    """Its corpus never shows the chat template, yet every prompt carries the role names."""
    prompt = tiny_tokenizer.apply_chat_template([{"role": "user", "content": "Compute 3 + 4."}],
                                                add_generation_prompt=True, tokenize=False)
    pieces = tiny_tokenizer.convert_ids_to_tokens(tiny_tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert {"user", "assistant"} <= set(pieces), pieces


def test_synthetic_teacher_is_deterministic_per_request_whatever_the_chunking(arith):
    pool = _problems(arith)["pool"]
    engine = SyntheticTeacher(SPEC)
    reqs = _requests(pool)
    whole = [c.text for c in engine.generate(reqs)]
    chunked = [c.text for i in range(0, len(reqs), 7) for c in engine.generate(reqs[i : i + 7])]
    assert whole == chunked
    assert whole != [c.text for c in engine.generate(_requests(pool, seed=1))]


def test_verification_counts_each_reject_reason(arith):
    pool = _problems(arith)["pool"][:6]
    recs = [teacher.trace_record(r, c, p) for r, c, p in
            zip(_requests(pool), SyntheticTeacher(SPEC).generate(_requests(pool)), pool)]
    recs[0] = {**recs[0], "text": recs[0]["text"].replace("\\boxed", "")}  # no answer
    recs[1] = {**recs[1], "gold": str(int(recs[1]["gold"]) + 1)}  # wrong
    recs[2] = {**recs[2], "finish_reason": "length"}  # truncated
    kept, rejects = verifier.verify_traces(recs, "numeric")
    assert dict(rejects) == {"no_answer": 1, "wrong": 1, "truncated": 1}
    assert [r["id"] for r in kept] == [r["id"] for r in recs[3:]]


def test_teacher_error_rates_produce_rejects(arith):
    pool = _problems(arith, n=300)["pool"]
    reqs = _requests(pool)
    lengths = sorted(len(c.text.split(" ")) for c in SyntheticTeacher(SPEC).generate(reqs))
    spec = {**SPEC, "error_rate": 0.2, "no_answer_rate": 0.1, "max_tokens": lengths[int(0.8 * len(lengths))]}
    recs = [teacher.trace_record(r, c, p) for r, c, p in zip(reqs, SyntheticTeacher(spec).generate(reqs), pool)]
    _, rejects = verifier.verify_traces(recs, "numeric")
    assert all(rejects[k] > 0 for k in verifier.REJECT_REASONS)


@pytest.mark.parametrize("gold,pred,kind,ok", [
    ("12", "12.0", "numeric", True), ("12", "13", "numeric", False), ("1/2", "0.5", "numeric", True),
    ("\\frac{1}{2}", "0.5", "math", True), ("\\frac{1}{2}", "\\frac{2}{3}", "math", False),
    ("B", "(b)", "choice", True), ("B", "C", "choice", False),
])
def test_verifiers(gold, pred, kind, ok):
    assert verifier.grade_many(kind, [(gold, pred)]) == [ok]


def test_boxed_extraction_balances_braces():
    assert verifier.extract_answer("<think>x</think>\nSo \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
    assert verifier.extract_answer("no answer here") is None


def test_the_answer_is_read_from_the_final_section_only_and_a_capped_output_is_wrong():
    # a boxed step inside reasoning, finished or cut off, is not an answer
    assert verifier.extract_answer("<think>\\boxed{3}</think> nothing") is None
    assert verifier.extract_answer("<think>so \\boxed{3} and then") is None
    assert verifier.extract_answer("reasoning \\boxed{2}</think>The answer is \\boxed{3}.") == "3"  # template opened
    assert verifier.extract_answer("The answer is \\boxed{3}.") == "3"  # no reasoning section
    outputs = [{"id": i, "gold": "3", "text": "<think>1+2=3</think>The answer is \\boxed{3}.", "finish_reason": f,
                "completion_tokens": 9} for i, f in enumerate(["stop", "length"])]
    graded = evaluation.grade_outputs(outputs, "numeric")
    assert [g["correct"] for g in graded] == [True, False] and graded[1]["predicted"] == "3"
    summary = evaluation.summarise(graded, 9, 10, 0)
    assert summary["hit_cap_share"] == 0.5 and summary["accuracy"] == 0.5


RAW = ("<think>\nOkay, let me work out (2 + 3) * 4.\nLet me be careful here.\n2 + 3 = 5.\nLet me check: 2 + 3 = 5. Yes."
       "\n5 * 4 = 20.\nSo (2 + 3) * 4 = 20.\n</think>\nThe answer is \\boxed{20}.")


@pytest.mark.parametrize("keep,dedupe,expected", [
    ("equations", True, "2 + 3 = 5.\n5 * 4 = 20."),
    ("equations", False, "2 + 3 = 5.\n2 + 3 = 5.\n5 * 4 = 20."),
])
def test_extractive_compressor(keep, dedupe, expected):
    out = ExtractiveCompressor({"keep": keep, "dedupe": dedupe}).compress(RAW)
    assert split_trace(out) == (expected, "The answer is \\boxed{20}.")


def test_numeric_compressor_drops_only_lines_without_numbers():
    out = ExtractiveCompressor({"keep": "numeric", "dedupe": False}).compress(RAW)
    reasoning, _ = split_trace(out)
    assert "Let me be careful" not in reasoning and "Let me check: 2 + 3 = 5. Yes." in reasoning


@pytest.mark.parametrize("text,finish,reason", [
    ("<think>\n2 + 3 = 5.\n</think>\n\\boxed{21}", "stop", "answer_changed"),
    ("<think>\n2 + 3 = 5.\n</think>\nno answer", "stop", "answer_changed"),
    (RAW + " ", "stop", "not_shorter"),
    ("<think>\n</think>\n\\boxed{20}", "stop", "no_reasoning"),
    ("<think>\n2 + 3 = 5.\n5 * 4 = 20.\n</think>\n\\boxed{20}", "length", "unfinished"),
    ("<think>\n2 + 3 = 5.\n5 * 4 = 20.\n</think>\n\\boxed{20}", "stop", None),
])
def test_compression_rejects(text, finish, reason):
    raw = {"id": "p", "question": "q", "answer": "20", "text": RAW}
    assert compressor.reject_reason(raw, Completion("p", text, finish), min_reasoning_chars=5) == reason


def test_truncation_matches_compressed_reasoning_length_and_keeps_the_answer():
    compressed = ExtractiveCompressor({"keep": "equations", "dedupe": True}).compress(RAW)
    cut = truncation.truncate(RAW, compressed)
    cut_reasoning, final = split_trace(cut)
    raw_reasoning, _ = split_trace(RAW)
    assert final == "The answer is \\boxed{20}."
    assert cut_reasoning == raw_reasoning[: len(split_trace(compressed)[0])].rstrip()


def test_a_synthetic_trace_cut_to_its_lean_compression_keeps_reasoning_steps(arith):
    """The truncation ablation can fail: a demo teacher's trace starts with a step, as a real one's first tenth holds
    reasoning; the record counts the steps each side keeps, only those written whole in the cut."""
    pool = _problems(arith)["pool"]
    traces = SyntheticTeacher({**SPEC, "error_rate": 0.0, "no_answer_rate": 0.0}).generate(_requests(pool))
    lean = ExtractiveCompressor({"keep": "equations", "dedupe": True})
    compressed = [{"id": c.id, "question": "q", "answer": "a", "raw_text": c.text, "text": lean.compress(c.text),
                   "reject": None, "raw_chars": len(c.text), "chars": len(lean.compress(c.text))} for c in traces]
    records = truncation.truncated_records(compressed, "chars", None)
    kept = [r["steps"] for r in records]
    assert sum(kept) / len(kept) >= 1 and min(kept) >= 1
    assert all(r["compressed_steps"] == 2 and r["raw_steps"] >= 2 for r in records)
    assert any(k < r["compressed_steps"] for k, r in zip(kept, records))  # the cut loses a step the compression keeps
    assert all(split_trace(r["text"])[0].count("=") >= r["steps"] for r in records)
    raw = "<think>\n7 + 5 = 12.\n12 * 2 = 24.\n</think>\nThe answer is \\boxed{24}."
    cut = [{**compressed[0], "raw_text": raw, "text": f"<think>\n{'x' * n}\n</think>"} for n in (9, 10)]
    assert [r["steps"] for r in truncation.truncated_records(cut, "chars", None)] == [0, 1]  # "7 + 5 = 1": no step


def test_truncation_in_tokens_of_a_named_tokenizer(tiny_tokenizer, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path)
    compressed = ExtractiveCompressor({"keep": "equations", "dedupe": True}).compress(RAW)
    cut = truncation.truncate(RAW, compressed, unit="tokens", tokenizer=str(tmp_path))
    n = lambda t: len(tiny_tokenizer(split_trace(t)[0], add_special_tokens=False)["input_ids"])  # noqa: E731
    assert abs(n(cut) - n(compressed)) <= 1
    assert split_trace(RAW)[0].startswith(split_trace(cut)[0])


def test_the_trained_tokenizer_is_counted_without_transformers_and_as_transformers_counts(tiny_tokenizer, tmp_path,
                                                                                         monkeypatch):
    tiny_tokenizer.save_pretrained(tmp_path)
    texts = [RAW, split_trace(RAW)[0], "<think>\n</think>\n\\boxed{4}", "  tabs\tand ünïcode × ÷ 12345", ""]
    loaded = []
    monkeypatch.setattr(tokens, "load_tokenizer", loaded.append)  # transformers' loader, which must not be needed
    assert tokens.count_tokens(str(tmp_path), texts) == [
        len(ids) for ids in tiny_tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert loaded == []


def test_truncation_in_batches_cuts_each_trace_as_alone(tiny_tokenizer, tmp_path, monkeypatch):
    tiny_tokenizer.save_pretrained(tmp_path)
    monkeypatch.setattr(truncation, "BATCH", 3)  # 7 traces: batches of 3, 3, 1
    comp = ExtractiveCompressor({"keep": "equations", "dedupe": True}).compress(RAW)
    pairs = [(RAW.replace("20", str(i)), comp[: len(comp) - 3 * i]) for i in range(7)]
    alone = [truncation.truncate(r, c, "tokens", str(tmp_path)) for r, c in pairs]
    assert truncation.truncate_many(pairs, "tokens", str(tmp_path)) == alone
    assert len(set(alone)) > 1


def test_every_target_shares_problem_ids_and_removals_are_counted(tmp_path):
    verified = [{"id": f"p{i}", "question": "q", "answer": str(i), "text": RAW + "x" * i} for i in range(10)]
    comp = {
        "a": [{"id": f"p{i}", "reject": "not_shorter" if i in (1, 2) else None} for i in range(10)],
        "b": [{"id": f"p{i}", "reject": "answer_changed" if i in (2, 7) else None} for i in range(10)],
    }
    for name, records in [("v", verified), *comp.items()]:
        io.write_jsonl(tmp_path / f"{name}.jsonl", records)
    shard = {"verified": str(tmp_path / "v.jsonl"), "compressed": {c: str(tmp_path / f"{c}.jsonl") for c in comp}}
    ids, removed = selection.shared_ids(selection.load_verdicts([shard]), ["a", "b"])
    assert ids == [f"p{i}" for i in (0, 3, 4, 5, 6, 8, 9)]
    assert removed == {"a": {"problems": 2, "mean_raw_chars": len(RAW) + 1.5},
                       "b": {"problems": 2, "mean_raw_chars": len(RAW) + 4.5}}
    # a configured compressor that no target of this teacher and regime uses is not read, and removes nothing
    only_a = selection.load_verdicts([{**shard, "compressed": {"a": shard["compressed"]["a"]}}])
    assert selection.shared_ids(only_a, ["a"])[0] == [f"p{i}" for i in range(10) if i not in (1, 2)]

    io.write_jsonl(tmp_path / "v0.jsonl", verified[5:])  # two shards, the selection's order across them
    io.write_jsonl(tmp_path / "v1.jsonl", verified[:5])
    paths = [str(tmp_path / "v0.jsonl"), str(tmp_path / "v1.jsonl")]
    raw = list(selection.build("raw", ids, paths))
    answer_only = list(selection.build("answer-only", ids, paths))
    assert [e["id"] for e in raw] == [e["id"] for e in answer_only] == ids
    assert [e["answer"] for e in raw] == [str(int(i[1:])) for i in ids]
    assert all(verifier.extract_answer(e["completion"]) == e["answer"] for e in answer_only)


def _pilot(accuracy, tokens):
    return {"items": 100, "accuracy": accuracy, "accuracy_ci_low": accuracy - 0.1, "accuracy_ci_high": accuracy + 0.1,
            "mean_output_tokens": tokens}


def test_the_adaptive_rule_takes_the_shortest_pilot_within_the_margin_of_the_most_accurate():
    pilots = {"light": _pilot(0.60, 50.0), "lean": _pilot(0.57, 30.0), "tight": _pilot(0.50, 12.0)}
    picked = adaptive.choose(pilots, margin_points=5)
    assert picked["choice"] == "lean" and picked["rule"]["best_accuracy"] == 0.60
    assert [p["within_margin"] for p in picked["pilots"]] == [True, True, False]
    assert [p["chosen"] for p in picked["pilots"]] == [False, True, False]
    assert adaptive.choose(pilots, margin_points=0)["choice"] == "light"  # 0: the most accurate
    assert adaptive.choose(pilots, margin_points=10)["choice"] == "tight"  # exactly at the floor counts
    tie = {"a": _pilot(0.5, 20.0), "b": _pilot(0.5, 20.0)}
    assert adaptive.choose(tie, 0)["choice"] == "a"  # config order breaks a tie
    with pytest.raises(ValueError, match="at least one"):
        adaptive.choose({}, 5)


def test_every_compressors_pilot_trains_on_the_same_seeded_problems():
    lean = [{"id": f"p{i}", "completion": f"lean{i}"} for i in range(20)]
    tight = [{"id": f"p{i}", "completion": f"tight{i}"} for i in range(20)]
    a, b = adaptive.pilot_examples(lean, 8, 0), adaptive.pilot_examples(tight, 8, 0)
    assert [e["id"] for e in a] == [e["id"] for e in b] and len(a) == 8 and a == [e for e in lean if e in a]
    assert [e["id"] for e in adaptive.pilot_examples(lean, 8, 1)] != [e["id"] for e in a]
    assert adaptive.pilot_examples(lean, 50, 0) == lean  # fewer than asked: all
    assert target.Target.parse("adaptive").source == "candidates" and "adaptive" in target.every_target(["lean"])


def test_consumers_name_the_file_and_the_id_an_intermediate_lacks(tmp_path):
    verified = [{"id": f"p{i}", "question": "q", "answer": str(i), "text": RAW} for i in range(4)]
    ids = [r["id"] for r in verified]
    with pytest.raises(ledger.IntermediateError, match=r"c/0000\.jsonl: no record for id p3 \(1 missing\)"):
        selection.check_same_ids(ids, ids[:3], "c/0000.jsonl")
    with pytest.raises(ledger.IntermediateError, match=r"c/0000\.jsonl: unexpected id x"):
        selection.check_same_ids(ids, ids + ["x"], "c/0000.jsonl")
    selection.check_same_ids(ids, list(reversed(ids)), "c/0000.jsonl")
    io.write_jsonl(tmp_path / "a.jsonl", verified[:2])
    io.write_jsonl(tmp_path / "b.jsonl", verified[2:3])
    with pytest.raises(ledger.IntermediateError, match=r"selected id p3 \(1 of 2\) is in none of its 2 source file"):
        list(selection.build("compressed", ["p0", "p3"], [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]))


@pytest.mark.parametrize("name,parsed", [("raw", ("raw", None)), ("answer-only", ("answer-only", None)),
                                         ("compressed-lean", ("compressed", "lean")),
                                         ("truncated-a_b", ("truncated", "a_b"))])
def test_a_target_is_parsed_once_and_names_itself(name, parsed):
    parsed_target = target.Target.parse(name)
    assert (parsed_target.kind, parsed_target.compressor) == parsed and parsed_target.name == name


def test_answer_only_is_never_charged_to_a_compressor_named_only():
    assert target.Target.parse("answer-only").compressor is None
    assert target.Target.parse("compressed-only") == target.Target("compressed", "only")
    assert sorted(["answer-only", "truncated-a", "raw", "compressed-b"], key=lambda n: target.Target.parse(n).rank) \
        == ["raw", "compressed-b", "truncated-a", "answer-only"]
    with pytest.raises(ValueError, match="is none of raw, compressed-<compressor>"):
        target.Target.parse("summarised-a")


def test_regimes_are_nested_and_seeded():
    ids = [f"p{i:03d}" for i in range(100)]
    small, large = selection.select(ids, 10, 0), selection.select(ids, 40, 0)
    assert set(small) < set(large) and len(small) == 10
    assert selection.select(ids, 10, 1) != small
    with pytest.raises(ValueError, match="only 100"):
        selection.select(ids, 101, 0)


def test_local_jsonl_problems_are_mapped_deduplicated_and_checked(tmp_path):
    rows = [{"problem": "What is 1+1?", "solution": "2", "uid": "a"},
            {"problem": "what is  1+1?", "solution": "2", "uid": "b"},
            {"problem": "What is 2+2?", "solution": "4", "uid": "c"}]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    source = {"kind": "jsonl", "path": str(path), "fields": {"question": "problem", "answer": "solution", "id": "uid"}}
    records, counts = problems.load_records(source)
    assert [(p["id"], p["answer"]) for p in records] == [("a", "2"), ("c", "4")]
    assert counts["duplicate_question"] == 1 and (counts["rows"], counts["usable"]) == (3, 2)
    pd.DataFrame(rows).to_parquet(tmp_path / "p.parquet")
    parquet = {**source, "kind": "parquet", "path": str(tmp_path / "p.parquet")}
    assert problems.load_records(parquet) == problems.load_records(source)
    pattern = {**source, "answer_pattern": r"^(\d)$"}
    assert [p["answer"] for p in problems.load_records(pattern)[0]] == ["2", "4"]
    with pytest.raises(ValueError, match=r"none of the 3 rows .*'problems.pool'.*'missing_field' \(3\)"):
        problems.load_records({**source, "fields": {"question": "problem"}})




def test_each_bad_dataset_row_is_dropped_and_counted_by_reason(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row, _ in BAD_ROWS))
    records, counts = problems.load_records({"kind": "jsonl", "path": str(path), "max_question_chars": 100})
    assert [r["question"] for r in records] == [row["question"] for row, why in BAD_ROWS if why is None]
    assert records[0]["answer"] == "3"
    expected = {reason: sum(why == reason for _, why in BAD_ROWS) for reason in problems.DROP_REASONS}
    assert {k: counts[k] for k in problems.DROP_REASONS} == expected
    assert counts["rows"] == len(BAD_ROWS) == counts["usable"] + sum(expected.values())


@pytest.mark.parametrize("kind,answers,kept", [
    ("numeric", ["1e3", "inf", "1,000", "3/4", "-2.5", "nan"], ["1,000", "3/4", "-2.5"]),
    ("choice", ["B", "(B)", "b", "AB"], ["B", "b"]),
    ("math", ["1e3", "\\frac{1}{2}"], ["1e3", "\\frac{1}{2}"]),
])
def test_answers_the_verifier_can_never_grade_right_are_dropped_and_counted(tmp_path, kind, answers, kept):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"question": f"Question {i}?", "answer": a}) + "\n"
                            for i, a in enumerate(answers)))
    records, counts = problems.load_records({"kind": "jsonl", "path": str(path), "verifier": kind})
    assert [r["answer"] for r in records] == kept
    assert counts["ungradeable_answer"] == len(answers) - len(kept)
    for r in records:  # what is kept can be graded right: its own answer is
        assert verifier.grade_many(kind, [(r["answer"], r["answer"])]) == [True]


def test_an_empty_file_is_reported_as_empty_naming_it(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"empty\.jsonl \(config key 'problems\.benchmarks\.b'\) has no rows"):
        problems.load_records({"kind": "jsonl", "path": str(tmp_path / "empty.jsonl")}, "b")


def test_bytes_never_become_text(tmp_path):
    pd.DataFrame({"question": ["Compute 1 + 1.", "Compute 1 + 3."], "answer": [b"2", b"4"]}).to_parquet(
        tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"none of the 2 rows .*'not_text' \(2\)"):
        problems.load_records({"kind": "parquet", "path": str(tmp_path / "b.parquet")})


def test_rejected_compressions_are_retried_with_new_seeds():
    class Flaky:
        """Drops the answer unless the seed is even: some requests need retries, one never succeeds."""

        def generate(self, requests):
            out = []
            for r in requests:
                ok = r.seed % 2 == 0 and r.id != "never"
                text = "<think>\n2 + 3 = 5.\n5 * 4 = 20.\n</think>\n" + ("\\boxed{20}" if ok else "no answer")
                out.append(Completion(r.id, text, "stop"))
            return out

    traces = {i: {"id": i, "question": "q", "answer": "20", "text": RAW} for i in ("a", "b", "never")}
    reqs = [Request(i, [], seed=s) for i, s in (("a", 2), ("b", 3), ("never", 4))]
    eng = compressor.Retrying(Flaky(), traces, retries=5, min_reasoning_chars=5)
    comps = eng.generate(reqs)
    reasons = [compressor.reject_reason(traces[c.id], c, 5) for c in comps]
    assert reasons == [None, None, "answer_changed"]
    assert eng.attempts["a"] == 1 and 1 < eng.attempts["b"] <= 6 and eng.attempts["never"] == 6
    assert [c.text for c in comps] == [c.text for c in compressor.Retrying(Flaky(), traces, 5, 5).generate(reqs)]


@pytest.mark.parametrize("text,expected", [
    ("1. 3 + 4 = 7.\n2. Done.\n\nSo, the answer is 7.",
     "<think>\n1. 3 + 4 = 7.\n2. Done.\n</think>\nSo, the answer is 7."),
    ("3 + 4 = 7.\nThe answer is \\boxed{7}.\nThat is all.",
     "<think>\n3 + 4 = 7.\n</think>\nThe answer is \\boxed{7}.\nThat is all."),
    ("The answer is 7.", "The answer is 7."),  # nothing before it: no reasoning to wrap
    ("3 + 4 = 7.\nseven", "3 + 4 = 7.\nseven"),  # no answer line: judged as it is
    ("<think>\na\n</think>\nThe answer is 7.", "<think>\na\n</think>\nThe answer is 7."),
])
def test_plain_text_answers_are_put_in_the_trace_format(text, expected):
    assert in_trace_format(text) == expected


def test_a_plain_text_compression_is_judged_in_the_trace_format():
    class Plain:
        def generate(self, requests):
            return [Completion(r.id, "2 + 3 = 5.\n5 * 4 = 20.\nThe answer is 20.", "stop") for r in requests]

    traces = {"a": {"id": "a", "question": "q", "answer": "20", "text": RAW}}
    [comp] = compressor.Retrying(Plain(), traces, retries=0, min_reasoning_chars=5).generate([Request("a", [], 1)])
    assert comp.text.startswith("<think>\n2 + 3 = 5.") and compressor.reject_reason(traces["a"], comp, 5) is None
    record = teacher.trace_record(Request("a", [], 1), Completion("a", "2 + 3 = 5.\nThe answer is 5.", "stop"),
                                  {"question": "q", "answer": "5"})
    assert split_trace(record["text"]) == ("2 + 3 = 5.", "The answer is 5.")


def test_the_study_holds_trace_records_without_their_texts(tmp_path):
    """Tables read only counts and lengths: the trace texts (most of a record's bytes) are dropped at load."""
    from compress_distill.analysis.study import RECORD_COLUMNS, Study
    from compress_distill.infra import io

    record = {"id": "p1", "question": "q", "answer": "7", "raw_text": "x" * 500, "text": "y" * 50, "chars": 50,
              "raw_chars": 500, "tokens": 20, "raw_tokens": 200, "reject": None, "attempts": 1}
    io.write_jsonl(tmp_path / "0000.jsonl", [record])
    study = Study.load({"compressed": {"t": {"c": [str(tmp_path / "0000.jsonl")]}}})
    held = study.compressed[("t", "c")]
    assert held.to_dict("records") == [{k: record[k] for k in RECORD_COLUMNS["compressed"]}]
    assert not {"question", "answer", "raw_text", "text"} & set(held.columns)


def test_compression_strength_is_a_parameter_of_extractive_and_llm_compressors():
    trace = {"id": "p", "question": "Compute (3 + 4) * 5.", "answer": "35", "text": RAW}
    lean = ExtractiveCompressor({"keep": "equations", "dedupe": True})
    lengths = []
    for share in (None, 0.5, 0.2, 0.01):
        [request] = compressor.requests_for([trace], "{question}", 0, "c", share)
        text = lean.generate([request])[0].text
        reasoning = split_trace(text)[0]
        if share is not None:  # within the target, or the single last line where none fits
            assert request.meta["target_chars"] == max(1, round(share * len(split_trace(RAW)[0])))
            assert len(reasoning) <= request.meta["target_chars"] or "\n" not in reasoning
        assert split_trace(lean.compress(RAW))[0].endswith(reasoning)  # the last steps are kept
        assert verifier.extract_answer(text) == "20"
        lengths.append(len(reasoning))
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1] > 0
    template = "Rewrite in at most {target_chars} characters:\n{trace}"
    [message] = compressor.render_messages(template, trace, 0.25)
    assert f"at most {round(0.25 * len(split_trace(RAW)[0]))} characters" in message["content"]
    with pytest.raises(ValueError, match="target_share"):
        compressor.render_messages(template, trace)


def test_a_selection_reads_the_compressors_its_targets_are_made_from_in_config_order():
    from compress_distill.stages.selection import used_compressors

    runs = [{"teacher": "t", "regime": "g", "target": name} for name in ("raw", "compressed-b", "truncated-a")]
    runs += [{"teacher": "t", "regime": "h", "target": "adaptive"}, {"teacher": "u", "regime": "g", "target": "raw"}]
    compressors = ["a", "b", "c"]
    assert used_compressors(runs, compressors, "t", "g") == ["a", "b"]
    assert used_compressors(runs, compressors, "t", "h") == compressors  # the adaptive target: any of them
    assert used_compressors(runs, compressors, "u", "g") == []


def test_every_producer_writes_traces_that_read_back_as_written(arith):
    """One format (compress_distill.core.trace): what the teachers, compressors, truncation and the answer-only
    target write splits into (reasoning, final part) that format back to the very same text."""
    from compress_distill.core.trace import format_trace, join_reasoning

    pool = _problems(arith)["pool"]
    raw = [c.text for c in SyntheticTeacher(SPEC).generate(_requests(pool)) if c.finish_reason == "stop"]
    compressors = [ExtractiveCompressor({"keep": keep, "dedupe": True}) for keep in ("equations", "numeric")]
    compressed = [c.text for eng in compressors
                  for c in eng.generate([Request(str(i), [], 0, {"trace": t}) for i, t in enumerate(raw)])]
    written = raw + compressed + [truncation.truncate(r, c) for r, c in zip(raw, compressed)]
    written += [target.answer_only_text("12"), join_reasoning("\\boxed{2}", " 1 + 1 = 2 ")]
    assert len(raw) > 20 and all(format_trace(*split_trace(text)) == text for text in written)
