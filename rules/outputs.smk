# What the tables read, the tables and figures marked for the report, and the run's final outputs (functions
# only; the rules are in report.smk).
def run_paths(pattern, runs=RUNS, **extra):
    return [pattern.format(**{**run, **extra}) for run in runs]


def evaluation_files(kind):
    """Every run's evaluation ``summary`` or graded ``outputs``, for every benchmark."""
    return [
        p
        for b in BENCHMARKS
        for p in run_paths(getattr(rules.evaluate.output, kind), benchmark=b)
    ]


def adaptive_choices():
    """Each teacher × student × regime that trains the adaptive target, with its pilots' choice file."""
    cells = {
        (r["teacher"], r["student"], r["regime"])
        for r in RUNS
        if r["target"] == ADAPTIVE
    }
    return [
        {
            "teacher": t,
            "student": s,
            "regime": g,
            "path": rules.adaptive_target.output.choice.format(
                teacher=t, student=s, regime=g
            ),
        }
        for t, s, g in sorted(cells)
    ]


def tables_layout():
    """What the tables are computed from, keyed by what each file is (compress_distill.analysis.study.Study.load)."""

    def by_teacher_compressor(pattern):
        return {
            t: {
                c: expand(pattern, teacher=t, compressor=c, shard=SHARDS)
                for c in COMPRESSORS
            }
            for t in TEACHERS
        }

    return {
        "runs": RUNS,
        "metrics": {
            cd_grid.run_id(run): rules.train.output.metrics.format(**run)
            for run in RUNS
        },
        "summaries": {
            cd_grid.run_id(run): {
                b: rules.evaluate.output.summary.format(**run, benchmark=b)
                for b in BENCHMARKS
            }
            for run in RUNS
        },
        "outputs": {
            cd_grid.run_id(run): {
                b: rules.evaluate.output.outputs.format(**run, benchmark=b)
                for b in BENCHMARKS
            }
            for run in RUNS
        },
        "bootstrap": {
            "resamples": config["evaluation"]["bootstrap_resamples"],
            "seed": config["seed"],
        },
        "rejects": {
            t: expand(rules.verify.output.rejects, teacher=t, shard=SHARDS)
            for t in TEACHERS
        },
        "compressed": by_teacher_compressor(rules.compress.output.records),
        "truncated": by_teacher_compressor(rules.truncate.output.records),
        "selections": {
            t: {
                g: rules.selection.output.selection.format(teacher=t, regime=g)
                for g in REGIMES
            }
            for t in TEACHERS
        },
        "params_b": {c: config["compressors"][c]["params_b"] for c in COMPRESSORS},
        "adaptive": adaptive_choices(),
    }


# ---- the study's tables and figures (registry: the package's `outputs` module), marked for the Snakemake report
def table_files(rule):
    return {
        f"{name}_{ext}": f"{R}/tables/{name}.{ext}"
        for name in cd_registry.tables_of(rule)
        for ext in cd_registry.TABLE_FORMATS
    }


def in_report(path, kind, name):
    """``path`` marked for the Snakemake report, with its caption (report/<kind>/<name>.rst), in the paper's order
    (compress_distill.analysis.registry.report_place: its category, number and title).
    """
    category, labels = cd_registry.report_place(kind, name)
    return report(
        path, caption=f"../report/{kind}/{name}.rst", category=category, labels=labels
    )


def report_caption(kind):
    """A report page's caption (report/<kind>/<name>.rst), on one line (a parameter is shown as one line)."""

    def caption(wildcards):
        name = getattr(wildcards, "table" if kind == "tables" else "figure")
        path = Path(WORKFLOW_DIR, "report", kind, f"{name}.rst")
        return " ".join(path.read_text().split())

    return caption


def final_outputs():
    return [
        *rules.tables.output,
        *rules.dataset_rows.output,
        *rules.figures.output,
        rules.manifest.output.manifest,
    ]


# the study's tables and figures, from the registry in the package's `outputs` module; each is marked for the
# Snakemake report (`make report`) with its caption from report/
MEASURED = [
    f"{R}/tables/{t.name}.{e}"
    for t in cd_registry.TABLES
    if t.measured
    for e in cd_registry.TABLE_FORMATS
] + [
    f"{R}/figures/{f.name}.{e}"
    for f in cd_registry.FIGURES
    if f.measured
    for e in cd_registry.FIGURE_FORMATS
]


PROMPTS = sorted(
    {t["prompt"] for t in config["teachers"].values()}
    | {c["prompt"] for c in config["compressors"].values()}
)
