"""The Prefect server `newsflow serve` starts deletes flow runs that ended long ago.

Prefect keeps every flow run (with its task runs, states, logs and artifacts) unless told otherwise;
sources served on short schedules add thousands a day. A real `prefect server start`, its vacuum loop
shortened to a second: a run that ended past the retention goes, one that ended now stays.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from flows.serve import RUN_HISTORY_DAYS, start_server, stop_server
from postgres_harness import free_port

pytestmark = pytest.mark.slow


def _wait(what: str, check, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


def test_served_server_deletes_flow_runs_past_the_retention_and_keeps_recent_ones(tmp_path):
    home = tmp_path / "prefect-home"
    env = {"PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_SERVER_SERVICES_DB_VACUUM_LOOP_SECONDS": "1"}
    server, api = start_server(free_port(), tmp_path / "server.log", env=env)
    try:
        with httpx.Client(base_url=api, timeout=30) as http:
            def post(path: str, body: dict) -> dict:  # a 503: SQLite busy while the server's services start
                for _ in range(20):
                    response = http.post(path, json=body)
                    if response.status_code != 503:
                        break
                    time.sleep(1)
                return response.raise_for_status().json()

            flow = post("/flows/", {"name": "ingest"})
            runs = [post("/flow_runs/", {"flow_id": flow["id"], "name": name, "state": {"type": "COMPLETED"}})
                    for name in ("old", "recent")]
            ended_long_ago = datetime.now(timezone.utc) - timedelta(days=RUN_HISTORY_DAYS + 1)
            with sqlite3.connect(home / "prefect.db", timeout=30) as db:
                db.execute("update flow_run set end_time = ? where id = ?",
                           [ended_long_ago.strftime("%Y-%m-%d %H:%M:%S.%f"), runs[0]["id"]])
            for run in runs:  # both there, both ended
                assert http.get(f"/flow_runs/{run['id']}").raise_for_status().json()["end_time"]

            _wait("the old flow run to be deleted",
                  lambda: http.get(f"/flow_runs/{runs[0]['id']}").status_code == 404, 60, tmp_path / "server.log")
            assert http.get(f"/flow_runs/{runs[1]['id']}").status_code == 200
    finally:
        stop_server(server)
