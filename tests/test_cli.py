import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsflow.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_help_explains_each_command():
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("ingest", "extract"):
        assert command in proc.stdout
    ingest_help = cli("ingest", "--help").stdout
    assert "--db" in ingest_help and "bundled sample" in ingest_help


def test_each_parameter_of_the_ingest_flow_is_an_option_of_the_command():
    """The Prefect UI's run form offers the flow's parameters. `max_in_flight` was one that no command
    or document named: -1 there failed the run with an IndexError, a large number held every batch of
    a backfill in memory at once."""
    import inspect

    from flows.ingest import ingest

    usage = " ".join(cli("ingest", "--help").stdout.split())
    for name in inspect.signature(ingest.fn).parameters:
        assert name == "sources" or f"--{name.replace('_', '-')}" in usage, name


def test_extract_prints_one_json_object_per_document(samples_dir: Path, tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    proc = cli("extract", str(samples_dir), str(tmp_path / "empty.txt"))
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(objs) == 6
    by_name = {o["source_uri"].rsplit("/", 1)[1]: o for o in objs}
    assert by_name["empty.txt"]["error"] == ["empty file"]
    sample = by_name["002_e0f0b5de1e8e843f.txt"]
    assert sample["title"] == "Kim Jong Un to Visit Vladimir Putin for Weapons Talks"
    assert {r["rule"] for r in sample["removed"]} >= {"teaser", "outlet-list", "repeated-title"}
    assert "Also Read" not in sample["body"]
    assert by_name["001_97e79ec8ab510aad.txt"]["title"] is None


def test_extract_reads_a_page_from_standard_input(samples_dir: Path):
    """`curl -s URL | newsflow extract - --url URL`: `-` was "no such file or folder", and /dev/stdin
    from a pipe was skipped as a FIFO."""
    import gzip

    def extract(data: bytes, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newsflow.cli", "extract", *args], cwd=REPO, input=data,
                              capture_output=True, timeout=300)

    page = (b"\n<!DOCTYPE html><html><head><title>Storm hits coast | The Daily</title></head><body><nav>Home</nav>"
            b"<article><h1>Storm hits coast</h1>" + b"<p>Heavy rain fell on the coast overnight, officials said.</p>"
            * 12 + b'<a href="/about">About us</a></article></body></html>')
    url = "https://news.example/2025/07/17/storm.html"
    got = [json.loads(line) for line in extract(page, "-", "--url", url).stdout.splitlines()]
    assert [(o["source_uri"], o["url"], o["title"]) for o in got] == [(url, url, "Storm hits coast")], got
    assert got[0]["published_at"].startswith("2025-07-17") and "officials said" in got[0]["body"]
    text = (samples_dir / "002_e0f0b5de1e8e843f.txt").read_bytes()
    both = [json.loads(line) for line in extract(gzip.compress(text), str(samples_dir / "001_97e79ec8ab510aad.txt"),
                                                 "-").stdout.splitlines()]
    assert both[0]["source_uri"] == "stdin" and both[0]["title"] == "Kim Jong Un to Visit Vladimir Putin for " \
        "Weapons Talks" and both[1]["source_uri"].endswith("001_97e79ec8ab510aad.txt")
    assert json.loads(extract(b" \n", "-").stdout)["error"] == ["empty input"]
    refused = extract(b"x", "-", "--url", "ftp://news.example/a")
    assert refused.returncode == 2 and b"--url: only http and https URLs" in refused.stderr
    alone = extract(b"x", str(samples_dir), "--url", url)
    assert alone.returncode == 2 and b"give - among the PATHS" in alone.stderr


def test_extract_keeps_to_the_time_limit_and_goes_on(samples_dir: Path, tmp_path: Path):
    """A page that would take minutes to clean (one element with 100,000 attributes: libxml2's parse and
    htmldate's search take time in their square) is reported as timed out, as `ingest` quarantines it,
    and the next file is still cleaned."""
    attributes = " ".join(f'data-a{i}="v"' for i in range(100_000))
    (tmp_path / "a_slow.html").write_text(f"<html><body><div {attributes}>text</div><p>{'Words. ' * 40}</p>")
    shutil.copy(samples_dir / "002_e0f0b5de1e8e843f.txt", tmp_path / "b_story.txt")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "extract", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NEWSFLOW_DOCUMENT_TIME_LIMIT": "2"})
    assert proc.returncode == 0, proc.stderr
    slow, story = [json.loads(line) for line in proc.stdout.splitlines()]
    assert slow["error"] == ["timed out after 2 s"] and slow["source_uri"].endswith("a_slow.html")
    assert story["title"] == "Kim Jong Un to Visit Vladimir Putin for Weapons Talks"


def test_cleaning_ahead_only_when_a_file_is_not_stored_as_it_is(samples_dir: Path, tmp_path: Path):
    """The CLI warms the cleaning up while Prefect's server boots only when the run will clean something:
    not on a rerun over unchanged files (whose time is mostly that boot)."""
    import os
    import shutil
    import time

    from newsflow.cli import _cleaning_ahead
    from newsflow.settings import work_db_path
    from tasks import load as L
    from tasks.sources import discover, read_all
    from warehouse_helpers import load_docs

    folder = tmp_path / "src"
    shutil.copytree(samples_dir, folder)
    day_ago = time.time_ns() - 86_400 * 10**9  # settled files: the warehouse records their mtime
    for f in folder.iterdir():
        os.utime(f, ns=(day_ago, day_ago))
    files = discover([folder])
    db = tmp_path / "wh" / "news.duckdb"
    assert _cleaning_ahead(files, False, db)  # no warehouse yet
    con = L.connect(work_db_path(db))
    load_docs(con, list(read_all(files)))
    con.close()
    assert not _cleaning_ahead(files, False, db)  # a rerun
    assert not _cleaning_ahead([], False, db)
    assert _cleaning_ahead(files, True, db)  # URLs are always fetched
    os.utime(files[0], ns=(day_ago, day_ago + 10**9))  # one file changed since
    assert _cleaning_ahead(files, False, db)
    (folder / "new.txt").write_text("A new article arrives.\n\nIts body has a sentence or two.", encoding="utf-8")
    assert _cleaning_ahead(discover([folder]), False, db)


def test_the_run_collects_garbage_again_once_the_imports_are_frozen():
    import gc

    from newsflow import cli

    gc.disable()  # as `ingest` does while it imports
    try:
        cli._freeze_imports()
        assert gc.isenabled()  # a run without the collector would keep every reference cycle it makes
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_warehouse_that_cannot_be_opened_fails_the_run_in_one_line(samples_dir: Path, tmp_path: Path):
    """The CLI opens the warehouse early, while Prefect's server boots; when that fails, the flow still
    opens it itself and the run ends with the reason, exit status 1 and no traceback."""
    from newsflow.settings import work_db_path

    db = tmp_path / "news.duckdb"
    work_db_path(db).write_text("this is not a database", encoding="utf-8")
    proc = cli("ingest", str(samples_dir), "--db", str(db))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "error: the ingest run failed" in out and "not a valid DuckDB database file" in out
    assert "Traceback" not in out


def test_a_warehouse_in_a_folder_that_cannot_be_made_is_refused_in_one_line(samples_dir: Path, tmp_path: Path):
    """The run lock beside --db is the first thing a run writes: where it cannot be made (here a file
    stands where the folder would be; also a read-only folder), the run stops with exit status 2 and
    what to do, before any flow runs, not with a traceback."""
    (tmp_path / "exports").write_text("a file, not a folder\n", encoding="utf-8")
    db = tmp_path / "exports" / "news.duckdb"
    proc = cli("ingest", str(samples_dir), "--db", str(db))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert f"error: cannot create {db}.lock, the warehouse's run lock:" in " ".join(out.split()), out
    assert "choose another --db" in out and "Flow run" not in out and "Traceback" not in out, out


def test_report_and_schema_say_in_one_line_when_their_file_cannot_be_written(tmp_path: Path):
    from tasks.load import connect

    db = tmp_path / "news.duckdb"
    connect(str(db)).close()  # an empty warehouse
    (tmp_path / "exports").write_text("a file, not a folder\n", encoding="utf-8")
    cases = [(["report", "--db", str(db), "--out", str(tmp_path)], f"cannot write {tmp_path}: Is a directory; "
              "choose another --out"),
             (["schema", "--db", str(db), "--output", str(tmp_path / "exports" / "s.md")],
              f"cannot write {tmp_path / 'exports' / 's.md'}: File exists ({tmp_path / 'exports'}); "
              "choose another --output")]
    for args, said in cases:
        proc = cli(*args)
        out = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 2 and f"error: {said}" in out and "Traceback" not in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "news.duckdb"]  # no temporary file left


