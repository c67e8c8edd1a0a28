"""The GPU kernels one training step of a benchmark method spends its time in (``torch.profiler``), as a table:
what the masked reference and the fastest method each spend their step on.

    python -m compress_distill.checks.profile --methods trainer-masked trainer-varlen-fused-all --out profile.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compress_distill.checks import benchmark


def top_kernels(method: str, size_name: str, lengths: str = "raw", steps: int = 3, top: int = 12) -> list[dict]:
    """The ``top`` kernels by device time over ``steps`` steps (after one warm-up), with their share of it."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    size = benchmark.SIZES[size_name]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batches = benchmark.documents(size["lengths"][lengths], size["prompt"], size["arch"]["vocab_size"],
                                  size["tokens_per_step"], steps + 1, seed=0)
    model = benchmark.build(method, size["arch"], device)
    run = benchmark.step_fn(method, model, size["tokens_per_step"])
    run(batches[0])
    activities = [ProfilerActivity.CUDA] if device.type == "cuda" else [ProfilerActivity.CPU]
    with profile(activities=activities) as prof:
        for rows in batches[1:]:
            run(rows)
        if device.type == "cuda":
            torch.cuda.synchronize()
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr) > 0]
    total = sum(getattr(e, attr) for e in events)
    events.sort(key=lambda e: getattr(e, attr), reverse=True)
    return [{"method": method, "kernel": e.key[:90], "calls": e.count, "ms_per_step": getattr(e, attr) / 1e3 / steps,
             "share": getattr(e, attr) / total} for e in events[:top]]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(benchmark.SIZES), default="qwen3-0.6b")
    parser.add_argument("--methods", nargs="+", choices=list(benchmark.METHODS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="a Markdown file")
    args = parser.parse_args(argv)
    lines = []
    for method in sorted(args.methods, key=list(benchmark.METHODS).index):  # fused elementwise patches: last
        try:
            rows = top_kernels(method, args.size)
        except Exception as err:  # noqa: BLE001 - one method's failure is a line; the other is still profiled
            lines += [f"## {method}\n", f"failed: {type(err).__name__}: {err}\n"]
            continue
        lines += [f"## {method}\n", "| kernel | calls | ms per step | share |", "|---|---|---|---|"]
        lines += [f"| `{r['kernel']}` | {r['calls']} | {r['ms_per_step']:.2f} | {r['share']:.1%} |" for r in rows]
        lines.append("")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
