# seconds-long table and report jobs run where Snakemake runs, never as cluster submissions
localrules:
    dataset_rows,
    report_table,
    report_claims,
    report_figure,
    report_pages,
    tables,
    figures,
    manifest,


rule dataset_rows:
    input:
        summary=rules.problems.output.summary,
    output:
        **table_files("dataset_rows"),
    log:
        f"{R}/logs/dataset_rows.log",
    benchmark:
        f"{R}/benchmarks/dataset_rows.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        **cpu_resources("dataset_rows"),
    params:
        identity=identity("dataset_rows"),
    script:
        "../workflow_scripts/dataset_rows.py"


rule tables:
    input:
        summaries=evaluation_files("summary"),
        outputs=evaluation_files("outputs"),
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
        adaptive=[c["path"] for c in adaptive_choices()],
    output:
        **table_files("tables"),
    log:
        f"{R}/logs/tables.log",
    benchmark:
        f"{R}/benchmarks/tables.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        **cpu_resources("tables"),
    params:
        identity=identity("tables"),
        layout=tables_layout(),
    script:
        "../workflow_scripts/tables.py"


rule figures:
    input:
        **{
            t: f"{R}/tables/{t}.csv"
            for t in sorted({f.source for f in cd_registry.FIGURES})
        },
    output:
        **{
            f"{f.name}_{ext}": f"{R}/figures/{f.name}.{ext}"
            for f in cd_registry.FIGURES
            for ext in cd_registry.FIGURE_FORMATS
        },
    log:
        f"{R}/logs/figures.log",
    benchmark:
        f"{R}/benchmarks/figures.tsv"
    conda:
        "../envs/report.yaml"
    threads: 2  # figures are drawn side by side, and the run's end waits on them
    resources:
        **cpu_resources("figures"),
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
    benchmark:
        f"{R}/benchmarks/manifest.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        **cpu_resources("manifest"),
    params:
        identity=identity("manifest"),
        prompts={p: cd_identity.file_digest(p) for p in PROMPTS},
        config=cd_validation.result_settings(config),
        measured=MEASURED,
    script:
        "../workflow_scripts/manifest.py"


# ---- the Snakemake report (`make report`): pages built on demand (not part of `all`), in the paper's order (claims,
# main grid, figures, other tables: registry.report_place). A report item's side pane lists its job's parameters, so
# these rules carry only the caption: `make report` rebuilds them every time (REPORT_PAGES, seconds) instead of
# keeping a code identity. A caption file cannot hold wildcards, so the pages share report/caption.rst, which shows
# each item's own caption (report/<tables|figures>/<name>.rst) through the `caption` param (report_caption); a table
# page also shows its number, title and caption above the table.
rule report_table:
    input:
        csv=f"{R}/tables/{{table}}.csv",
    output:
        page=report(
            f"{R}/report/{{table}}.html",
            caption="../report/caption.rst",
            category=lambda wc: cd_registry.report_place("tables", wc.table)[0],
            labels=lambda wc: cd_registry.report_place("tables", wc.table)[1],
        ),
    log:
        f"{R}/logs/report/{{table}}.log",
    wildcard_constraints:
        table=_alternatives([t.name for t in cd_registry.TABLES if t.name != "claims"]),
    conda:
        "../envs/report.yaml"
    params:
        caption=report_caption("tables"),
    script:
        "../workflow_scripts/report_table.py"


use rule report_table as report_claims with:
    input:
        csv=f"{R}/tables/claims.csv",
    output:
        page=in_report(f"{R}/report/claims.html", "tables", "claims"),
    log:
        f"{R}/logs/report/claims.log",
    params:
        caption=report_caption("tables")(SimpleNamespace(table="claims")),


rule report_figure:
    input:
        png=f"{R}/figures/{{figure}}.png",
    output:
        page=report(
            f"{R}/report/{{figure}}.png",
            caption="../report/caption.rst",
            category=lambda wc: cd_registry.report_place("figures", wc.figure)[0],
            labels=lambda wc: cd_registry.report_place("figures", wc.figure)[1],
        ),
    log:
        f"{R}/logs/report/figure_{{figure}}.log",
    wildcard_constraints:
        figure=_alternatives([f.name for f in cd_registry.FIGURES]),
    conda:
        "../envs/report.yaml"
    params:
        caption=report_caption("figures"),
    script:
        "../workflow_scripts/report_figure.py"


rule report_pages:
    input:
        rules.report_claims.output.page,
        expand(
            rules.report_table.output.page,
            table=[t.name for t in cd_registry.TABLES if t.name != "claims"],
        ),
        expand(
            rules.report_figure.output.page,
            figure=[f.name for f in cd_registry.FIGURES],
        ),