def test_runs_lists_a_warehouse_files_runs_newest_first(tmp_path: Path):
    """`newsflow runs` on a DuckDB file: each run's status, seconds and counts, newest first; a killed
    run (never finished) shows as running until the next run marks it."""
    import os
    import time

    from tasks.load import BatchCounts, connect, finish_run, start_run

    db = tmp_path / "news.duckdb"
    con = connect(db)
    finished = "5b0b6a3e-8f1d-4c2a-9e7b-2d4f6a8c0e13"  # a flow run id, shown whole to be looked up
    start_run(con, finished, None, "a", "9")
    finish_run(con, finished, "completed", 7, BatchCounts(new=5, updated=1, quarantined=1))
    time.sleep(0.01)
    start_run(con, "run-killed", None, "b", "9")
    con.close()
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "runs", "--db", str(db)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split("│")[1:-1] for line in proc.stdout.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row] for row in rows]
    assert [c[:2] for c in cells] == [["run-killed", "running"], [finished, "completed"]]
    assert cells[1][4:] == ["7", "5", "1", "0", "1"] and cells[0][3] == "-"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[1][2]), cells[1]
    negative = cli("runs", "--db", str(db), "--limit", "-1")
    assert negative.returncode == 2 and "greater than or equal to" in negative.stdout + negative.stderr
    missing = cli("runs", "--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "run `newsflow ingest` first" in missing.stdout + missing.stderr
    # While the first run loads the working file, the analyst copy is not there yet: said so, not "run ingest".
    shutil.copy(db, tmp_path / "first.work.duckdb")
    loading = cli("runs", "--db", str(tmp_path / "first.duckdb"))
    assert loading.returncode == 2 and "a first run is loading first.work.duckdb" in loading.stdout + loading.stderr


def test_maintain_on_a_duckdb_file_says_it_needs_a_lake_before_any_flow_runs():
    proc = cli("maintain")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "looks after a lake" in out and "--warehouse" in out
    assert "Flow run" not in out  # refused before Prefect starts


def test_reclean_of_a_missing_warehouse_file_says_so_and_creates_nothing(tmp_path: Path):
    missing = tmp_path / "typo.duckdb"
    proc = cli("reclean", "--db", str(missing))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and f"no warehouse at {missing}" in out and "newsflow ingest" in out
    assert "Flow run" not in out and list(tmp_path.iterdir()) == []



def test_since_takes_a_date_or_time_and_refuses_a_bare_number(tmp_path: Path):
    """--since is an ISO date or time, UTC unless it has an offset. A bare number was read as a Unix
    timestamp: `--since 2026` (meaning the year) selected everything since 1970 without a word."""
    from newsflow.cli import _since

    assert _since("2026-11-01") == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert _since("2026-11-01T06:00+02:00") == datetime(2026, 11, 1, 4, tzinfo=timezone.utc)
    for command in (["report", "--out", str(tmp_path / "r.html")], ["reclean"]):
        for value in ("2026", "-1", "yesterday"):
            proc = cli(*command, "--db", str(tmp_path / "news.duckdb"), "--since", value)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2, out
            assert "Invalid value for '--since'" in out and "is not a date or time" in out, out
    assert list(tmp_path.iterdir()) == []


def test_the_summary_prints_control_characters_from_sources_escaped(capsys):
    """A URL or reason from a hostile source (a sitemap, a web archive) reached the terminal with its
    escape sequences: ESC [2J cleared the operator's screen."""
    from newsflow.cli import print_summary

    url = "http://127.0.0.5/x\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED"
    print_summary({"db": "w.duckdb", "documents_seen": 1, "articles_new": 0, "articles_updated": 0,
                   "articles_unchanged": 0, "quarantined": 1, "segments_removed": 0, "seconds": 1.0,
                   "skipped": [(url, "refused: URL contains spaces or control characters")],
                   "quarantine": [(url, ["failed body_size: body has 5 characters"])]})
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert printed.count("x\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED: ") == 2, printed


def test_a_run_that_fills_the_disk_says_where_to_free_space(tmp_path: Path, capsys):
    """A full disk failed the run with "[Errno 28] No space left on device" and no file named (the raw
    store's writes name none), and DuckDB's errors ended in its native stack trace. The line now says
    where to free space and that a rerun completes the work."""
    import duckdb
    import typer

    from newsflow.cli import _run_fault
    from newsflow.config import resolve_settings

    settings = resolve_settings(db=str(tmp_path / "news.duckdb"))
    with pytest.raises(typer.Exit), _run_fault("ingest", settings):
        with open("/dev/full", "wb") as fh:  # the kernel's own ENOSPC
            fh.write(b"x")
            fh.flush()
    line = " ".join(capsys.readouterr().err.split())
    assert line.startswith("error: the ingest run failed: OSError: [Errno 28] No space left on device. "
                           f"Free space where the warehouse ({tmp_path}), its raw store "
                           f"({tmp_path / 'news.archive'}) and the temporary folder ({tempfile.gettempdir()}, "
                           "TMPDIR) live, then run it again"), line
    with pytest.raises(typer.Exit), _run_fault("ingest", settings):
        raise duckdb.FatalException('FATAL Error: Could not write file "x": No space left on device\n\n'
                                    "Stack Trace:\n\n/lib/_duckdb.so(_ZN6duckdb9ExceptionC2E+0x3a) [0x7f]")
    line = " ".join(capsys.readouterr().err.split())
    assert 'Could not write file "x": No space left on device. Free space' in line and "_ZN6duckdb" not in line
    with pytest.raises(typer.Exit), _run_fault("ingest", settings):
        raise OSError(13, "Permission denied")
    assert "Free space" not in capsys.readouterr().err


def test_a_configured_source_with_an_empty_drop_folder_reads_its_other_locations(tmp_path: Path):
    """One glob of a files source matching nothing yet (an empty drop folder) failed the whole source,
    exit 2 (and each scheduled run of it), none of its other locations read."""
    from newsflow.settings import SAMPLES_DIR

    (tmp_path / "inbox").mkdir()
    (tmp_path / "newsflow.toml").write_text(f"""
[[sources]]
name = "wire"
kind = "files"
locations = ["{SAMPLES_DIR}", "inbox/*.jsonl"]
""", encoding="utf-8")
    proc = cli("ingest", "--source", "wire", "--config", str(tmp_path / "newsflow.toml"),
               "--db", str(tmp_path / "news.duckdb"))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, out
    assert f"{tmp_path / 'inbox' / '*.jsonl'}: the pattern matches no file (yet)" in out, out
    import duckdb

    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from documents").fetchone() == (len(list(SAMPLES_DIR.iterdir())),)


def test_a_raw_store_folder_that_is_a_file_is_refused_before_the_run(tmp_path: Path):
    """NEWSFLOW_ARCHIVE_DIR naming a file was found only when the first batch was stored, after its
    cleaning and validation, and left a new warehouse holding one failed run."""
    (tmp_path / "store").write_text("a file")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", "--db", str(tmp_path / "news.duckdb")],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NEWSFLOW_ARCHIVE_DIR": str(tmp_path / "store")})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, out
    assert f"the raw store's folder {tmp_path / 'store'} is a file; set NEWSFLOW_ARCHIVE_DIR" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_a_full_temporary_folder_fails_the_run_and_quarantines_nothing(tmp_path: Path):
    """With TMPDIR full, every cleaning process failed to unpack the language model there: each document
    was quarantined ("OSError: [Errno 28] No space left on device"), the run ended completed, and once
    the space was back a rerun called the documents unchanged and loaded none of them. (16 KB: room for
    the small file with which Python's tempfile tries a folder, not for the model.)"""
    from newsflow.settings import SAMPLES_DIR

    from disk_helpers import small_tmpfs

    db = tmp_path / "news.duckdb"
    with small_tmpfs(tmp_path / "tmp", "16k") as full:
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", str(SAMPLES_DIR), "--db", str(db)],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "TMPDIR": str(full)})
        out = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 1, out
        assert "a cleaning process cannot work: OSError: [Errno 28] No space left on device" in out, out
        assert f"the temporary folder ({full}, TMPDIR)" in out, out
    proc = cli("ingest", str(SAMPLES_DIR), "--db", str(db))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from articles").fetchone() == (len(list(SAMPLES_DIR.iterdir())),)
        assert con.execute("select count(*) from quarantine").fetchone() == (0,)


