"""The documented multi-machine deployment, on one machine: a Prefect server on PostgreSQL, a process
work pool with two workers, and two ingest runs (overlapping sources) they execute at the same time
into one lake whose catalog is on the same PostgreSQL server (docs/lake.md, "Deployment")."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ingest_harness import write_corpus
from newsflow.settings import REPO_ROOT
from postgres_harness import free_port
from tasks.lake import open_lake

pytestmark = pytest.mark.slow

POOL = "newsflow-lake"


def _prefect(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return proc.stdout


DEPLOY = """
import sys
from prefect import flow
flow.from_source(source=sys.argv[1], entrypoint="flows/ingest.py:ingest").deploy(
    name="lake", work_pool_name=sys.argv[2], print_next_steps=False, ignore_warnings=True)
"""

TRIGGER = """
import json, sys, time
from prefect.deployments import run_deployment
from prefect.client.orchestration import get_client
runs = [run_deployment("ingest/lake", parameters={"sources": json.loads(s)}, timeout=0) for s in sys.argv[1:]]
deadline = time.monotonic() + 400
with get_client(sync_client=True) as client:
    while time.monotonic() < deadline:
        states = [client.read_flow_run(r.id).state for r in runs]
        if all(s.is_final() for s in states):
            break
        time.sleep(1)
print(json.dumps([s.type.value for s in states]))
"""


def test_two_process_workers_on_a_prefect_server_on_postgresql(postgres, lake, tmp_path):
    from flows.serve import start_server, stop_server

    postgres.create_database("prefect_deploy")
    home = tmp_path / "prefect-home"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    server_env = {**base, "PREFECT_HOME": str(home),
                  "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url("prefect_deploy")}
    server, api = start_server(free_port(), tmp_path / "server.log", env=server_env, timeout=180)
    workers: list[subprocess.Popen] = []
    try:
        env = {**base, **lake, "PREFECT_HOME": str(home), "PREFECT_API_URL": api,
               "PYTHONPATH": str(REPO_ROOT), "PREFECT_WORKER_QUERY_SECONDS": "2",
               "NEWSFLOW_DB": str(tmp_path / "wh" / "news.duckdb")}
        _prefect(env, "work-pool", "create", POOL, "--type", "process")
        subprocess.run([sys.executable, "-c", DEPLOY, str(REPO_ROOT), POOL], env=env, check=True, timeout=120)
        workers = [subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL,
                                     "--limit", "1", "--name", f"machine-{i}"], env=env,
                                    stdout=open(tmp_path / f"worker-{i}.log", "w"), stderr=subprocess.STDOUT)
                   for i in range(2)]
        pages = sorted(write_corpus(tmp_path / "corpus", 12, seed=9))
        halves = [[str(p) for p in pages[:8]], [str(p) for p in pages[4:]]]
        out = subprocess.run([sys.executable, "-c", TRIGGER, *map(json.dumps, halves)], env=env,
                             capture_output=True, text=True, timeout=500)
        assert out.returncode == 0, out.stderr[-3000:]
        states = json.loads(out.stdout.strip().splitlines()[-1])
        logs = "\n".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
        assert states == ["COMPLETED", "COMPLETED"], logs[-5000:]
        busy = [i for i in range(2) if f"Worker 'machine-{i}' submitting flow run" in
                (tmp_path / f"worker-{i}.log").read_text()]
        assert len(busy) == 2, f"both workers should have run one flow each:\n{logs[-5000:]}"
        con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
        articles, distinct = con.execute("select count(*), count(distinct article_id) from articles").fetchone()
        rejected = con.execute("select count(distinct document_id) from quarantine").fetchone()[0]
        assert articles == distinct and articles + rejected == 12
        assert con.execute("select count(*) from runs where status = 'completed'").fetchone()[0] == 2
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        stop_server(server)
