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
    loads = [log["message"] for log in logs if log["message"].startswith("batch")]
    # 30 documents in batches of 8 that shrink towards the end: at least 4 batches, numbered in order,
    # one line per load ("batch 3: ..." or, for cleaned batches loaded together, "batches 3-5: ...").
    numbers = [m.split(":")[0].split(" ")[1].split("-") for m in loads]
    spans = [(int(n[0]), int(n[-1])) for n in numbers]
    assert spans[0][0] == 1 and spans[-1][1] >= 4
    assert all(a <= b for a, b in spans) and all(b + 1 == c for (_, b), (c, _) in zip(spans, spans[1:]))
    loaded = sum(int(m.split(": ")[1].split(" docs")[0]) for m in loads)
    assert loaded == 30


def _big_page(i: int) -> bytes:
    """An article of ~1.5 MB: its cleaning takes the better part of a second."""
    words = "the council said on tuesday that the new budget would fund schools roads and parks".split()
    paras = "".join(f"<p>Part {i}.{n}: {' '.join(words[(n + k) % len(words)] for k in range(60))}.</p>"
                    for n in range(4500))
    return (f"<html><head><title>Budget report {i}</title></head><body><article><h1>Budget report {i}</h1>"
            f"{paras}</article></body></html>").encode()


def test_batches_cleaned_while_an_older_one_is_loaded_together_in_order(prefect_server, tmp_path: Path):
    # Batches of 30, 25 and 5 documents (60 over 2 workers: the last ones shrink); the first holds four
    # big pages, so the other worker cleans the second and third while it runs. The writer then loads
    # the first alone (30 + 25 is over --batch-size) and the second and third together.
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 56)
    for i in range(4):
        (corpus / f"000-big-{i}.html").write_bytes(_big_page(i))
    db = tmp_path / "news.duckdb"
    proc = run_ingest(prefect_server, corpus, db, "--batch-size", "40", "--workers", "2")
    loads = [line.split(" - ", 1)[1] for line in proc.stdout.splitlines() + proc.stderr.splitlines()
             if " - batch" in line]
    assert [m.split(":")[0] for m in loads] == ["batch 1", "batches 2-3"], loads
    assert [int(m.split(": ")[1].split(" docs")[0]) for m in loads] == [30, 30]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from documents").fetchone()[0] == 60
    assert con.execute("select count(*) from articles").fetchone()[0] + \
        con.execute("select count(*) from quarantine").fetchone()[0] == 60
    con.close()