def test_a_run_that_loses_its_lake_catalog_says_so_without_the_password(tmp_path: Path, capsys):
    """DuckDB's error when the catalog stops answering mid-run quotes the connection string, password
    and all, and points into newsflow's SQL ("LINE 2: ... ^"), and the line said nothing to do."""
    import duckdb
    import typer

    from newsflow.cli import _run_fault
    from newsflow.config import resolve_settings

    settings = resolve_settings(warehouse="ducklake:postgres:dbname=news host=127.0.0.1 password=hunter2",
                                db=str(tmp_path / "news.duckdb"))
    with pytest.raises(typer.Exit), _run_fault("ingest", settings):
        raise duckdb.IOException(
            'IO Error: Failed to query most recent snapshot for DuckLake: Unable to connect to Postgres at '
            '"dbname=news host=127.0.0.1 password=hunter2": connection to server at "127.0.0.1", port 5432 '
            "failed: Connection refused\n\tIs the server running on that host?\n\n\nLINE 2: \tSELECT * FROM "
            "postgres_query('__ducklake_metadata_lake',\n                      ^")
    line = " ".join(capsys.readouterr().err.split())
    assert "hunter2" not in line and "password=***" in line and "LINE 2" not in line, line
    assert "Is the server running on that host? The lake's PostgreSQL catalog stopped answering; once it " \
           "answers again, run it again: it completes what this run left undone" in line, line


