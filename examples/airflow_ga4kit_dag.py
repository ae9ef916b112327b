"""An Airflow DAG that runs `ga4kit pull --incremental` once a day, one task per shard.

Copy this file into your DAGs folder and set the values below (or the Airflow Variables / environment
variables they read). Airflow is not a dependency of ga4kit: without it this file still imports (it then
defines no DAG), so the commands it would run can be checked anywhere:

    python examples/airflow_ga4kit_dag.py        # prints the commands

Why it looks like this (see docs/scheduling.md):
- One task per shard (`--shard I/N`): GA4's quotas are per property, so N tasks pull N shares of the
  properties in parallel, on as many workers as Airflow gives them. Every shard writes the same destination;
  writes queue on its lock and each replaces only its own properties' rows.
- `catchup=False`: an incremental run starts where the destination's data ends, so one run after an outage
  fills the whole gap; back-filling run by run would only repeat work.
- Exit code 3 (some properties failed or were skipped for quota, the others written) fails the task, so
  Airflow retries it; the retry re-pulls only the lookback window of the properties that were written.
- No state on the worker: it lives in the destination (a sidecar beside a file, a metadata sheet in Sheets).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex

GOALS = os.environ.get("GA4KIT_GOALS", "/opt/ga4kit/goals.yaml")
OUTPUT = os.environ.get("GA4KIT_OUTPUT", "/data/ga4/goals.xlsx")  # a file on shared storage, or a sheet
SHARDS = int(os.environ.get("GA4KIT_SHARDS", "4"))
SCHEDULE = "30 5 * * *"  # daily, after midnight in the properties' time zones
GA4KIT = os.environ.get("GA4KIT_BIN", "ga4kit")


def shard_command(index: int, count: int = SHARDS, *, goals: str = GOALS, output: str = OUTPUT,
                  lookback: int = 3, grain: str = "day", max_quota_share: float | None = 0.5) -> str:
    """The shell command of one shard's task."""
    args = [GA4KIT, "pull", goals, "-o", output, "--incremental", "--lookback", str(lookback), "-g", grain,
            "--shard", f"{index}/{count}", "--quiet"]
    if max_quota_share is not None:
        args += ["--max-quota-share", str(max_quota_share)]
    return shlex.join(args)


def shard_commands(count: int = SHARDS, **kw) -> list[str]:
    return [shard_command(i, count, **kw) for i in range(count)]


def _airflow():
    """(DAG, BashOperator) of the installed Airflow (3 or 2), or None without Airflow."""
    try:
        from airflow.sdk import DAG  # Airflow 3
    except ImportError:
        try:
            from airflow import DAG  # Airflow 2
        except ImportError:
            return None
    try:
        from airflow.providers.standard.operators.bash import BashOperator  # Airflow 3
    except ImportError:
        from airflow.operators.bash import BashOperator  # Airflow 2
    return DAG, BashOperator


def build_dag(dag_id: str = "ga4kit_pull", count: int = SHARDS, schedule: str = SCHEDULE):
    """The DAG: ``count`` independent shard tasks; None without Airflow."""
    found = _airflow()
    if found is None:
        return None
    DAG, BashOperator = found
    with DAG(dag_id=dag_id, schedule=schedule, start_date=dt.datetime(2026, 1, 1), catchup=False,
             max_active_runs=1, tags=["ga4kit", "ga4"],
             default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=20)}) as dag:
        for i, command in enumerate(shard_commands(count)):
            BashOperator(task_id=f"pull_shard_{i}_of_{count}", bash_command=command, append_env=True)
    return dag


dag = build_dag()  # Airflow finds the DAG as a module-level object

if __name__ == "__main__":
    print("\n".join(shard_commands()))
