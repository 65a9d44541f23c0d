"""`reclean` rebuilds articles from stored raw documents (no refetch) through a real Prefect run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from newsflow.settings import archive_dir_for, work_db_path
from tasks.clean import CLEANER_VERSION
from warehouse_helpers import samples_warehouse

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_reclean_restores_stale_articles_idempotently_and_publishes(tmp_path: Path, tmp_path_factory):
    from flows.reclean import reclean

    analyst = tmp_path / "wh" / "news.duckdb"
    analyst.parent.mkdir()
    samples = samples_warehouse(tmp_path, tmp_path_factory.mktemp("tpl"))
    shutil.copyfile(samples, work_db_path(analyst))
    shutil.copytree(archive_dir_for(samples), archive_dir_for(analyst))  # the raw pages reclean reads
    with duckdb.connect(str(work_db_path(analyst))) as con:  # as if written by older rules
        stale_id, good_body = con.execute("select article_id, body from articles order by article_id limit 1").fetchone()
        con.execute("update articles set body = 'stale text', content_hash = 'old', cleaner_version = '0' "
                    "where article_id = ?", [stale_id])
        con.execute("update articles set cleaner_version = '0'")

    first = reclean(db=str(analyst))
    assert (first["documents_seen"], first["articles_updated"], first["articles_unchanged"]) == (5, 1, 4)
    assert first["report_refreshed"] and (analyst.parent / "report.html").stat().st_size > 100_000
    with duckdb.connect(str(analyst), read_only=True) as con:  # published to the analyst path
        assert con.execute("select body from articles where article_id = ?", [stale_id]).fetchone()[0] == good_body
        assert con.execute("select distinct cleaner_version from articles").fetchall() == [(CLEANER_VERSION,)]
        assert con.execute("select count(*) from documents").fetchone()[0] == 5  # nothing refetched or added
        assert con.execute("select count(distinct story_id) from v_articles").fetchone()[0] == 1

    again = reclean(db=str(analyst))
    assert (again["articles_updated"], again["articles_new"], again["articles_unchanged"]) == (0, 0, 5)
    future = reclean(db=str(analyst), since=datetime.now(timezone.utc) + timedelta(days=1))
    assert future["documents_seen"] == 0

    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", "armored train", "--db", str(analyst),
                           "-n", "3"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("score") == 3 and "armored train" in proc.stdout


def test_a_document_whose_article_now_has_another_id_leaves_no_duplicate(tmp_path: Path, tmp_path_factory):
    """An article's id comes from its URL. A warehouse whose older cleaner read another URL from a page
    (which canonical link wins) held its article under another id; reclean then added the article
    under the new id beside the old one: two rows for one document in every view and search."""
    from flows.reclean import reclean
    from tasks.search import build_index, load_fts

    analyst = tmp_path / "wh" / "news.duckdb"
    analyst.parent.mkdir()
    samples = samples_warehouse(tmp_path, tmp_path_factory.mktemp("tpl"))
    shutil.copyfile(samples, work_db_path(analyst))
    shutil.copytree(archive_dir_for(samples), archive_dir_for(analyst))
    with duckdb.connect(str(work_db_path(analyst))) as con:  # as an older cleaner left it
        article_id, = con.execute("select article_id from articles order by article_id limit 1").fetchone()
        for table in ("articles", "removed_segments", "mentions", "citations", "story_articles", "story_bands"):
            con.execute(f"update {table} set article_id = 'older-id' where article_id = ?", [article_id])
        con.execute("update story_articles set story_id = 'older-story' where article_id = 'older-id'")
        con.execute("insert into stories values ('older-story', 'older-id', 'Its title then', now())")
        con.execute("update articles set url = 'http://example.com/older', content_hash = 'old' "
                    "where article_id = 'older-id'")
        load_fts(con)
        build_index(con)

    summary = reclean(db=str(analyst))
    assert summary["articles_new"] == 1  # under its id now
    with duckdb.connect(str(analyst), read_only=True) as con:
        assert con.execute("select count(*), count(distinct document_id) from articles").fetchone() == (5, 5)
        for table in ("articles", "removed_segments", "mentions", "citations", "story_articles", "story_bands",
                      "v_articles"):
            assert con.execute(f"select count(*) from {table} where article_id = 'older-id'").fetchone()[0] == 0
        assert con.execute("select count(*) from fts_main_articles.docs where name = 'older-id'").fetchone()[0] == 0
        assert con.execute("select count(*) from v_articles").fetchone()[0] == 5
        assert con.execute("select count(*) from stories where story_id not in (select story_id from story_articles)"
                           ).fetchone()[0] == 0


def test_reclean_cleans_batches_on_every_core(tmp_path: Path, tmp_path_factory):
    """A reclean of a whole warehouse (after a change of rules) cleaned one batch at a time: one core
    of the machine's, whatever it had. Its batches' cleaning task runs now overlap, as ingest's do."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.reclean import reclean

    analyst = tmp_path / "wh" / "news.duckdb"
    analyst.parent.mkdir()
    samples = samples_warehouse(tmp_path, tmp_path_factory.mktemp("tpl"))
    shutil.copyfile(samples, work_db_path(analyst))
    shutil.copytree(archive_dir_for(samples), archive_dir_for(analyst))

    summary = reclean(db=str(analyst), batch_size=1)
    assert summary["documents_seen"] == 5
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[summary["run_id"]])))
    spans = sorted((r.start_time, r.end_time) for r in runs if r.name.startswith("clean-batch"))
    assert len(spans) == 5 and all(start and end for start, end in spans), spans
    overlaps = [min(end, nxt_end) - nxt_start for (_, end), (nxt_start, nxt_end) in zip(spans, spans[1:])]
    assert max(overlaps).total_seconds() > 0, spans  # one started before the one before it ended


def test_reclean_runs_on_the_early_server_and_ends_without_prefect_chatter(tmp_path: Path, tmp_path_factory):
    """`newsflow reclean` left its flow to start Prefect's own temporary server once everything was
    imported (~5 s more CPU than ingest's start-up, which boots the server meanwhile), and ended with
    Prefect's "Stopping temporary server on http://127.0.0.1:..." under its summary."""
    samples = samples_warehouse(tmp_path, tmp_path_factory.mktemp("tpl"))
    env = dict(os.environ, PREFECT_LOGGING_LEVEL="INFO")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "reclean", "--db", str(samples)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"newsflow reclean -> {samples}" in proc.stdout
    assert "temporary server" not in proc.stdout + proc.stderr, proc.stderr
