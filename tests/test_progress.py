"""Progress of an ingest run is visible in Prefect: a progress artifact that ends at 100% and one log
line per loaded batch, read back from the API of the server the run reported to."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
import pytest

from ingest_harness import run_ingest, write_corpus

pytestmark = pytest.mark.slow


def _api(server, path: str, body: dict) -> list[dict]:
    response = httpx.post(f"{server.server.url}{path}", json=body, timeout=30, trust_env=False)
    response.raise_for_status()
    return response.json()


def test_run_shows_a_progress_artifact_and_a_log_line_per_batch(prefect_server, tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 30)
    db = tmp_path / "news.duckdb"
    run_ingest(prefect_server, corpus, db, "--batch-size", "8")
    con = duckdb.connect(str(db), read_only=True)
    (flow_run_id, new), = con.execute("select flow_run_id, articles_new from runs").fetchall()
    con.close()
    assert flow_run_id and new >= 20

    artifacts = _api(prefect_server, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
    progress = [a for a in artifacts if a["type"] == "progress"]
    assert [(a["key"], a["data"]) for a in progress] == [("ingest-progress", 100.0)]

    logs = _api(prefect_server, "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}},
                                                 "sort": "TIMESTAMP_ASC", "limit": 200})
    batches = [log["message"] for log in logs if log["message"].startswith("batch ")]
    # 30 documents in batches of 8 that shrink towards the end: at least 4 batches, numbered in order.
    assert len(batches) >= 4
    assert [m.split(":")[0] for m in batches] == [f"batch {i}" for i in range(1, len(batches) + 1)]
    loaded = sum(int(m.split(": ")[1].split(" docs")[0]) for m in batches)
    assert loaded == 30
