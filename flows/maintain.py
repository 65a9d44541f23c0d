"""The `maintain` flow: keep a lake compact (tasks/lake.py: maintain_lake). `newsflow serve` serves it
on a schedule (Settings.lake_maintain_interval) when the warehouse is a lake; `newsflow maintain` runs
it once. A DuckDB file needs none of it (each run checkpoints its file)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from newsflow.config import resolve_settings
from tasks.lake import LakeMisnamed, maintain_lake


def _retry_maintain(_task, _task_run, state) -> bool:
    """Tried again after a failure (another maintain's deletion, a catalog restarting), but not when the
    setting names no lake: that fails the same until an operator corrects it."""
    return not isinstance(getattr(state, "data", None), LakeMisnamed)


@task(name="maintain-lake", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_retry_maintain,
      cache_policy=NO_CACHE)
def maintain_task(url: str, data_path: str | None, retention_hours: float) -> dict[str, int | str]:
    return maintain_lake(url, data_path, retention_hours)


@flow(name="maintain", log_prints=False)
def maintain(warehouse: str | None = None, retention_hours: float | None = None) -> dict[str, int | str]:
    """Merge the lake's small files, expire snapshots older than the retention
    (NEWSFLOW_LAKE_SNAPSHOT_RETENTION hours) and delete the files no snapshot needs."""
    settings = resolve_settings(warehouse=warehouse, lake_snapshot_retention=retention_hours)
    if not settings.lake:
        raise ValueError(f"maintain works on a lake (--warehouse ducklake:postgres:...), not on {settings.db_path}")
    done = maintain_task(str(settings.warehouse), settings.lake_data_path, settings.lake_snapshot_retention)
    get_run_logger().info("maintain: %s", done)
    return done
