"""Why each output a run would rebuild is stale, one line per output: the settings that changed (``settings.lr
0.001 → 0.005``), the code (``code: compress_distill/analysis/figures.py``), the software, a prompt's content, an
untrusted file (no ledger sidecar, copied in from another run), or the rebuilt input upstream of it.

``python -m compress_distill.planning.why --configfile <preset or override file> [more config files]`` (``make why``)
reads the plan Snakemake makes now — Snakemake's records restored from the ledger first, as in every run — and
compares each stale output's record with the job that would make it now.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from compress_distill.infra.provenance import untrusted_reason
from compress_distill.planning.submissions import planned_dag

SHOWN = 6  # changed keys named per output


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _leaves(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            out.update(_leaves(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


_MISSING = object()
CODE, SOFTWARE = "identity.code.", "identity.software."


def _named(path: str, old, new) -> str:
    """One changed key, as a reader names it."""
    if path.startswith(CODE):
        return f"code: {path[len(CODE):]}"
    if path.startswith(SOFTWARE):
        return f"software: {path[len(SOFTWARE):]} {old} → {new}"
    if old is _MISSING or new is _MISSING:
        return f"{path} {'added' if old is _MISSING else 'removed'}"
    return f"{path} {old!r} → {new!r}"


def params_changes(recorded: list[str], now: dict[str, object]) -> list[str]:
    """The keys that differ between a job's recorded params (Snakemake's sorted reprs, names lost) and its params
    now (by name): each changed param is paired with the recorded value that shares most of its keys."""
    now_repr = {name: repr(value) for name, value in now.items()}
    old_left = [_value(r) for r in recorded if r not in now_repr.values()]
    changes = []
    for name, text in now_repr.items():
        if text in recorded:
            continue
        new = _leaves(now[name], name)
        best = max(old_left, key=lambda old: len(set(_leaves(old, name)) & set(new)), default=None)
        if best is None:
            changes.append(f"{name} added")
            continue
        old_left.remove(best)
        old = _leaves(best, name)
        changes += [_named(k, old.get(k, _MISSING), new.get(k, _MISSING)) for k in sorted(set(old) | set(new))
                    if old.get(k, _MISSING) != new.get(k, _MISSING)]
    return changes


def _line(changes: list[str]) -> str:
    more = f" (+{len(changes) - SHOWN} more)" if len(changes) > SHOWN else ""
    return "; ".join(changes[:SHOWN]) + more


def reasons(dag) -> list[tuple[str, str]]:
    """(existing output, why it is rebuilt) for every job the DAG would run."""
    found = []
    for job in sorted(dag.needrun_jobs(), key=lambda j: (j.rule.name, str(j.output))):
        for out in job.output:
            if not Path(out).exists():
                continue
            found.append((str(out), output_reason(dag, job, out)))
    return found


def output_reason(dag, job, out) -> str:
    """Why ``job`` of ``dag`` rebuilds its existing output ``out``, in one line."""
    recorded = dag.workflow.persistence.params(out)
    if recorded is None:
        return "no record of the job that made it"
    untrusted = untrusted_reason(recorded)
    if untrusted:
        return untrusted
    changes = params_changes(recorded, dict(job.params.items()))
    if changes:
        return _line(changes)
    reason = dag.reason(job)
    if reason.updated_input:
        first = sorted(map(str, reason.updated_input))[0]
        more = f" (+{len(reason.updated_input) - 1} more)" if len(reason.updated_input) > 1 else ""
        return f"input rebuilt upstream: {first}{more}"
    return str(reason)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.why",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="+", default=["config.yaml"],
                        help="the run's config files, as given to snakemake (a preset, then override files)")
    parser.add_argument("--directory", default=".", help="the workflow's folder")
    args = parser.parse_args(argv)
    with planned_dag(args.configfile, args.directory, fresh=False) as (dag, _):
        found = reasons(dag)
    for path, why in found:
        print(f"{path}: {why}")
    print(f"why: {len(found)} existing output(s) would be rebuilt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
