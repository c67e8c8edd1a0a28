"""A paper-scale run without any model: synthetic but realistic outputs of the model stages for a fraction of a
preset, so that the workflow's CPU stages run on them with the real rules.

``python -m compress_distill.planning.simulate --configfile config.yaml --fraction 0.01 --workdir <copy of the workflow>``
writes ``simulated.yaml`` (the preset with ``fraction`` of its shards, run ``<run>_sim``) and alternates between
writing what a model stage would and running Snakemake restricted to the CPU rules:

1. problem files — then Snakemake runs ``problems``; teacher generations — then ``verify``;
2. compressions of the verified traces (the compress job's own bookkeeping — reject policy, lengths, token counts —
   is the real code) — then ``truncate``, ``selection``, ``target``;
3. every run's training metrics and graded evaluation outputs — then ``dataset_rows``, ``tables``, ``figures``,
   ``manifest``;

and prints each CPU stage's jobs, peak memory and time (:func:`compress_distill.planning.cpu_costs.stage_costs`).

Lengths follow the paper's figures: raw traces long-tailed (lognormal, 256 to 32,768 tokens), compressed ones 8.6–21%
of their characters. Token counts use a stand-in byte-level BPE the simulator trains (the hub's reference tokenizer
is unreachable here); ~3.5 characters per token.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import yaml

from compress_distill.planning import cpu_costs
from compress_distill.planning.synthetic_records import (CHARS_PER_TOKEN, compression, generation, graded,
                                                         problem_records, stand_in_tokenizer)

SOURCES = "simulated"  # the local problem files, in the workflow copy
BENCHMARK_SIZE = 500


def simulated_config(config: dict, fraction: float, shard_size: int | None, tokenizer: str) -> dict:
    """The preset at ``fraction`` of its shards (at least one), each of ``shard_size`` problems (default: the
    preset's), regimes scaled with the pool; problems from local files the simulator writes (``SOURCES``); run
    ``<run>_sim``; no hub, no generation guard."""
    cfg = copy.deepcopy(config)
    problems = cfg["problems"]
    old_pool = problems["pool"]["size"]
    shards = max(1, round(problems["shards"] * fraction))
    size = shard_size or math.ceil(old_pool / problems["shards"])
    cfg["run"] = f"{cfg['run']}_sim"
    problems["shards"] = shards
    problems["pool"] = {"kind": "jsonl", "path": f"{SOURCES}/pool.jsonl", "size": shards * size,
                        "verifier": problems["pool"]["verifier"]}
    problems["benchmarks"] = {name: {"kind": "jsonl", "path": f"{SOURCES}/{name}.jsonl",
                                     "size": min(source.get("size") or BENCHMARK_SIZE, BENCHMARK_SIZE),
                                     "verifier": source["verifier"]}
                              for name, source in problems["benchmarks"].items()}
    for regime in cfg["regimes"].values():
        if regime["size"]:
            regime["size"] = max(1, round(regime["size"] * shards * size / old_pool))
    cfg["protect_generations"] = False
    cfg["tokenizer"] = {"train": False, "name": tokenizer}
    return cfg


class Simulation:
    """The phases of a simulated run in ``workdir`` (a copy of the workflow)."""

    def __init__(self, workdir: str | Path, config: dict, seed: int = 0, cores: int = 1):
        from compress_distill.core.grid import runs

        self.workdir, self.cfg, self.seed, self.cores = Path(workdir), config, seed, cores
        self.run = self.workdir / "results" / config["run"]
        self.shards = [f"{i:04d}" for i in range(config["problems"]["shards"])]
        self.runs = runs(config["grid"])

    def rng(self, *parts) -> random.Random:
        from compress_distill.infra.io import stable_seed

        return random.Random(stable_seed(self.seed, "simulate", *parts))

    def snakemake(self, rules: list[str], targets: list[str]) -> None:
        cmd = [sys.executable, "-m", "snakemake", "--configfile", "simulated.yaml", "--cores", str(self.cores),
               "--allowed-rules", *rules, "--", *targets]
        subprocess.run(cmd, cwd=self.workdir, check=True)

    def problems(self) -> None:
        """The problem sources as local files; the real ``problems`` rule then reads, checks and shards them."""
        from compress_distill.infra.io import write_jsonl

        problems = self.cfg["problems"]
        for name, source in [("pool", problems["pool"]), *problems["benchmarks"].items()]:
            write_jsonl(self.workdir / source["path"], problem_records(source["size"], name, self.rng(name)))

    def generations(self) -> None:
        from compress_distill.infra.io import read_jsonl, write_jsonl

        for teacher in self.cfg["teachers"]:
            for name in self.shards:
                rng = self.rng(teacher, name)
                problems = read_jsonl(self.run / f"problems/shards/{name}.jsonl")
                write_jsonl(self.run / f"teachers/{teacher}/generated/{name}.jsonl",
                            [generation(p, rng) for p in problems])

    def compressions(self) -> None:
        """Each compressor's records of each verified shard, through the compress job's real bookkeeping."""
        from compress_distill.engines.interface import Completion
        from compress_distill.infra.io import read_jsonl, write_jsonl
        from compress_distill.models.tokens import count_tokens
        from compress_distill.stages import compressor

        for teacher in self.cfg["teachers"]:
            for name in self.shards:
                verified = read_jsonl(self.run / f"teachers/{teacher}/verified/{name}.jsonl")
                for comp, spec in self.cfg["compressors"].items():
                    rng, records = self.rng(comp, teacher, name), []
                    for trace in verified:
                        text = compression(trace, rng)
                        record = compressor.compressed_record(trace, Completion(trace["id"], text, "stop"),
                                                              spec.get("min_reasoning_chars", 20))
                        record["attempts"] = 1
                        record["raw_tokens"], record["tokens"] = count_tokens(self.cfg["tokenizer"]["name"],
                                                                              [trace["text"], text])
                        records.append(record)
                    write_jsonl(self.run / f"compressors/{comp}/{teacher}/{name}.jsonl", records)

    def trained(self) -> None:
        """Every run's model folder (a placeholder), metrics, loss curve and graded evaluation outputs."""
        from compress_distill.core.grid import run_key
        from compress_distill.infra.io import read_jsonl, records_digest, write_json, write_jsonl
        from compress_distill.stages.evaluation import summarise
        from compress_distill.training.launch import write_curve

        for run in self.runs:
            rng = self.rng(*run_key(run))
            folder = self.run / "runs/{teacher}/{student}/{regime}/{target}/seed{seed}".format(**run)
            examples = read_jsonl(self.run / f"targets/{run['teacher']}/{run['regime']}/{run['target']}.jsonl")
            completion = sum(int(len(e["completion"]) / CHARS_PER_TOKEN) for e in examples)
            total = completion + 40 * len(examples)
            params = self.cfg["students"][run["student"]].get("params_b", 1.0) * 1e9
            (folder / "model").mkdir(parents=True, exist_ok=True)
            (folder / "model/simulated.txt").write_text("no weights: a simulated run\n")
            write_json(folder / "metrics.json", {
                **{k: run[k] for k in ("teacher", "student", "regime", "target")},
                "examples": len(examples), "examples_over_max_length": 0, "completion_tokens": completion,
                "train_tokens": total, "padded_tokens": total, "packing": True, "steps": max(1, len(examples) // 128),
                "train_flops": int(6 * params * total), "parameters": int(params), "trainable_parameters": int(params),
                "max_example_tokens": max((int(len(e["completion"]) / CHARS_PER_TOKEN) for e in examples), default=0),
                "final_loss": 1.0, "workers": 1, "weights_sha256": "simulated",
                "measured": {"wall_seconds": total / 1e4, "tokens_per_second": 1e4, "gpu_seconds": 0.0,
                             "peak_memory_bytes": 0}})
            write_curve(folder / "loss.csv", [{"step": 1, "loss": 1.0, "lr": 0.0, "tokens": total}])
            cap = self.cfg["evaluation"]["max_new_tokens"]
            for bench in self.cfg["problems"]["benchmarks"]:
                items = read_jsonl(self.run / f"problems/benchmarks/{bench}.jsonl")
                outputs = [graded(item, rng) for item in items]
                summary = summarise(outputs, cap, 100, self.seed)
                write_json(folder / f"eval/{bench}.json", {**summary, "outputs_sha256": records_digest(outputs),
                                                          "benchmark": bench})
                write_jsonl(folder / f"eval/{bench}.jsonl", outputs)

    def paths(self, pattern: str) -> list[str]:
        """``pattern`` (under the run folder) for every teacher and shard, relative to the workflow."""
        rel = self.run.relative_to(self.workdir)
        return [str(rel / pattern.format(shard=s, teacher=t)) for t in self.cfg["teachers"] for s in self.shards]

    def all(self) -> None:
        self.problems()
        self.snakemake(["problems"], [str(self.run.relative_to(self.workdir) / "problems/summary.json")])
        self.generations()
        self.snakemake(["verify"], self.paths("teachers/{teacher}/verified/{shard}.jsonl"))
        self.compressions()
        rel = self.run.relative_to(self.workdir)
        targets = sorted({str(rel / "targets/{teacher}/{regime}/{target}.jsonl".format(**r)) for r in self.runs})
        truncated = [path for c in self.cfg["compressors"]
                     for path in self.paths(f"truncation/{c}/{{teacher}}/{{shard}}.jsonl")]
        self.snakemake(["truncate", "selection", "target"], targets + truncated)
        self.trained()
        self.snakemake(["dataset_rows", "tables", "figures", "manifest"], ["all"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.simulate", description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--fraction", type=float, required=True, help="share of the preset's shards (at least one)")
    parser.add_argument("--shard-size", type=int, help="problems per shard (default: the preset's)")
    parser.add_argument("--workdir", default=".", help="a copy of the workflow to run in")
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--record", type=Path, help="append this scale's measurement to a JSON list (cpu_costs.json)")
    args = parser.parse_args(argv)
    record = args.record.resolve() if args.record else None
    from compress_distill.config.validation import validate

    os.chdir(args.workdir)  # config paths (prompts, the stand-in tokenizer) are relative to the workflow
    config = validate(yaml.safe_load(Path(args.configfile).read_text()))
    cfg = simulated_config(config, args.fraction, args.shard_size, stand_in_tokenizer(Path("simulated-tokenizer")))
    Path("simulated.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    simulation = Simulation(".", cfg, cfg["seed"], args.cores)
    simulation.all()
    measured = cpu_costs.measurement(cfg, simulation.run)
    if record:
        from compress_distill.infra.io import write_json

        write_json(record, [*(json.loads(record.read_text()) if record.exists() else []), measured], record=False)
    costs = measured["stages"]
    print("| stage | jobs | peak RSS (MB) | longest job (s) | all jobs (s) |\n| --- | ---: | ---: | ---: | ---: |")
    for row in costs:
        print(f"| {row['stage']} | {row['jobs']} | {row['peak_rss_mb']:.0f} | {row['longest_s']:.1f} | "
              f"{row['total_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
