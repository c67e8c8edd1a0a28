TABLES = [
    "main_grid",
    "verification",
    "compression",
    "truncation",
    "efficiency",
    "claims",
    "timings",
    "fingerprints",
]
MEASURED_TABLES = [
    "claims",
    "timings",
]  # hold wall-clock measurements: not byte-reproducible
FIGURES = [
    "accuracy_vs_output_tokens",
    "flops_vs_accuracy",
    "per_token_efficiency",
    "ablation",
    "timings",
]
MEASURED_FIGURES = ["timings"]


PROMPTS = sorted(
    {t["prompt"] for t in config["teachers"].values()}
    | {c["prompt"] for c in config["compressors"].values()}
)


localrules:
    dataset_rows,
    tables,
    figures,
    manifest,


rule dataset_rows:
    input:
        summary=rules.problems.output.summary,
    output:
        **{f"{ext}": f"{R}/tables/dataset_rows.{ext}" for ext in ("csv", "md", "tex")},
    log:
        f"{R}/logs/dataset_rows.log",
    conda:
        "../envs/report.yaml"
    params:
        identity=identity("dataset_rows"),
    script:
        "../workflow_scripts/dataset_rows.py"


rule tables:
    input:
        summaries=evaluation_summaries(),
        metrics=run_paths(rules.train.output.metrics),
        rejects=expand(rules.verify.output.rejects, teacher=TEACHERS, shard=SHARDS),
        compressed=expand(
            rules.compress.output.records,
            teacher=TEACHERS,
            compressor=COMPRESSORS,
            shard=SHARDS,
        ),
        truncated=expand(
            rules.truncate.output.records,
            teacher=TEACHERS,
            compressor=COMPRESSORS,
            shard=SHARDS,
        ),
        selections=expand(
            rules.selection.output.selection, teacher=TEACHERS, regime=REGIMES
        ),
    output:
        **{
            f"{name}_{ext}": f"{R}/tables/{name}.{ext}"
            for name in TABLES
            for ext in ("csv", "md", "tex")
        },
    log:
        f"{R}/logs/tables.log",
    conda:
        "../envs/report.yaml"
    params:
        identity=identity("tables"),
        runs=RUNS,
        benchmarks=BENCHMARKS,
        compressors={
            c: config["compressors"][c].get("params_b", 0) for c in COMPRESSORS
        },
    script:
        "../workflow_scripts/tables.py"


rule figures:
    input:
        main_grid=f"{R}/tables/main_grid.csv",
        timings=f"{R}/tables/timings.csv",
    output:
        **{
            f"{name}_{ext}": f"{R}/figures/{name}.{ext}"
            for name in FIGURES
            for ext in ("pdf", "png")
        },
    log:
        f"{R}/logs/figures.log",
    conda:
        "../envs/report.yaml"
    params:
        identity=identity("figures"),
    script:
        "../workflow_scripts/figures.py"


rule manifest:
    input:
        tables=[*rules.tables.output, *rules.dataset_rows.output],
        figures=rules.figures.output,
        prompts=[ancient(p) for p in PROMPTS],
    output:
        manifest=f"{R}/manifest.json",
    log:
        f"{R}/logs/manifest.log",
    conda:
        "../envs/report.yaml"
    params:
        identity=identity("manifest"),
        prompts={p: cd_identity.file_digest(p) for p in PROMPTS},
        config=cd_config.result_settings(config),
        measured=[
            f"{R}/tables/{t}.{e}"
            for t in MEASURED_TABLES
            for e in ("csv", "md", "tex")
        ]
        + [f"{R}/figures/{f}.{e}" for f in MEASURED_FIGURES for e in ("pdf", "png")],
    script:
        "../workflow_scripts/manifest.py"