def test_serve_says_when_its_port_is_taken_or_impossible_or_it_has_no_source(tmp_path: Path):
    """A port held by something other than a Prefect server ended in "prefect server exited with code
    1; see <log>"; --port 0 waited for a server on port 0 until killed, 70000 failed in the server."""
    import socket

    with socket.socket() as held, socket.socket() as free:
        held.bind(("127.0.0.1", 0))
        held.listen()
        free.bind(("127.0.0.1", 0))
        port, report_port = held.getsockname()[1], free.getsockname()[1]
        free.close()
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "serve", "--db", str(tmp_path / "news.duckdb"),
                               "--port", str(port), "--report-port", str(report_port)],
                              cwd=REPO, capture_output=True, text=True, timeout=120,
                              env={**env, "PREFECT_HOME": str(tmp_path / "prefect")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"127.0.0.1:{port} is in use by something that is not a Prefect server" in proc.stderr, proc.stderr
    for option, port in (("--port", "0"), ("--port", "70000"), ("--report-port", "0")):
        proc = cli("serve", "--db", str(tmp_path / "news.duckdb"), option, port)
        assert proc.returncode == 2 and f"Invalid value for '{option}'" in proc.stdout + proc.stderr
    (tmp_path / "empty.toml").write_text("[fetch]\nrespect_robots = true\n", encoding="utf-8")
    proc = cli("serve", "--config", str(tmp_path / "empty.toml"), "--db", str(tmp_path / "news.duckdb"))
    assert proc.returncode == 2 and "empty.toml: no [[sources]] to serve; add one" in proc.stderr  # a traceback


def test_more_sources_than_a_run_takes_say_to_quote_the_pattern(tmp_path: Path):
    """`newsflow ingest data/*.txt` unquoted: the shell gave thousands of paths, and the run failed in
    Prefect's API with a 422 whose body quoted them (flow run parameters are capped at 512 KB)."""
    sources = [str(tmp_path / "data" / f"page-with-a-fairly-long-name-{i:06d}.txt") for i in range(9000)]
    proc = cli("ingest", *sources, "--db", str(tmp_path / "news.duckdb"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (f"9,000 SOURCES are too many for one run's parameters (Prefect takes 524,288 bytes): quote a pattern "
            f"so that newsflow expands it, e.g. '{tmp_path / 'data'}/*.txt', or give the folder") in proc.stderr
    assert "Give a file, a folder" not in proc.stderr  # the generic hint is for a SOURCE that names nothing
    assert list(tmp_path.iterdir()) == []
    urls = [f"https://site{i}.example/news/a-fairly-long-article-name-{i:06d}.html" for i in range(9000)]
    proc = cli("ingest", *urls, "--db", str(tmp_path / "news.duckdb"))
    assert proc.returncode == 2 and "list the URLs as a source's locations in newsflow.toml" in proc.stderr

def test_analyst_commands_say_in_one_line_when_db_is_not_a_warehouse(tmp_path: Path):
    """runs, report, search, sql and schema read the analyst copy: a DuckDB file without newsflow's tables,
    a junk file or an empty one is named for what it is, with exit status 2 and no traceback."""
    import duckdb

    empty_duckdb = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty_duckdb)).close()
    junk, zero = tmp_path / "junk.duckdb", tmp_path / "zero.duckdb"
    junk.write_bytes(b"junk")
    zero.write_bytes(b"")
    said = {empty_duckdb: "is a DuckDB database but not a newsflow warehouse",
            junk: "is not a DuckDB database file", zero: "is an empty file, not a DuckDB database file"}
    for command in (["runs"], ["report"], ["search", "train"], ["sql", "-c", "select 1"], ["schema", "-o", "-"]):
        for path, what in said.items():
            proc = cli(*command, "--db", str(path))
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2, (command, path, out)
            assert f"error: {path} {what}" in out and "newsflow ingest --db" in out, (command, out)
            assert "Traceback" not in out and len(out.strip().splitlines()) == 1, (command, out)
    assert junk.read_bytes() == b"junk" and zero.read_bytes() == b""  # read, never written


def test_analyst_commands_say_in_one_line_when_blocks_read_after_open_are_damaged(tmp_path: Path):
    """A warehouse that opens but whose table data is damaged (checksums fail when a query reads it)
    ended runs, report and search in a traceback; it is one line and exit status 2, as at open."""
    import duckdb

    from warehouse_helpers import samples_warehouse

    (tmp_path / "template").mkdir()
    db = samples_warehouse(tmp_path, tmp_path / "template")
    with duckdb.connect(str(db), read_only=True) as con:
        block_size = con.execute("select block_size from pragma_database_size()").fetchone()[0]
        tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                             "where database_name = current_database()").fetchall()
        blocks = {t: {b for (b,) in con.execute(f"select block_id from pragma_storage_info('{t}') where block_id >= 0")
                      .fetchall()} for (t,) in tables}
    kept = blocks.pop("main.schema_migrations")  # what opening reads stays whole
    with db.open("r+b") as f:
        for block in set().union(*blocks.values()) - kept:
            f.seek(3 * 4096 + block * block_size + 8)  # past the file's headers and the block's checksum
            f.write(b"\xff" * 64)
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("select 1 from schema_migrations").fetchall()
    for command in (["runs"], ["report", "--out", str(tmp_path / "r.html")], ["search", "train"]):
        proc = cli(*command, "--db", str(db))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2 and f"error: cannot read {db}: " in out and "Corrupt database file" in out, out
        assert "Traceback" not in out and len(out.strip().splitlines()) == 1, (command, out)


