"""Hostile input: one bad URL, feed item, file or record never sinks a run; runs on one warehouse queue.

Real loopback servers, real files (FIFOs, symlink loops, unreadable folders), real `newsflow ingest`
subprocesses against a real Prefect server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import json

import duckdb
import httpx
import pytest

from ingest_harness import NEWSFLOW, write_corpus
from newsflow.urls import BadURL, check_url
from tasks.discover import Harvester, harvest_source
from tasks.fetch import Fetcher, FetchPolicy, RefusedError
from tasks.sources import discover, read_all, read_path
from webserver import LocalServer

LOOPBACK = FetchPolicy(allow_private_networks=True, min_host_interval=0, retries=0, backoff=0, deadline=10)


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


# --- check_url: the one URL check -------------------------------------------------------------------

@pytest.mark.parametrize("url, why", [
    ("http://0177.0.0.1:8080/", "non-standard notation"),
    ("http://0x7f.0.0.1/", "non-standard notation"),
    ("http://2130706433/", "non-standard notation"),
    ("http://127.1/", "non-standard notation"),
    ("http://256.0.0.1/", "non-standard notation"),
    ("http://127.0.0.1:99999/", "Port out of range"),
    ("http://127.0.0.1:0/", "port 0"),
    ("http://[zz::1]/p", "malformed URL"),
    ("http://[::1/p", "malformed URL"),
    ("file:///etc/passwd", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("ftp://example.org/a", "only http and https"),
    ("//example.org/a", "only http and https"),
    ("http:///path", "no host"),
    ("http://exa mple.org/", "spaces or control characters"),
    ("http://ex..org/", "not a valid domain name"),
    ("http://-x-.org/", "not a valid domain name"),
    ("http://a\u200db.org/", "international domain name"),
    ("", "empty URL"),
])
def test_check_url_refuses_with_a_reason(url, why):
    with pytest.raises(BadURL) as err:
        check_url(url)
    assert why in err.value.reason


@pytest.mark.parametrize("url, canonical", [
    ("http://example.org/a?b=1#c", "http://example.org/a?b=1#c"),
    ("HTTPS://Example.ORG:8443/A", "https://example.org:8443/A"),
    ("http://Bücher.de/x", "http://xn--bcher-kva.de/x"),
    ("http://１２７.０.０.１:81/p", "http://127.0.0.1:81/p"),  # fullwidth digits, mapped as browsers do
    ("http://[0:0::1]:8080/", "http://[::1]:8080/"),
    ("http://user@host.example/", "http://user@host.example/"),
    ("http://a_b.example/", "http://a_b.example/"),
])
def test_check_url_canonical_form(url, canonical):
    assert check_url(url) == canonical
    httpx.URL(canonical)  # what the check accepts, the HTTP client accepts


# --- fetching: bad hosts in CLI arguments, feeds, sitemaps and redirects -----------------------------

def _feed(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'
            ).encode()


def _by_uri(harvest):
    return {d.source_uri: d for d in harvest.documents}


def test_feed_items_with_unusable_urls_are_quarantined_and_the_rest_fetched(server):
    port = server.port
    bad = {
        f"http://0177.0.0.1:{port}/news/2.html": "non-standard notation",
        f"http://127.0.0.1:99999/news/3.html": "Port out of range",
        "http://[zz::1]/p": "malformed URL",
        "file:///etc/passwd": "only http and https",
    }
    good = [server.url("/news/1.html"), f"http://１２７.０.０.１:{port}/news/4.html"]
    server.site.extra["/hostile-feed.xml"] = (_feed([*bad, *good]), "application/rss+xml")
    harvest = harvest_source([server.url("/hostile-feed.xml")], "feed", LOOPBACK, None, source="t")
    docs = _by_uri(harvest)
    for url, why in bad.items():
        assert url in docs, f"{url} was dropped without a trace"
        assert why in docs[url].error
        assert docs[url].fields["stage"] == "fetch"
    assert docs[server.url("/news/1.html")].error is None
    assert docs[server.url("/news/4.html")].error is None  # the fullwidth host, canonical
    assert harvest.stats["refused_urls"] == len(bad)
    assert not any(path.startswith("/news/3") for path, _ in server.site.requests)  # never port-wrapped


def test_cli_argument_with_an_octal_host_is_quarantined_not_fatal(server):
    harvest = harvest_source([f"http://0177.0.0.1:{server.port}/", server.url("/news/5.html")], "auto",
                             LOOPBACK, None, source="cli")
    docs = _by_uri(harvest)
    assert "non-standard notation" in docs[f"http://0177.0.0.1:{server.port}/"].error
    assert docs[server.url("/news/5.html")].error is None


def test_sitemap_bad_loc_and_self_reference_are_accounted_for(server):
    me = server.url("/self-sitemap.xml")
    body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{me}</loc></sitemap>"
            f"<sitemap><loc>http://0x7f.1:{server.port}/other.xml</loc></sitemap>"
            f"<sitemap><loc>{server.url('/sitemap-a.xml')}</loc></sitemap></sitemapindex>")
    server.site.extra["/self-sitemap.xml"] = (body.encode(), "application/xml")
    harvest = harvest_source([me], "sitemap", LOOPBACK, None, source="t")
    assert (me, f"listed again by {me} (already read in this run)") in harvest.skipped
    assert "non-standard notation" in _by_uri(harvest)[f"http://0x7f.1:{server.port}/other.xml"].error
    assert {server.url("/news/1.html"), server.url("/news/2.html")} <= set(_by_uri(harvest))


def test_redirect_to_an_unusable_url_is_refused_with_the_reason():
    with _RedirectServer("http://0177.0.0.1/x") as srv, Fetcher(LOOPBACK) as fetcher:
        with pytest.raises(RefusedError) as err:
            fetcher.fetch(srv.url)
    assert err.value.reason.startswith("refused: redirect to 'http://0177.0.0.1/x': ")
    assert "non-standard notation" in err.value.reason


class _RedirectServer:
    """A one-route loopback server answering every GET with a redirect to `location`."""

    def __init__(self, location: str) -> None:
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                if self.path == "/robots.txt":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/start"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_oversized_robots_txt_is_read_as_far_as_its_limit(server):
    """RFC 9309 asks for at least 500 KiB to be parsed: a robots.txt over newsflow's 512 KiB limit
    (here one comment line of 600 KiB, no rule in it) allows what its first 512 KiB allow."""
    saved = server.site.robots
    server.site.robots = "# " + "x" * (600 * 1024)
    try:
        harvest = harvest_source([server.url("/news/1.html")], "urls", LOOPBACK, None, source="t")
    finally:
        server.site.robots = saved
    page = _by_uri(harvest)[server.url("/news/1.html")]
    assert page.error is None and page.raw


class _FailsOn(Fetcher):
    """A real fetcher, except that one URL raises an error no code path expects."""

    def __init__(self, policy: FetchPolicy, bad: str) -> None:
        super().__init__(policy)
        self.bad = bad

    def fetch(self, url, **kwargs):
        if url == self.bad:
            raise KeyError("something nobody planned for")
        return super().fetch(url, **kwargs)


def test_any_exception_of_one_item_becomes_its_quarantine_row(server):
    bad = server.url("/news/2.html")
    server.site.extra["/three.xml"] = (_feed([server.url(f"/news/{n}.html") for n in (1, 2, 3)]),
                                       "application/rss+xml")
    with _FailsOn(LOOPBACK, bad) as fetcher:
        harvest = Harvester(fetcher, source="t").run([server.url("/three.xml")], "feed")
    docs = _by_uri(harvest)
    assert docs[bad].error == f"could not process {bad}: KeyError: 'something nobody planned for'"
    assert docs[server.url("/news/1.html")].error is None and docs[server.url("/news/3.html")].error is None


# --- local input: records and files ------------------------------------------------------------------

def test_json_number_python_refuses_is_quarantined_and_the_rest_read(tmp_path):
    good = '{"url": "https://example.org/a", "title": "A fine title", "text": "Words."}'
    f = tmp_path / "records.jsonl"
    f.write_text("\n".join([good, '{"id": ' + "9" * 5000 + "}", '{"score": NaN}', good.replace("/a", "/b")]))
    docs = list(read_path(f))
    assert [d.error is None for d in docs] == [True, False, False, True]
    assert "Exceeds the limit (4300 digits)" in docs[1].error
    assert "NaN" in docs[2].error
    whole = tmp_path / "one.json"
    whole.write_text('[{"n": ' + "1" * 4400 + "}]")
    (doc,) = read_path(whole)
    assert doc.error.startswith("not valid JSON: Exceeds the limit")


def test_record_fields_of_the_wrong_type_are_quarantined_with_the_field(tmp_path):
    f = tmp_path / "typed.jsonl"
    f.write_text('{"url": "https://example.org/a", "text": ' + "7" * 300 + '}\n'
                 '{"title": ["a", "list"], "author": {"name": "x"}, "text": "Words."}\n'
                 '{"text": "Words.", "published_at": null, "rating": 5}\n'
                 '{"text": "Words.", "published_at": 1710057600000}\n'
                 '{"text": "Words.", "published_at": true}\n')
    docs = list(read_path(f))
    assert docs[0].error == "JSON record field 'text' is a number; these fields must be strings"
    assert docs[1].error == ("JSON record field 'title' is an array, 'author' is an object; "
                             "these fields must be strings")
    assert docs[2].error is None  # null and fields newsflow does not read are fine
    assert docs[3].error is None  # a date as epoch milliseconds, as exports write it
    assert docs[4].error == "JSON record field 'published_at' is a boolean; these fields must be strings"


def test_record_fields_longer_than_an_author_or_url_are_quarantined_with_the_field(tmp_path):
    """A JSON export with the body mapped to `author` loaded 900,000-character authors."""
    from newsflow.settings import META_MAX_CHARS, URL_MAX_CHARS

    f = tmp_path / "long.jsonl"
    long_url = "https://example.org/" + "a" * URL_MAX_CHARS
    f.write_text(json.dumps({"url": "https://example.org/a", "author": "Ann " * 300_000, "text": "Words."}) + "\n"
                 + json.dumps({"url": long_url, "author": "x" * (META_MAX_CHARS + 1), "text": "Words."}) + "\n"
                 + json.dumps({"author": "x" * META_MAX_CHARS, "text": "Words."}) + "\n")
    docs = list(read_path(f))
    assert docs[0].error == ("JSON record field 'author' has 1,200,000 characters (at most 1,000): check the "
                             "export's field mapping")
    assert docs[1].error == (f"JSON record field 'url' has {len(long_url):,} characters (at most 8,000), 'author' "
                             "has 1,001 characters (at most 1,000): check the export's field mapping")
    assert docs[2].error is None


def test_a_file_that_fails_while_read_is_quarantined_and_the_next_read(tmp_path):
    (tmp_path / "a.txt").write_text("Some text that is long enough. " * 10)
    relative = Path(os.path.relpath(tmp_path / "a.txt"))  # read_all expects resolved paths
    docs = list(read_all([relative, (tmp_path / "a.txt").resolve()]))
    assert docs[0].error.startswith("cannot read file: ValueError")
    assert docs[1].error is None


def test_special_files_are_skipped_with_reasons(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="newsflow-special-")) / "in"  # under /tmp: others may enter it
    root.parent.chmod(0o755)
    root.mkdir()
    (root / "good.txt").write_text("A story. " * 40)
    os.mkfifo(root / "pipe.txt")
    os.symlink(root / "loop.txt", root / "loop.txt")
    locked = root / "locked"
    locked.mkdir()
    (locked / "inside.txt").write_text("hidden")
    locked.chmod(0)
    skipped: list[tuple[str, str]] = []
    fifo_alone: list[tuple[str, str]] = []
    try:
        if os.geteuid() == 0:  # root reads any folder: list it as an unprivileged user instead
            found, skipped = _discover_as_nobody(root)
        else:
            found = [str(p) for p in discover([root], skipped)]
        assert discover([root / "pipe.txt"], fifo_alone) == []
    finally:
        locked.chmod(0o755)
        shutil.rmtree(root.parent)
    assert found == [str(root / "good.txt")]
    reasons = dict(skipped)
    assert reasons[str(root / "pipe.txt")] == "not a regular file (a FIFO)"
    assert reasons[str(root / "loop.txt")].startswith("cannot be opened: Too many levels of symbolic links")
    assert reasons[str(locked)] == "folder cannot be listed: Permission denied"
    assert fifo_alone == [(str(root / "pipe.txt"), "not a regular file (a FIFO)")]


def _discover_as_nobody(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to test an unreadable folder as root")
    code = ("import json, sys; from tasks.sources import discover; s = []; "
            f"f = discover([{str(root)!r}], s); print(json.dumps([[str(p) for p in f], s]))")
    proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
                          capture_output=True, text=True, cwd=str(Path(__file__).parent.parent),
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert proc.returncode == 0, proc.stderr
    found, skipped = json.loads(proc.stdout)
    return found, [tuple(s) for s in skipped]


# --- whole runs: the CLI -----------------------------------------------------------------------------

pytest_slow = pytest.mark.slow


def _ingest(prefect_server, db: Path, *sources: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([NEWSFLOW, "ingest", *sources, "--db", str(db)],
                            env=prefect_server.env(NEWSFLOW_ALLOW_PRIVATE_NETWORKS="true", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest_slow
def test_cli_run_with_an_unparseable_host_loads_everything_else(prefect_server, server, tmp_path):
    db = tmp_path / "wh" / "news.duckdb"
    samples = str(Path(__file__).parent.parent / "data" / "samples")
    proc = _ingest(prefect_server, db, f"http://0177.0.0.1:{server.port}/", server.url("/news/1.html"), samples)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert _count(db, "select count(*) from articles") == 6
    assert _count(db, "select count(*) from quarantine where source_uri like 'http://0177.0.0.1%' "
                      "and reasons[1] like '%non-standard notation%'") == 1


@pytest_slow
def test_two_concurrent_runs_on_one_warehouse_both_load_everything(prefect_server, tmp_path):
    db = tmp_path / "wh" / "news.duckdb"
    a, b = tmp_path / "a", tmp_path / "b"
    write_corpus(a, 60, seed=1)
    write_corpus(b, 60, seed=2)
    first = _ingest(prefect_server, db, str(a))
    time.sleep(0.5)
    second = _ingest(prefect_server, db, str(b))
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], [e[-2000:] for _, e in outs]
    assert any("waiting for run" in err for _, err in outs)  # one of them queued behind the other
    expected = len({*a.rglob("*.html"), *b.rglob("*.html")})
    assert _count(db, "select count(*) from documents") == expected
    assert _count(db, "select count(*) from runs where status = 'completed'") == 2


@pytest_slow
def test_a_run_that_cannot_get_its_turn_exits_with_one_line(prefect_server, tmp_path):
    db = tmp_path / "wh" / "news.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tasks import runlock; from pathlib import Path\n"
         f"with runlock.hold(Path({str(db)!r}), 'nightly-backfill', 5):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=str(Path(__file__).parent.parent))
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = _ingest(prefect_server, db, str(Path(__file__).parent.parent / "data" / "samples"),
                       NEWSFLOW_WAREHOUSE_WAIT="1")
        out, err = proc.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 3
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "in use by run nightly-backfill" in lines[0]
    assert "waiting for run nightly-backfill" in err
    assert not db.exists() and not db.with_name("news.work.duckdb").exists()  # nothing written


@pytest_slow
def test_a_warehouse_that_cannot_be_opened_is_one_line_and_exit_1(prefect_server, tmp_path):
    db = tmp_path / "wh" / "news.duckdb"
    db.parent.mkdir()
    db.with_name("news.work.duckdb").write_bytes(b"not a database at all")
    proc = _ingest(prefect_server, db, str(Path(__file__).parent.parent / "data" / "samples"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in err
    assert "error: the ingest run failed: IOException" in err and "not a valid DuckDB database" in err
