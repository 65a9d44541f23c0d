"""The crawl through the real ingest flow and a DuckDB file: the frontier of failed items, and a run
SIGKILLed while it fetches, then rerun, ends with every page exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import duckdb
import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest
from ingest_harness import NEWSFLOW
from newsflow.settings import REPO_ROOT, work_db_path

sys.path.insert(0, str(REPO_ROOT / "bench"))
from sites import Sites  # noqa: E402
from webserver import LocalServer  # noqa: E402

pytestmark = pytest.mark.slow


def write_config(path, sites: Sites, interval: float) -> str:
    feeds = ", ".join(f'"{u}"' for u in sites.feeds())
    path.write_text(f"""
[fetch]
allow_private_networks = true
min_host_interval = {interval}

[[sources]]
name = "news"
kind = "feed"
locations = [{feeds}]
""", encoding="utf-8")
    return str(path)


def test_failed_items_are_retried_by_the_next_run_though_the_feed_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_FETCH_RETRY_BACKOFF", "0")
    monkeypatch.setenv("NEWSFLOW_FETCH_HOSTS_DIR", str(tmp_path / "hosts"))
    db = str(tmp_path / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with Sites(hosts=2, items=3) as sites:
        a, b = sites.addresses
        sites.rules[a].status["/news/2.html"] = 503
        sites.rules[b].status["/news/3.html"] = 404
        config = write_config(tmp_path / "newsflow.toml", sites, 0.05)
        first = run(source="news", config=config, db=db)
        del sites.rules[a].status["/news/2.html"]
        del sites.rules[b].status["/news/3.html"]
        second = run(source="news", config=config, db=db)
        requests = {x: Counter(p for _, p in sites.requests[x]) for x in sites.addresses}
    assert first["articles_new"] == 4 and first["quarantined"] == 2
    assert first["fetch_failures"] == {"HTTP 503 after 4 attempts": 1, "HTTP 404": 1}
    assert second["fetch"]["not_modified"] == 2 and second["fetch"]["retried"] == 1
    assert second["articles_new"] == 1  # the 503 page, now served
    assert requests[b]["/news/3.html"] == 1  # a permanent failure is not asked again
    con = duckdb.connect(db, read_only=True)
    try:
        rows = dict(con.execute("select url, failure from fetch_state where url like '%/news/%'").fetchall())
        assert rows[sites.url(a, "/news/2.html")] is None and rows[sites.url(b, "/news/3.html")] == "permanent"
        assert con.execute("select count(*) from articles").fetchone()[0] == 5
    finally:
        con.close()


def test_a_feed_read_again_leaves_quarantine(tmp_path, monkeypatch):
    """A feed that failed (503) is quarantined; once a run reads it, its row goes: a feed loads no
    article of its own, which is what takes a page's row out."""
    monkeypatch.setenv("NEWSFLOW_FETCH_RETRY_BACKOFF", "0")
    monkeypatch.setenv("NEWSFLOW_FETCH_HOSTS_DIR", str(tmp_path / "hosts"))
    db = str(tmp_path / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with Sites(hosts=1, items=2) as sites:
        (address,) = sites.addresses
        sites.rules[address].status["/feed.xml"] = 503
        config = write_config(tmp_path / "newsflow.toml", sites, 0.02)
        first = run(source="news", config=config, db=db)
        del sites.rules[address].status["/feed.xml"]
        second = run(source="news", config=config, db=db)
    assert (first["quarantined"], second["articles_new"]) == (1, 2)
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("select count(*) from quarantine").fetchone()[0] == 0


def test_a_feed_another_source_read_is_read_whole_by_this_one(tmp_path, monkeypatch):
    """Two sources list one feed; the first keeps none of its items (another domain). The second's
    first run sent the first's ETag, got 304 and read no item: validators are a source's own."""
    monkeypatch.setenv("NEWSFLOW_FETCH_HOSTS_DIR", str(tmp_path / "hosts"))
    db = str(tmp_path / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with Sites(hosts=1, items=3) as sites:
        (feed,) = sites.feeds()
        config = tmp_path / "newsflow.toml"
        config.write_text(f'[fetch]\nallow_private_networks = true\nmin_host_interval = 0.02\n\n'
                          f'[[sources]]\nname = "a"\nkind = "feed"\nlocation = "{feed}"\n'
                          'limits = { allowed_domains = ["example.org"] }\n\n'
                          f'[[sources]]\nname = "b"\nkind = "feed"\nlocation = "{feed}"\n', encoding="utf-8")
        counts = [run(source=s, config=str(config), db=db)["articles_new"] for s in ("a", "b", "b")]
    assert counts == [0, 3, 0]


def test_items_a_run_limit_left_unread_are_read_by_the_next_run(tmp_path, monkeypatch):
    """A feed of 8 items under `max_items = 5` loaded 5, and its other 3 never: the feed's ETag was
    saved, so later runs got 304 and read none of its items again. Likewise a sitemap index's children
    past the run's limit on sitemaps."""
    monkeypatch.setenv("NEWSFLOW_FETCH_HOSTS_DIR", str(tmp_path / "hosts"))
    monkeypatch.setattr("newsflow.settings.SITEMAP_MAX_FILES", 1)
    db = str(tmp_path / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with Sites(hosts=1, items=8) as sites:
        config = write_config(tmp_path / "newsflow.toml", sites, 0.02)
        with open(config, "a", encoding="utf-8") as fh:
            fh.write("limits = { max_items = 5 }\n")
        counts = [run(source="news", config=config, db=db)["articles_new"] for _ in range(3)]
    assert counts == [5, 3, 0]
    with Sites(hosts=1, items=4) as sites, LocalServer() as index:
        (address,) = sites.addresses
        children = [f"/sitemap-{n}.xml" for n in (1, 2)]
        index.site.extra["/index.xml"] = (
            ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             + "".join(f"<sitemap><loc>{index.url(c)}</loc></sitemap>" for c in children)
             + "</sitemapindex>").encode(), "application/xml")
        for n, child in enumerate(children):
            index.site.extra[child] = (
                ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 + "".join(f"<url><loc>{u}</loc></url>" for u in sites.pages(address)[2 * n:2 * n + 2])
                 + "</urlset>").encode(), "application/xml")
        config = tmp_path / "sitemap.toml"
        config.write_text(f'[fetch]\nallow_private_networks = true\nmin_host_interval = 0.02\n\n[[sources]]\n'
                          f'name = "map"\nkind = "sitemap"\nlocation = "{index.url("/index.xml")}"\n',
                          encoding="utf-8")
        counts = [run(source="map", config=str(config), db=str(tmp_path / "map.duckdb"))["articles_new"]
                  for _ in range(3)]
    assert counts == [2, 2, 0]


def test_killed_while_fetching_then_rerun_loads_every_page_once(prefect_server, tmp_path):
    with Sites(hosts=4, items=8, latency=0.02) as sites:
        config = write_config(tmp_path / "newsflow.toml", sites, 0.2)
        db = tmp_path / "news.duckdb"
        cmd = [NEWSFLOW, "ingest", "--source", "news", "--config", config, "--db", str(db), "--batch-size", "4"]
        env = prefect_server.env(NEWSFLOW_FETCH_HOSTS_DIR=str(tmp_path / "hosts"))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        for line in proc.stdout:
            if "batch 1:" in line or "batches 1-" in line:  # loaded, the crawl still under way (32 pages, 0.2 s apart per host)
                break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        con = duckdb.connect(str(work_db_path(db)))  # replays the WAL, as the next run does
        loaded = {u for (u,) in con.execute("select source_uri from documents").fetchall()}
        con.close()
        assert 0 < len(loaded) < 32
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr[-3000:]
        hits = Counter(sites.url(a, p) for a in sites.addresses for _, p in sites.requests[a])
        every = {u for a in sites.addresses for u in sites.pages(a)}
    con = duckdb.connect(str(db), read_only=True)
    try:
        urls = [u for (u,) in con.execute("select url from articles").fetchall()]
        documents = con.execute("select count(*), count(distinct source_uri) from documents").fetchone()
    finally:
        con.close()
    assert sorted(urls) == sorted(every) and documents == (32, 32)
    assert all(hits[u] == 1 for u in loaded)  # loaded before the kill: not fetched again


def test_widening_allowed_domains_reads_the_items_skipped_before(tmp_path, monkeypatch):
    """A feed whose items were all skipped (another domain) answered 304 to every later run: after the
    source's `allowed_domains` was widened, its items were read only once the feed changed."""
    monkeypatch.setenv("NEWSFLOW_FETCH_HOSTS_DIR", str(tmp_path / "hosts"))
    db = str(tmp_path / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with Sites(hosts=1, items=3) as sites:
        (address,) = sites.addresses
        config = write_config(tmp_path / "newsflow.toml", sites, 0.02)
        base = open(config, encoding="utf-8").read()
        counts, not_modified = [], []
        for domains in ('["example.org"]', '["example.org"]', f'["example.org", "{address}"]',
                        f'["example.org", "{address}"]', '["example.org"]', f'["{address}"]'):
            with open(config, "w", encoding="utf-8") as fh:
                fh.write(base + f"limits = {{ allowed_domains = {domains} }}\n")
            summary = run(source="news", config=config, db=db)
            counts.append(summary["articles_new"])
            not_modified.append(summary["fetch"]["not_modified"])
        feed_reads = Counter(p for _, p in sites.requests[address])["/feed.xml"]
    assert counts == [0, 0, 3, 0, 0, 0]
    assert feed_reads == 6 and not_modified == [0, 1, 0, 1, 1, 1]  # still asked "changed since?" otherwise
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("select count(*) from articles").fetchone()[0] == 3