def test_a_db_that_cannot_be_reached_or_names_a_missing_folder_is_one_line(tmp_path: Path):
    """A --db that is a loop of symbolic links, or whose name is too long, ended every command in a
    traceback; one ending in "/" made a warehouse file named like the folder it meant."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    cases = {str(loop): "it is a loop of symbolic links", str(tmp_path / ("x" * 300 + ".duckdb")): "longer than"}
    for command in (["runs"], ["search", "train"], ["sql", "-c", "select 1"], ["ingest"]):
        for db, what in cases.items():
            proc = cli(*command, "--db", db)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2 and f"error: cannot reach {db}" in out and what in out, (command, out)
            assert len(out.strip().splitlines()) == 1, (command, out)
    proc = cli("ingest", "--db", f"{tmp_path / 'new'}/")
    assert proc.returncode == 2 and f"e.g. {tmp_path / 'new' / 'news.duckdb'}" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop"]


def test_an_empty_source_or_warehouse_is_refused_in_one_line(tmp_path: Path):
    """`ingest --source "$NAME"` with NAME unset loaded the bundled samples; `--warehouse ""` was ignored."""
    db = str(tmp_path / "news.duckdb")
    for command, option in ((["ingest", "--source", "", "--db", db], "--source"),
                            (["ingest", "--warehouse", " ", "--db", db], "--warehouse"),
                            (["runs", "--db", ""], "--db")):
        proc = cli(*command)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2 and f"error: an empty {option} names nothing (an unset shell variable?)" in out
        assert len(out.strip().splitlines()) == 1, out
    assert list(tmp_path.iterdir()) == []


def test_a_limit_past_what_a_listing_takes_is_an_argument_error(tmp_path: Path):
    """`search -n 9223372036854775808` (or `runs -n`) ended in a DuckDB conversion traceback."""
    for command in (["search", "train"], ["runs"]):
        proc = cli(*command, "-n", "9" * 20, "--db", str(tmp_path / "news.duckdb"))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2 and "Invalid value for '--limit'" in out and "100000" in out, out


def test_a_dask_address_without_the_dask_runner_is_an_argument_error(tmp_path: Path):
    """--dask-address alone ran the batches in threads here and ignored the cluster without a word."""
    proc = cli("ingest", "data/samples", "--db", str(tmp_path / "news.duckdb"), "--dask-address", "tcp://127.0.0.1:1")
    assert proc.returncode == 2 and "--dask-address is for --task-runner dask (this run's is thread)" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_dask_address_that_names_no_scheduler_is_refused_before_the_run(tmp_path: Path):
    """A closed port waited 30 s for the connection, a malformed address failed with a ValueError, both
    after the server started and a failed run was recorded; an empty one started a local cluster."""
    import socket

    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    cases = {f"tcp://127.0.0.1:{closed}": f"no Dask scheduler answers at tcp://127.0.0.1:{closed}",
             "tcp://127.0.0.1:99999": "is not a Dask scheduler's address",
             "notanaddress": "is not a Dask scheduler's address",
             "http://127.0.0.1:8786": "is not a Dask scheduler's address",
             "": "an empty --dask-address names nothing"}
    for address, said in cases.items():
        proc = cli("ingest", "data/samples", "--db", str(tmp_path / "news.duckdb"), "--task-runner", "dask",
                   "--dask-address", address)
        assert proc.returncode == 2 and said in proc.stderr, (address, proc.stderr)
        assert "e.g. tcp://" in proc.stderr or not address
    assert list(tmp_path.iterdir()) == []


def test_workers_below_one_is_an_argument_error(tmp_path: Path):
    """--workers 0 or -1 is refused while the arguments are read (exit status 2), not accepted (0 meant
    one per core) or failed at run time by the task runner."""
    for command in (["ingest", str(tmp_path / "none.txt"), "--db", str(tmp_path / "news.duckdb")],
                    ["eval", str(tmp_path)]):
        for workers in ("0", "-1"):
            proc = cli(*command, "--workers", workers)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2, out
            assert "Invalid value for '--workers'" in out and "greater than or equal to 1" in out, out
    assert list(tmp_path.iterdir()) == []


def test_ingest_and_reclean_refuse_a_db_file_that_is_not_a_warehouse(samples_dir: Path, tmp_path: Path):
    """A run swaps its analyst copy onto --db: another DuckDB database or a text file there is refused
    with exit status 2 before any flow runs, and left as it was."""
    import duckdb

    other = tmp_path / "mydata.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table precious as select 42 as x")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    kept = {p: p.read_bytes() for p in (other, notes)}
    said = {other: "is a DuckDB database but not a newsflow warehouse", notes: "is not a DuckDB database file"}
    for path, what in said.items():
        for command in (["ingest", str(samples_dir)], ["reclean"]):
            proc = cli(*command, "--db", str(path))
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2, out
            assert f"error: {path} {what}" in out and "choose another --db, or move the file" in out, out
            assert "Flow run" not in out and "Traceback" not in out
    assert {p: p.read_bytes() for p in kept} == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydata.duckdb", "notes.txt"]  # no work file, no lock


def test_the_summary_says_what_a_run_limit_left_for_the_next_runs():
    """Items a source's max_items turned away were counted only in the log; the next runs fetch them."""
    from newsflow.cli import out, print_summary

    summary = {"db": "news.duckdb", "documents_seen": 5, "articles_new": 5, "articles_updated": 0,
               "articles_unchanged": 0, "quarantined": 0, "segments_removed": 0, "seconds": 1.0,
               "quarantine": [], "fetch": {"fetched": 5, "skipped_limit": 3}}
    with out.capture() as captured:
        print_summary(summary)
    assert "3 item(s) or sitemap(s) over the run's limit (the source's max_items, 50 sitemaps): left for the " \
           "next runs" in " ".join(captured.get().split())


def test_the_fetch_line_tells_unanswered_requests_from_what_was_quarantined():
    """"1 URLs answered, 0 failed; 1 not a readable ... feed" read as a contradiction, and a third kind of
    failure was left out."""
    from newsflow.cli import _fetch_line

    hosts = {"a.example": [3, 2, 1, 0.1, 0.1], "b.example": [1, 1, 0, 0.1, 0.1]}
    failures = {"HTTP 404": 1, "not a readable RSS or Atom feed: no feed entries": 1, "timed out": 1}
    assert _fetch_line(hosts, failures) == (
        "Fetched from 2 host(s): 3 URLs answered, 1 unanswered; quarantined 3: 1 HTTP 404; "
        "1 not a readable RSS or Atom feed: no feed entries; 1 timed out")
    many = {f"reason {n}": 7 - n for n in range(7)}
    assert _fetch_line(hosts, many, kinds=2).endswith("quarantined 28: 7 reason 0; 6 reason 1; and 5 more kind(s)")
    assert _fetch_line(hosts, {}) == "Fetched from 2 host(s): 3 URLs answered, 1 unanswered"
