"""The ingest writer folds the WAL into the file itself once it passes a size, and opens the file
afresh: the warehouse ends exactly as a run without those checkpoints leaves it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest_harness import run_ingest, warehouse_contents, write_corpus
from newsflow.settings import work_db_path
from newsflow.settings import Settings
from tasks.warehouse import Warehouse

pytestmark = pytest.mark.slow


def test_checkpoint_when_due_folds_the_wal_and_closes_only_past_the_size(tmp_path: Path):
    warehouse = Warehouse.open(tmp_path / "w.duckdb", Settings())
    con = warehouse.con
    con.execute("create table t as select range as i from range(1000)")
    wal = Path(f"{warehouse.work}.wal")
    assert wal.stat().st_size > 0
    warehouse.checkpoint_bytes = wal.stat().st_size + 1
    assert not warehouse.checkpoint_when_due() and warehouse.con is con  # below the size: nothing
    warehouse.checkpoint_bytes = 1
    assert warehouse.checkpoint_when_due(reopen=False) and warehouse.con is con
    assert not wal.exists() or wal.stat().st_size == 0  # folded into the file
    con.execute("insert into t values (1000)")
    assert warehouse.checkpoint_when_due() and warehouse.con is not con  # closed: the next use reopens
    assert warehouse.con.execute("select count(*) from t").fetchone() == (1001,)
    warehouse.close()


def test_a_reopen_within_a_run_does_not_migrate_or_weigh_compaction_again(tmp_path: Path, monkeypatch):
    """The first open of a run migrates the file, applies the views and weighs compacting it (a storage
    scan of every table, ~0.1 s at 1,000 articles); the reopens after its checkpoints do none of it
    again. The next run does all of it again (the file may have changed hands in between)."""
    import tasks.load as L

    weighed = []
    real = L.worth_compacting
    monkeypatch.setattr(L, "worth_compacting", lambda con: weighed.append(1) or real(con))
    warehouse = Warehouse(tmp_path / "w.duckdb", Settings())
    for run in ("r1", "r2"):
        with warehouse.turn(run, print):
            for n in range(3):
                warehouse.con.execute(f"create or replace table t as select range as i from range({n + 1})")
                warehouse.checkpoint_bytes = 1
                assert warehouse.checkpoint_when_due()  # closed: the next use reopens
            assert warehouse.con.execute("select count(*) from t").fetchone() == (3,)
            warehouse.close()
    assert len(weighed) == 2


def test_a_run_that_checkpoints_after_every_batch_ends_as_one_that_does_not(prefect_server, tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 30)
    plain, folded = tmp_path / "plain.duckdb", tmp_path / "folded.duckdb"
    run_ingest(prefect_server, corpus, plain, "--batch-size", "8")
    proc = run_ingest(prefect_server, corpus, folded, "--batch-size", "8", NEWSFLOW_WAREHOUSE_CHECKPOINT_BYTES="1")
    assert (proc.stdout + proc.stderr).count("checkpointed the working db and opened it afresh") >= 4
    assert warehouse_contents(folded) == warehouse_contents(plain)
    assert warehouse_contents(work_db_path(folded)) == warehouse_contents(plain)
    with duckdb.connect(str(folded), read_only=True) as con:  # the search index came through the reopens
        indexed, articles = con.execute("select (select count(*) from fts_main_articles.docs), "
                                        "(select count(*) from articles)").fetchone()
    assert indexed == articles >= 20
