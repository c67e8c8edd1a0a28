"""``python -m snakemake`` with the SLURM plugin's status polls at most ``CAP`` seconds apart. After each poll that
finds no job finished the plugin waits 10 s longer (up to 180 s): right for GPU jobs of hours, but on the test
cluster, whose jobs last seconds, each job then waited ~30 s to be seen finished (measured). Scheduling only: what
jobs run, and what they compute, is unchanged."""

from snakemake_executor_plugin_slurm import Executor

CAP = 2.0
_interval = Executor.next_seconds_between_status_checks
Executor.next_seconds_between_status_checks = _interval.setter(lambda executor, seconds: _interval.fset(
    executor, min(seconds, CAP)))

if __name__ == "__main__":
    from snakemake.cli import main

    main()
