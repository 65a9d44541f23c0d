"""End to end through the real ingest flow (ephemeral Prefect, a DuckDB file in tmp) and a local server."""

from __future__ import annotations

import duckdb
import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest
from webserver import LocalServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def run(**kwargs) -> dict:
    return ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))(**kwargs)


def test_feed_loads_every_item_then_nothing_new_and_private_is_refused(server, tmp_path, monkeypatch):
    db = str(tmp_path / "news.duckdb")
    feed = server.url("/feed.xml")
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "true")

    first = run(sources=[feed], db=db)
    assert first["articles_new"] == 3 and first["quarantined"] == 0
    assert first["fetch"]["fetched"] == 3

    pages_before = sum(server.site.hits[f"/news/{n}.html"] for n in (1, 2, 3))
    second = run(sources=[feed], db=db)
    assert second["articles_new"] == 0 and second["documents_seen"] == 0
    assert second["fetch"]["not_modified"] == 1  # the feed answered 304
    assert sum(server.site.hits[f"/news/{n}.html"] for n in (1, 2, 3)) == pages_before

    monkeypatch.delenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS")
    third = run(sources=[server.url("/news/5.html")], db=db)
    assert third["articles_new"] == 0 and third["quarantined"] == 1
    assert server.site.hits["/news/5.html"] == 0  # refused before any request

    con = duckdb.connect(db, read_only=True)
    try:
        urls = sorted(u for (u,) in con.execute("select url from articles").fetchall())
        assert urls == [server.url(f"/news/{n}.html") for n in (1, 2, 3)]
        stage, reasons = con.execute("select stage, reasons from quarantine where source_uri = ?",
                                     [server.url("/news/5.html")]).fetchone()
        assert stage == "fetch"
        assert reasons == ["refused: 127.0.0.1 is a loopback address "
                           "(set NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true to allow)"]
        assert con.execute("select count(*) from seen_items where source = 'cli'").fetchone()[0] == 3
    finally:
        con.close()


def test_configured_sitemap_source(server, tmp_path):
    config = tmp_path / "newsflow.toml"
    config.write_text(f"""
[fetch]
allowed_hosts = ["127.0.0.1"]
min_host_interval = 0

[[sources]]
name = "local-sitemap"
kind = "sitemap"
location = "{server.url('/sitemap_index.xml')}"
interval = "1h"
limits = {{ max_items = 3, language = "en" }}
""", encoding="utf-8")
    summary = run(source="local-sitemap", config=str(config), db=str(tmp_path / "news.duckdb"))
    assert summary["articles_new"] == 3 and summary["fetch"]["skipped_limit"] == 1
