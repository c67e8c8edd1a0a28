"""Verified intermediates: what a stage wrote is recorded; a file cut short, edited, torn or gone is named."""

from __future__ import annotations

import os

import pytest

from compress_distill.infra import io, ledger


def _shard(tmp_path):
    path = tmp_path / "run" / "compressors" / "c" / "t" / "0000.jsonl"
    io.write_jsonl(path, [{"id": f"p{i}", "text": "x" * i} for i in range(20)])
    return path


def test_a_recorded_file_reads_back_and_verifies(tmp_path):
    path = _shard(tmp_path)
    assert len(io.read_jsonl(path)) == 20
    assert ledger.verify(tmp_path / "run") == []


@pytest.mark.parametrize("damage,words", [
    (lambda p: p.write_bytes(b"".join(p.read_bytes().splitlines(keepends=True)[:12])), "records 20 when written, 12 now"),
    (lambda p: p.write_bytes(p.read_bytes().replace(b'"p3"', b'"p9"')), "same size, different content"),
    (lambda p: p.write_bytes(p.read_bytes()[:-7]), "records 20 when written, 19 now"),
    (lambda p: p.unlink(), "missing"),
])
def test_damage_after_the_job_is_named(tmp_path, damage, words):
    path = _shard(tmp_path)
    stat = path.stat()
    damage(path)
    if path.exists():  # the time restored, as a careful hand edit or a restore from backup would leave it
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        with pytest.raises(ledger.IntermediateError, match=rf"^{path}: does not match .*{words}.*make verify"):
            io.read_jsonl(path)
    assert [(p, why) for p, why in ledger.verify(tmp_path / "run") if words in why] == [(path, ledger.problem(path))]
    assert ledger.main(["verify", str(tmp_path / "run")]) == 1


def test_a_torn_jsonl_without_a_ledger_names_the_file_and_line(tmp_path):
    path = tmp_path / "user.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3, "quest')
    with pytest.raises(io.InputError, match=rf"^{path}, line 3: not a JSON record"):
        io.read_jsonl(path)


def test_a_byte_that_is_not_utf8_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "ok"}\n{"question": "caf\xe9"}\n')
    with pytest.raises(io.InputError, match=r"latin1\.jsonl, line 2, column 18: byte 0xe9 is not UTF-8; if it is your"):
        io.read_jsonl(path)


def test_a_folder_is_recorded_file_by_file(tmp_path):
    folder = tmp_path / "run" / "model"
    with io.atomic_dir(folder) as tmp:
        (tmp / "model.safetensors").write_bytes(bytes(range(256)) * 40)
        io.write_json(tmp / "config.json", {"a": 1})
    ledger.check(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: len(weights.read_bytes()) // 2])
    with pytest.raises(ledger.IntermediateError, match=r"changed or missing inside it: model\.safetensors"):
        ledger.check(folder)
    assert [p for p, _ in ledger.verify(tmp_path / "run")] == [folder]
