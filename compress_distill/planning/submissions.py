"""How many cluster submissions a configuration makes: one per group job (a rule's ``group:`` puts a seconds-long
job inside its upstream GPU job) and one per other job that is not a local rule, from the DAG Snakemake builds with
its groups resolved as a cluster run resolves them.

``python -m compress_distill.planning.submissions --configfile config.yaml`` prints them per kind (a group job is named by
its group and rules). Snakemake's API builds the DAG; grouping itself is only switched on for non-local runs, so
this reads Snakemake's internals (pinned in requirements.txt).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import sys
from pathlib import Path

import yaml


@contextlib.contextmanager
def planned_dag(configfile: str | Path | list, workdir: str | Path = ".", fresh: bool = True):
    """The DAG of a run of ``configfile`` (or of several, merged in order) — of a fresh run (every job needed), or,
    without ``fresh``, of a run now, as the workflow profile's rerun triggers decide — with the rules' groups as a
    cluster run has them: ``(dag, local rule names)``."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import RerunTrigger
    from snakemake.settings.types import (ConfigSettings, DAGSettings, ExecutionSettings, OutputSettings,
                                          ResourceSettings)
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    workdir = Path(workdir).resolve()
    files = [Path(f) for f in (configfile if isinstance(configfile, list) else [configfile])]
    profile = yaml.safe_load((workdir / "profiles/default/config.yaml").read_text())
    triggers = {RerunTrigger.parse_choice(t.replace("-", "_")) for t in profile["rerun-triggers"]}
    with SnakemakeApi(OutputSettings()) as api, contextlib.redirect_stdout(io.StringIO()):
        workflow_api = api.workflow(resource_settings=ResourceSettings(), snakefile=workdir / "Snakefile",
                                    workdir=workdir,
                                    config_settings=ConfigSettings(configfiles=[workdir / f for f in files]))
        workflow_api.dag(DAGSettings(rerun_triggers=triggers))
        workflow = workflow_api._workflow
        # as in a dry run: rules keep their groups (a local run drops them)
        workflow._executor_plugin = ExecutorPluginRegistry().get_plugin("dryrun")
        workflow.execution_settings = ExecutionSettings()
        workflow._prepare_dag(forceall=fresh, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        yield workflow.dag, workflow._localrules


def count(configfile: str | Path, workdir: str | Path = ".") -> dict[str, int]:
    """Submissions by kind (a rule, or ``<group>_<rules>`` for a group job) for a fresh run of ``configfile``."""
    with planned_dag(configfile, workdir) as (dag, local):
        dag.update_groups()
        units = {dag.get_job_group(job) or job for job in dag.needrun_jobs()
                 if job.rule.name not in local and not job.rule.norun}
    return dict(collections.Counter(unit.name for unit in units).most_common())


def jobs(configfile: str | Path, workdir: str | Path = ".") -> list[tuple[str, dict, dict]]:
    """``(rule, wildcards, resources)`` of every job a fresh run of ``configfile`` plans, resources as its first
    attempt asks for them."""
    with planned_dag(configfile, workdir) as (dag, _):
        return [(job.rule.name, dict(job.wildcards_dict), dict(job.resources)) for job in dag.needrun_jobs()
                if not job.rule.norun]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.planning.submissions", description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default="config.yaml")
    args = parser.parse_args(argv)
    kinds = count(args.configfile)
    print("| submission | count |\n| --- | ---: |")
    for kind, n in kinds.items():
        print(f"| {kind} | {n:,} |")
    print(f"| **all** | **{sum(kinds.values()):,}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
