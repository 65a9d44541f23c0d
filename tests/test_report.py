"""`newsflow report`, its HTTP server and `newsflow sql`, used as a person would.

One warehouse for the module, made by the real ingest flow (ephemeral Prefect, real GX, a local
HTTP site): the bundled samples plus unreadable and too-short files (quarantined), then pages from
127.0.0.1 of which two fail (fetch failures). The flow writes report.html beside the warehouse; the
browser test opens it in Debian's headless Chromium through `newsflow serve`'s file server and checks
that every chart is drawn, nothing is logged as an error and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import duckdb
import httpx
import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest
from tasks import report as R
from tasks.fileserver import FileServer, allowed
from tasks.pipeline import RunSummary, summary_markdown
from warehouse_helpers import samples_warehouse
from webserver import LocalServer

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                    "(apt-get install -y chromium); CI installs it")
NEWSFLOW = [sys.executable, "-m", "newsflow.cli"]
CHARTS = ["daily", "stories", "entities", "entity_daily", "citations", "runs", "quarantine", "removed",
          "validation", "fetch"]

pytestmark = pytest.mark.slow


def run(**kwargs) -> dict:
    return ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))(**kwargs)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, request):
    """(analyst db path, the two ingest runs' summaries, the input folder): samples and bad files,
    then pages from a local site."""
    tmp = tmp_path_factory.mktemp("report")
    src = tmp / "in"
    shutil.copytree(REPO / "data" / "samples", src / "samples")
    (src / "bad").mkdir()
    (src / "bad" / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (src / "bad" / "empty.txt").write_bytes(b"")
    (src / "bad" / "short.txt").write_text("Headline Only Here\nToo short to be an article.", encoding="utf-8")
    config = tmp / "newsflow.toml"
    config.write_text('[fetch]\nallowed_hosts = ["127.0.0.1"]\nmin_host_interval = 0\n', encoding="utf-8")
    db = tmp / "wh" / "news.duckdb"
    with LocalServer() as site:
        first = run(sources=[str(src)], db=str(db))
        second = run(sources=[site.url("/news/1.html"), site.url("/news/2.html"), site.url("/missing"),
                              site.url("/private/secret.html")], db=str(db), config=str(config))
    return db, first, second, src


def test_ingest_writes_the_report_beside_the_warehouse_and_links_it(warehouse):
    db, first, second, src = warehouse
    page = db.parent / R.REPORT_FILE
    assert first["report_refreshed"] and second["report_refreshed"]
    assert second["report"] == page.as_uri() and page.stat().st_size > 100_000
    assert second["quarantined"] == 2 and second["articles_new"] == 2
    text = page.read_text(encoding="utf-8")
    assert "Data Docs (validation)" in text and 'href="data_docs/index.html"' in text
    with duckdb.connect(str(db), read_only=True) as con:  # the published copy has the validation results
        assert con.execute("select count(distinct run_id) from validation_results").fetchone()[0] == 2

    before = page.stat().st_mtime_ns
    again = run(sources=[str(src)], db=str(db))  # changes nothing
    assert again["articles_new"] == 0 and not again["report_refreshed"]
    assert again["report"] == page.as_uri() and page.stat().st_mtime_ns == before


def test_data_docs_link_names_docs_being_built_before_their_index_exists(tmp_path):
    """The ingest writes the report while its Data Docs are still being built: the link is given then;
    otherwise only Data Docs already built are linked."""
    db, out = tmp_path / "news.duckdb", tmp_path / "report.html"
    assert R.data_docs_link(db, out) == {}
    assert R.data_docs_link(db, out, building=True) == {"Data Docs (validation)": "data_docs/index.html"}
    (tmp_path / "data_docs").mkdir()
    (tmp_path / "data_docs" / "index.html").write_text("<html></html>", encoding="utf-8")
    assert R.data_docs_link(db, out) == {"Data Docs (validation)": "data_docs/index.html"}


def test_summary_artifact_keeps_each_quarantined_document_on_one_table_row():
    """A reason with a newline in it (an exception's message) ended its row: the rest of the reason,
    and the rows after it, fell out of the artifact's table."""
    s = RunSummary(run_id="r", db="/w/news.duckdb",
                   quarantine=[("file:///w/a.json", ["Error: first line\nsecond | line"]),
                               ("file:///w/b.txt", ["empty file"])])
    rows = [line for line in summary_markdown(s).splitlines() if line.startswith("| `file:")]
    assert rows == ["| `file:///w/a.json` | `Error: first line second / line` |", "| `file:///w/b.txt` | `empty file` |"]



def test_summary_artifact_shows_hostile_sources_and_reasons_as_text():
    """Sources and reasons come from the input (a feed's links, a sitemap's URLs, an exception quoting a
    page). Rendered as the Prefect UI renders the artifact (CommonMark tables, raw HTML allowed), none
    becomes an image, a link or HTML: a backtick in a URL ended its code span and let what followed
    through, and a reason's markup went through as it was."""
    from markdown_it import MarkdownIt

    image = '<img src="http://127.0.0.1:9/pixel">'
    url = f"https://feed.example/a`{image}`"
    reason = f"cannot fetch ![x](http://127.0.0.1:9/beacon) {image} <script>alert(1)</script> a\\b & c"
    s = RunSummary(run_id="r", db="/w/news.duckdb", quarantine=[(url, [reason])], skipped=[(url, reason)],
                   slowest=[(31.0, url)], fetch_hosts={f"`{url}": [1, 0, 1, 0.0, 0.0]},
                   fetch_failures={reason: 1}, warc={reason: 1})
    html = MarkdownIt("commonmark").enable("table").render(summary_markdown(s))
    assert "<img" not in html and "<script" not in html and "<a " not in html, html
    cells = html.split("<td>")[1:]
    assert any(c.startswith(f"<code>{escape(url)}</code>") for c in cells), html
    assert sum(c.startswith(f"<code>{escape(reason)}</code>") for c in cells) == 4, html  # each table's

def test_summary_artifact_links_the_report_and_data_docs_over_http_when_served():
    s = RunSummary(run_id="r", db="/w/news.duckdb", data_docs="file:///w/data_docs/index.html",
                   report="file:///w/report.html", report_refreshed=True)
    text = summary_markdown(s)
    assert "`file:///w/report.html`" in text and "`newsflow serve`" in text  # no dead file:// link
    s.served_at = "http://127.0.0.1:4201"
    text = summary_markdown(s)
    assert "[http://127.0.0.1:4201/report.html](http://127.0.0.1:4201/report.html)" in text
    assert "[http://127.0.0.1:4201/data_docs/index.html](http://127.0.0.1:4201/data_docs/index.html)" in text
    assert "file://" not in text
    s = RunSummary(run_id="r", db="/w/feeds.duckdb", data_docs="file:///w/feeds.data_docs/index.html",
                   report="file:///w/feeds.report.html", served_at="http://127.0.0.1:4201")
    text = summary_markdown(s)
    assert "(http://127.0.0.1:4201/feeds.report.html)" in text
    assert "(http://127.0.0.1:4201/feeds.data_docs/index.html)" in text
    s.report = (Path("/w") / "my feeds.report.html").as_uri()  # as a run records it
    assert "(http://127.0.0.1:4201/my%20feeds.report.html)" in summary_markdown(s)


def test_file_server_serves_the_report_and_data_docs_only(warehouse):
    db = warehouse[0]
    with FileServer(db, 0) as files:
        get = lambda path: httpx.get(files.url + path, trust_env=False, timeout=10)  # noqa: E731
        assert get("/").status_code == 302 and get("/").headers["location"] == "/report.html"
        page = get("/report.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.content == (db.parent / "report.html").read_bytes()
        assert get("/data_docs/index.html").status_code == 200
        for path in ("/news.duckdb", "/news.work.duckdb", "/data_docs/", "/data_docs/../news.duckdb",
                     "/%2e%2e/etc/passwd", "/report.html/../news.duckdb"):
            assert get(path).status_code == 404, path
        # A link in the Data Docs folder to a file outside it, and a NUL (open() raised on it, and the
        # server dropped the connection with a traceback on its terminal): neither is served.
        (db.parent / "data_docs" / "planted.html").symlink_to(db)
        try:
            for path in ("/data_docs/planted.html", "/data_docs/x%00.html"):
                assert get(path).status_code == 404, path
                assert httpx.head(files.url + path, trust_env=False, timeout=10).status_code == 404, path
        finally:
            (db.parent / "data_docs" / "planted.html").unlink()
    assert allowed("/data_docs/validations/x.html") and not allowed("/data_docs/.hidden")


def test_warehouses_sharing_a_folder_keep_their_own_report_and_data_docs(warehouse):
    """A second warehouse file beside news.duckdb gets <name>.report.html and <name>.data_docs/; the
    first one's report is left as it was, and each file server serves only its own warehouse's."""
    db, _first, _second, src = warehouse
    news_page, other = db.parent / "report.html", db.parent / "other.duckdb"
    before = news_page.read_bytes()
    summary = run(sources=[str(src / "samples")], db=str(other))
    page, docs = db.parent / "other.report.html", db.parent / "other.data_docs" / "index.html"
    assert (R.report_path(other), R.data_docs_path(other)) == (page, docs.parent)
    assert (R.report_path(db), R.data_docs_path(db)) == (news_page, db.parent / "data_docs")
    assert summary["report_refreshed"] and summary["report"] == page.as_uri() and docs.exists()
    assert summary["data_docs"].endswith("/other.data_docs/index.html")
    assert 'href="other.data_docs/index.html"' in page.read_text(encoding="utf-8")
    assert news_page.read_bytes() == before  # the other warehouse's run did not touch it
    with FileServer(other, 0) as files, FileServer(db, 0) as news:
        get = lambda url: httpx.get(url, trust_env=False, timeout=10)  # noqa: E731
        assert files.report_url == f"{files.url}/other.report.html"
        assert get(files.url + "/").headers["location"] == "/other.report.html"
        assert get(files.report_url).content == page.read_bytes()
        assert get(files.docs_url).status_code == 200
        for path in ("/report.html", "/data_docs/index.html", "/other.duckdb"):
            assert get(files.url + path).status_code == 404, path
        assert get(news.url + "/other.report.html").status_code == 404
        assert get(news.report_url).content == before


def test_report_command_since_and_out(warehouse, tmp_path):
    db = warehouse[0]
    out = tmp_path / "later.html"
    proc = subprocess.run([*NEWSFLOW, "report", "--db", str(db), "--since", "2999-01-01", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and "0 articles" in proc.stdout
    text = out.read_text(encoding="utf-8")
    assert "No articles in this period." in text and "since 2999-01-01 00:00 UTC" in text
    missing = subprocess.run([*NEWSFLOW, "report", "--db", str(tmp_path / "none.duckdb")], capture_output=True,
                             text=True, timeout=120, cwd=REPO)
    assert missing.returncode == 2 and "no warehouse" in missing.stderr
    # - is stdout, as for `newsflow schema` (it was a file named "-" in the working folder)
    piped = subprocess.run([*NEWSFLOW, "report", "--db", str(db), "--since", "2999-01-01", "-o", "-"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("<!DOCTYPE html>") and "No articles in this period." in piped.stdout
    assert "wrote the report to stdout" in piped.stderr and not (tmp_path / "-").exists()


def test_collect_counts_what_the_warehouse_holds(warehouse):
    db = warehouse[0]
    with duckdb.connect(str(db), read_only=True) as con:
        data = R.collect(con)
        later = R.collect(con, since=datetime(2999, 1, 1, tzinfo=timezone.utc))
        segments, runs = con.execute("select (select count(*) from removed_segments), (select count(*) from runs)"
                                     ).fetchone()
    assert data.overview["articles"] == 7 and data.overview["runs"] == runs >= 2
    assert {r["reason"] for r in data.quarantine} >= {"failed expect_column_values_to_be_between(body_size)",
                                                      "binary content", "HTTP 404", "refused by robots.txt"}
    assert {(r["host"], r["reason"]) for r in data.fetch_failures} == {("127.0.0.1", "HTTP 404"),
                                                                      ("127.0.0.1", "refused by robots.txt")}
    assert data.stories[0]["outlet_count"] == 5 and len(data.story_articles[data.stories[0]["story_id"]]) == 5
    assert {e["kind"] for e in data.entities} == {"person", "org", "place"}
    assert sum(r["segments"] for r in data.removed) == segments >= 20
    assert {v["expectation"] for v in data.validation} >= {"expect_column_values_to_be_unique(article_id)"}
    assert later.overview["articles"] == 0 and later.daily == [] and later.runs == []


def test_charts_built_unchecked_equal_the_schema_checked_ones(warehouse):
    """Runs build the charts without altair's schema checks; here every chart is built with them (an
    invalid spec raises) and must come out the same."""
    with duckdb.connect(str(warehouse[0]), read_only=True) as con:
        data = R.collect(con)
    checked = R.charts(data, validate=True)
    assert [name for name, spec in checked.items() if spec is not None] == CHARTS
    assert R.charts(data) == checked


def test_report_bench_synthesizes_a_warehouse_the_report_reads(warehouse, tmp_path):
    """bench/report_bench.py's warehouse, made from this one, keeps up with the schema."""
    sys.path.insert(0, str(REPO / "bench"))
    from report_bench import synthesize

    counts = synthesize(warehouse[0], tmp_path / "syn.duckdb", 300, 10)
    assert counts["articles"] == 300 and counts["stories"] > 0 and counts["mentions"] > 0
    written = R.write_report(tmp_path / "syn.duckdb", tmp_path / "syn.html")
    assert written.articles == 300 and written.bytes > 100_000


def test_one_old_date_does_not_squeeze_the_charts_over_time(tmp_path):
    """A page dated 1970 (a zero timestamp) among this year's articles stretched the daily charts over
    57 years of days, every bar a hairline. Without --since they show the 365 days up to the newest
    article and say how many older articles are not drawn; a --since far back draws months."""
    (tmp_path / "wh").mkdir()
    db = samples_warehouse(tmp_path / "wh", tmp_path / "template")
    with duckdb.connect(str(db)) as con:
        ids = [a for (a,) in con.execute("select article_id from articles order by article_id").fetchall()]
        dated = {a: datetime(2026, 6, 1 + i, 12, tzinfo=timezone.utc) for i, a in enumerate(ids[1:])}
        dated[ids[0]] = datetime(1970, 1, 1, tzinfo=timezone.utc)
        con.executemany("update articles set published_at = ? where article_id = ?",
                        [[when, a] for a, when in dated.items()])
    with duckdb.connect(str(db), read_only=True) as con:
        recent, far = R.collect(con), R.collect(con, since=datetime(1960, 1, 1, tzinfo=timezone.utc))
    days = sorted({r["day"].isoformat() for r in recent.daily})
    assert days == [f"2026-06-{1 + i:02d}" for i in range(len(ids) - 1)], days
    assert recent.days.unit == "day" and recent.days.hidden == 1 and recent.overview["articles"] == len(ids)
    assert {r["day"].isoformat() for r in recent.entity_daily} <= set(days)
    page = R.render(recent)
    assert "1 older article (dated before 2025-06-" in page and "Articles per day by outlet" in page
    assert far.days.unit == "month" and far.days.hidden == 0
    assert sorted({r["day"].isoformat() for r in far.daily}) == ["1970-01-01", "2026-06-01"]
    assert "Articles per month by outlet" in R.render(far) and "older article" not in R.render(far)


@pytest.mark.parametrize("reason, kind", [
    ("failed expect_column_value_lengths_to_be_between(body): body has 27 characters",
     "failed expect_column_value_lengths_to_be_between(body)"),
    ("HTTP 503 after 4 attempts", "HTTP 503"),
    ("refused: robots.txt of https://a.example disallows /z", "refused by robots.txt"),
    ("refused: 10.0.0.5 is a private address (set NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true to allow)",
     "refused: private address"),
    ("binary content (NUL bytes), not a text article", "binary content"),
    ("timed out", "timed out"),
    (None, "(no reason recorded)"),
])
def test_reason_kind(reason, kind):
    assert R.reason_kind(reason) == kind


@needs_chromium
def test_report_renders_every_chart_in_chromium_offline(warehouse, tmp_path):
    from playwright.sync_api import sync_playwright

    db = warehouse[0]
    errors: list[str] = []
    outside: list[str] = []
    with FileServer(db, 0) as files, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-extensions"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)

            def guard(route):  # every request is checked; one to anywhere else is refused and remembered
                if route.request.url.startswith(files.url + "/"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(files.url + "/")
            page.wait_for_selector("body[data-charts-rendered], body[data-charts-failed]")
            assert page.get_attribute("body", "data-charts-rendered") == str(len(CHARTS))
            drawn = page.evaluate("""() => [...document.querySelectorAll('.chart')].map(c => {
                const svg = c.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;
                return [c.dataset.chart, svg ? svg.querySelectorAll('path, rect, line, text').length : 0,
                        box ? box.width : 0, box ? box.height : 0];
            })""")
            assert [d[0] for d in drawn] == CHARTS
            for name, marks, width, height in drawn:
                assert marks > 5 and width > 100 and height > 50, (name, marks, width, height)
            assert page.locator("p.empty").count() == 0  # every section has data in this warehouse

            story = page.locator("details").first  # a top story expands to its articles
            assert not story.locator("ol").is_visible()
            story.locator("summary").click()
            assert story.locator("li").count() == 5 and story.locator("li").first.is_visible()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert errors == [] and outside == []

            # The header's Data Docs link, served over HTTP too. (GX's pages ask CDNs for their style
            # and scripts: the guard refuses those, so they show unstyled here; not the report's.)
            with page.expect_response(files.url + "/data_docs/index.html") as response:
                page.get_by_text("Data Docs (validation)").click()
            assert response.value.status == 200
            page.get_by_text("Expectation Suite").first.wait_for()
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 50_000
    keep = os.environ.get("NEWSFLOW_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "report.png", Path(keep) / "report.png")


# ------------------------------------------------------------------------------------- newsflow sql


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> Path:
    """The five samples loaded as the flow loads them (no Prefect), search index built."""
    return samples_warehouse(tmp_path_factory.mktemp("sql"), tmp_path_factory.mktemp("sql-template"))


def sql(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSFLOW, "sql", "--db", str(db), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_sql_command_prints_a_table_with_views_and_search(samples_db):
    db = samples_db
    proc = sql(db, "-c", "select count(*) as articles, count(distinct outlet) as outlets from v_articles")
    assert proc.returncode == 0, proc.stderr
    assert "articles" in proc.stdout and "│" in proc.stdout and "5" in proc.stdout
    search = sql(db, "-c", "select title from v_articles where fts_main_articles.match_bm25(article_id, "
                           "'armored train') is not null")
    assert search.returncode == 0, search.stderr
    assert "Kim" in search.stdout
    for nothing in ("", " ; "):  # printed nothing and exited 0, as if the query had found nothing
        empty = sql(db, "-c", nothing)
        assert empty.returncode == 2 and "-c needs SQL to run" in empty.stderr, empty.stderr


def test_sql_shell_is_read_only(samples_db):
    db = samples_db
    proc = sql(db, "-c", "delete from articles")
    assert proc.returncode != 0 and "read-only" in (proc.stdout + proc.stderr)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from articles").fetchone()[0] == 5


def test_sql_shell_cannot_write_any_database_file(samples_db, tmp_path):
    """-readonly holds for the file opened; ATTACH ... (read_only false) of it or of the working
    warehouse beside it would write them, so the shell reaches no file."""
    work = tmp_path / "news.work.duckdb"
    shutil.copyfile(samples_db, work)
    for target in (samples_db, work):
        relative = os.path.relpath(target, REPO)  # the open file by another name: not refused as already attached
        proc = sql(samples_db, "-c", f"attach '{relative}' as rw (read_only false); delete from rw.articles")
        assert proc.returncode != 0 and "disabled by configuration" in proc.stderr, proc.stdout + proc.stderr
        with duckdb.connect(str(target), read_only=True) as con:
            assert con.execute("select count(*) from articles").fetchone()[0] == 5
    again = sql(samples_db, "-c", "set enable_external_access = true")
    assert again.returncode != 0 and "Cannot change enable_external_access" in again.stderr


def test_sql_shell_exports_what_it_reads(samples_db, tmp_path):
    """Read-only is about the warehouse: an analyst's shell still writes a query's rows out, through
    standard output or the CLI's .once, not with COPY TO a file."""
    proc = sql(samples_db, "-c", "copy (select title from v_articles order by title) to '/dev/stdout' (header)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "title" and len(proc.stdout.splitlines()) == 6
    out = tmp_path / "titles.csv"
    shell = subprocess.run([*NEWSFLOW, "sql", "--db", str(samples_db)], capture_output=True, text=True, timeout=120,
                           cwd=REPO, input=f".mode csv\n.once {out}\nselect title from v_articles order by title;\n")
    assert shell.returncode == 0, shell.stderr
    assert out.read_text().splitlines()[0] == "title" and len(out.read_text().splitlines()) == 6
    copy = sql(samples_db, "-c", f"copy (select title from v_articles) to '{tmp_path / 'copy.csv'}'")
    assert copy.returncode != 0 and not (tmp_path / "copy.csv").exists()


def test_sql_shell_interactive_through_a_pseudo_terminal(samples_db):
    db = samples_db
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # a 160 x 40 terminal
    proc = subprocess.Popen([*NEWSFLOW, "sql", "--db", str(db)], stdin=child, stdout=child, stderr=child,
                            cwd=REPO, env={**os.environ, "TERM": "xterm", "COLUMNS": "160"}, close_fds=True)
    os.close(child)
    seen, pos = b"", 0

    def read_until(marker: bytes, timeout: float = 30) -> None:
        """Read the screen until `marker` shows after the previous marker; answer the shell's
        cursor-position queries (ESC [6n) as a terminal does: its line editor waits for them."""
        nonlocal seen, pos
        deadline = time.monotonic() + timeout
        while marker not in seen[pos:] and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                seen += chunk
                for _ in range(chunk.count(b"\x1b[6n")):
                    os.write(main, b"\x1b[1;1R")
        assert marker in seen[pos:], seen.decode(errors="replace")[-2000:]
        pos = seen.index(marker, pos) + len(marker)

    try:
        read_until(b"newsflow sql: DuckDB on")
        read_until(b'Enter ".help" for usage hints.')
        read_until(b"D ")  # the prompt
        os.write(main, b"select 'rows:' || count(*) as answer from v_articles;\r")
        read_until(b"rows:5")  # the answer, not the echo of the statement
        os.write(main, b"select upper(entity) from v_entity_mentions where entity = 'Vladimir Putin' limit 1;\r")
        read_until(b"VLADIMIR PUTIN")
        os.write(main, b".quit\r")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)


def test_data_docs_that_cannot_be_built_are_a_warning_not_a_failed_run(tmp_path):
    """An unwritable Data Docs folder failed the run (exit 1, no summary) though every article was
    loaded and published; and the index's URL was printed with its spaces unquoted."""
    folder = tmp_path / "team share"
    (folder / "blocked.data_docs").parent.mkdir()
    (folder / "blocked.data_docs").write_text("a file where the folder would go", encoding="utf-8")
    blocked = run(sources=[str(REPO / "data" / "samples")], db=str(folder / "blocked.duckdb"))
    assert blocked["articles_new"] == 5 and blocked["data_docs"] is None
    assert blocked["report"] == (folder / "blocked.report.html").as_uri()
    built = run(sources=[str(REPO / "data" / "samples")], db=str(folder / "news.duckdb"))
    assert built["data_docs"] == (folder / "data_docs" / "index.html").as_uri() and "%20" in built["data_docs"]


@needs_chromium
def test_right_to_left_titles_keep_the_counts_and_dates_beside_them_in_order(tmp_path):
    """An Arabic or Hebrew title pulled the text after it into its right-to-left run: a story's
    "— 3 articles" showed its count left of the title, an article's date read "06-03-2024"."""
    from playwright.sync_api import sync_playwright

    (tmp_path / "wh").mkdir()
    db = samples_warehouse(tmp_path / "wh", tmp_path / "template")
    with duckdb.connect(str(db)) as con:
        con.execute("update articles set title = 'ارتفاع أسعار النفط', sitename = 'الاقتصادية'")
        con.execute("update stories set title = 'ارتفاع أسعار النفط'")
    page_file = tmp_path / "report.html"
    R.write_report(db, page_file)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            page.goto(page_file.as_uri())
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            # Where the title ends and where the text after it begins: in a left-to-right page the
            # count and the date come after (right of) the title, and the date reads left to right.
            order = page.evaluate("""() => {
                const at = (node, start, end) => { const r = document.createRange();
                    r.setStart(node, start); r.setEnd(node, end); return r.getBoundingClientRect(); };
                const summary = document.querySelector('details summary');
                const title = summary.querySelector('b').getBoundingClientRect();
                const meta = summary.querySelector('.meta').firstChild;
                const count = at(meta, meta.data.indexOf('—') + 2, meta.data.indexOf(' articles'));
                const item = [...document.querySelector('details li').querySelectorAll(':scope > .meta')].pop();
                const text = [...item.childNodes].filter(n => n.nodeType === 3).pop();
                const m = text.data.match(/\\d{4}-\\d{2}-\\d{2}/);
                const year = at(text, m.index, m.index + 4), day = at(text, m.index + 8, m.index + 10);
                return {title_right: title.right, count_left: count.left, year_left: year.left, day_left: day.left,
                        same_line: Math.abs(title.top - count.top) < 4};
            }""")
        finally:
            browser.close()
    assert order["same_line"] and order["count_left"] > order["title_right"], order
    assert order["year_left"] < order["day_left"], order
