"""The lake backend (tasks/lake.py) on a real PostgreSQL catalog: the same SQL as the file backend,
several writers at once, a reader never blocked and never shown half a batch, SIGKILL then rerun.

The writers are real `newsflow ingest` processes against one Prefect server; the reader is a
separate process counting throughout. Contents are compared with one sequential run on a DuckDB file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import psycopg
import pytest

from ingest_harness import (archived, contents_of, flow_run_state, ingest_cmd, run_ingest, warehouse_contents,
                            write_corpus)
from newsflow.settings import REPO_ROOT, Settings
from tasks.lake import LakeWarehouse, connect_lake, open_lake
from tasks.lake_sql import is_upsert, lake_migration, primary_keys, upsert_as_merge
from tasks.load import archive_config_of, migrations, start_run
from tasks.run_leases import RunLease, catalog_conninfo, dead_runs
from tasks.sql import statement, transaction
from tasks.warehouse import Warehouse
from warehouse_helpers import quarantine_left_after_fixes

# One snapshot per poll (one statement): counts, duplicates, and articles without their document or
# story (half a batch would show as those).
READER = """
import json, os, sys, time
from tasks.lake import LakeUnavailable, open_lake
out = open(sys.argv[3], "w")
con = None
while not os.path.exists(sys.argv[2]):
    if con is None:  # the writers have not created the lake yet
        try:
            con = open_lake(sys.argv[1], read_only=True)
        except LakeUnavailable:
            time.sleep(0.1)
            continue
    try:
        row = con.execute('''select
        (select count(*) from articles), (select count(distinct article_id) from articles),
        (select count(*) from documents), (select count(distinct document_id) from documents),
        (select count(*) from articles a anti join documents d using (document_id)),
        (select count(*) from articles a anti join story_articles s using (article_id)),
        (select count(*) from story_articles), (select count(distinct article_id) from story_articles)
    ''').fetchone()
    except Exception as exc:  # the tables not migrated yet: wait; anything else fails the reader
        if "does not exist" not in str(exc):
            raise
        time.sleep(0.1)
        continue
    out.write(json.dumps(row) + "\\n")
    out.flush()
    time.sleep(0.05)
"""


# -- the lake's SQL, derived from the file backend's ----------------------------------------------------

def test_keys_and_lake_migrations_come_from_the_same_files():
    texts = [p.read_text(encoding="utf-8") for _v, p in migrations()]
    keys = primary_keys(texts)
    assert keys["articles"] == ["article_id"]
    assert keys["seen_items"] == ["source", "item_url"]
    assert keys["validation_results"] == ["run_id", "expectation"]
    assert "mentions" not in keys
    for text in texts:
        lake = lake_migration(text)
        assert "primary key" not in lake.lower()
        assert lake.count("create table") == text.count("create table")
    con = duckdb.connect()  # the stripped text is still valid SQL
    con.execute("create table schema_migrations (version integer, name varchar, applied_at timestamptz)")
    for text in texts:
        con.execute(lake_migration(text))



def test_a_lake_that_cannot_be_reached_or_is_not_on_postgresql_says_so_in_one_line(tmp_path):
    """PostgreSQL's connection error spans lines, so the CLI's one error line was three; a catalog in a
    DuckDB or SQLite file (one writer at a time) failed on a missing extension, advising PostgreSQL."""
    from newsflow.config import ConfigError, resolve_settings
    from tasks.lake import LakeUnavailable

    with pytest.raises(LakeUnavailable) as refused:
        open_lake("ducklake:postgres:dbname=news host=127.0.0.1 port=1 password=hunter2", str(tmp_path / "data") + "/")
    assert "\n" not in str(refused.value) and "Connection refused" in str(refused.value)
    assert "hunter2" not in str(refused.value) and "password=***" in str(refused.value)  # DuckDB quotes it
    assert str(refused.value).endswith("check that it runs and takes connections from this machine at the host "
                                       "and port given"), str(refused.value)  # not an extension to install
    for url in ("ducklake:sqlite:/tmp/catalog.sqlite", "ducklake:/tmp/catalog.ducklake",
                "ducklake:mysql:db=news host=h password=hunter2"):
        with pytest.raises(ConfigError, match="newsflow's lake keeps its catalog on PostgreSQL") as refused:
            resolve_settings(warehouse=url)
        assert "hunter2" not in str(refused.value)


def test_a_catalog_password_is_shown_nowhere(monkeypatch):
    """`newsflow settings` printed --warehouse with its password; passed as the flow's parameter, it was
    stored by the Prefect API and shown in its UI. The CLI hands it to the flow through the environment."""
    from newsflow.cli import _flow_warehouse
    from newsflow.settings import masked

    for given in ("dbname=news password=hunter2 host=h", "dbname=news password = 'a b c' host=h",
                  'at "dbname=news password=hunter2": refused'):
        assert "hunter2" not in masked(given) and "a b c" not in masked(given) and "password=***" in masked(given)
    assert masked("dbname=news host=h") == "dbname=news host=h"
    from tasks.shell import greeting

    assert "password=*** host=h attached read-only" in greeting("ducklake:postgres:password=x host=h", True)
    url = "ducklake:postgres:dbname=news host=127.0.0.1 password=hunter2"
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", "")  # recorded, so the value the CLI sets is undone after
    assert _flow_warehouse(url) is None and os.environ["NEWSFLOW_WAREHOUSE"] == url  # the settings below read it
    assert _flow_warehouse("ducklake:postgres:dbname=news host=h") == "ducklake:postgres:dbname=news host=h"
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "settings"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NEWSFLOW_LAKE_DATA_PATH": "/tmp/lake/",
                                                       "COLUMNS": "300"})
    assert proc.returncode == 0 and "password=***" in proc.stdout and "hunter2" not in proc.stdout, proc.stdout

def test_a_catalog_that_stops_answering_is_reported_without_its_password(postgres, lake, tmp_path):
    """Once the catalog refuses a writer mid-run, DuckDB quotes the connection string whole in every
    error, which went to the CLI, Prefect's logs and the flow run's state."""
    import asyncio

    import asyncpg

    url = lake["NEWSFLOW_WAREHOUSE"] + " password=hunter2"  # trust authentication: the server asks for none
    database = url.split("dbname=")[1].split()[0]
    con = connect_lake(url, lake["NEWSFLOW_LAKE_DATA_PATH"])

    async def refuse(allow: bool) -> None:
        admin = await asyncpg.connect(host="127.0.0.1", port=postgres.port, user="postgres", database="postgres")
        try:
            await admin.execute(f'alter database "{database}" allow_connections {str(allow).lower()}')
            if not allow:
                await admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1",
                                    database)
        finally:
            await admin.close()

    assert con.execute("select count(*) from articles").fetchone() == (0,)
    from tasks.report import report_page

    page, articles = report_page(url)  # its header names the warehouse
    assert articles == 0 and "hunter2" not in page and "password=***" in page
    asyncio.run(refuse(False))
    try:
        errors = []
        for _ in range(3):
            with pytest.raises(duckdb.Error) as failed:
                con.execute("select count(*) from articles")
            errors.append(failed.value)
        assert any("password=***" in str(e) for e in errors), [str(e) for e in errors]  # it was quoted
        assert not any("hunter2" in str(e) or "hunter2" in repr(e.__context__) for e in errors)
        assert all(isinstance(e, duckdb.Error) for e in errors)
    finally:
        asyncio.run(refuse(True))
        con.close()


def _lake_as(postgres, lake, role: str, password: str | None = None) -> str:
    """The lake's URL for a new role `role` (asked for `password`, when given) with SELECT on its catalog."""
    connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"]).close()  # the catalog's tables
    postgres.create_role(role, password, grant_on=lake["NEWSFLOW_WAREHOUSE"].split("dbname=")[1].split()[0])
    return lake["NEWSFLOW_WAREHOUSE"].replace("user=postgres", f"user={role}" + (f" password={password}"
                                                                                  if password else ""))


def _without_pgpassword(**env: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "PGPASSWORD"}, "COLUMNS": "200", **env}


def test_sql_keeps_the_catalog_password_out_of_the_shells_argv(postgres, lake):
    """`newsflow sql` with password= in the setting started the DuckDB CLI with the password in its argv,
    which `ps` shows every user of the machine for the whole session."""
    from newsflow.settings import password_apart

    assert password_apart("ducklake:postgres:dbname=n password='a b' host=h") == ("ducklake:postgres:dbname=n host=h",
                                                                                   "a b")
    assert password_apart("ducklake:postgres:password=x host=h") == ("ducklake:postgres:host=h", "x")
    assert password_apart("ducklake:postgres:host=h") == ("ducklake:postgres:host=h", None)
    url = _lake_as(postgres, lake, "analyst_argv", "hunter2")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("newsflow")), "sql"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_without_pgpassword(NEWSFLOW_WAREHOUSE=url))
    try:
        deadline = time.monotonic() + 120
        while True:  # the CLI replaces the newsflow process: same pid
            argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            if Path(os.fsdecode(argv[0])).name == "duckdb":
                break
            assert proc.poll() is None and time.monotonic() < deadline, argv
            time.sleep(0.05)
        assert not any(b"hunter2" in arg for arg in argv) and any(b"attach" in arg for arg in argv), argv
        shown, _ = proc.communicate("select 40 + 2 as answer, count(*) as n from articles;\n", timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "42" in shown and "hunter2" not in shown, shown


def _analyst_commands(tmp_path: Path) -> list[tuple[list[str], str | None]]:
    """Each analyst command on a lake (argv after `newsflow`, its stdin): sql with -c and interactive,
    runs, search, report."""
    db = str(tmp_path / "analyst" / "news.duckdb")
    return [(["sql", "-c", "select count(*) from articles"], None), (["sql"], "select 42 as still_open;\n"),
            (["runs"], None), (["search", "online", "--db", db], None), (["report", "--db", db], None)]


def _fails_in_one_line(args: list[str], stdin: str | None, env: dict[str, str], says: str) -> None:
    proc = subprocess.run([str(Path(sys.executable).with_name("newsflow")), *args], input=stdin, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "1000", **env})
    assert proc.returncode == 2 and "still_open" not in proc.stdout, (args, proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and says in proc.stderr, (args, proc.stderr)


def _run_fails_saying(args: list[str], env: dict[str, str], says: str) -> None:
    """A flow run (its log lines on stderr before) failed, its last line the error with the advice."""
    proc = subprocess.run([str(Path(sys.executable).with_name("newsflow")), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "1000", **env})
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and last.startswith("error: ") and says in last, (args, proc.stdout, proc.stderr)


def test_analyst_commands_on_a_lake_they_cannot_attach_say_so_in_one_line(lake, tmp_path):
    """`newsflow sql` on a lake it could not attach printed DuckDB's raw error and two misleading follow-ups
    (exit 1), or without -c opened the shell on an empty database, its banner saying the lake was attached
    (exit 0); `newsflow search` gave DuckDB's text without the advice `runs` gives."""
    bad = lake["NEWSFLOW_WAREHOUSE"].replace("dbname=", "dbname=nosuch")
    for args, stdin in _analyst_commands(tmp_path):
        _fails_in_one_line(args, stdin, {**lake, "NEWSFLOW_WAREHOUSE": bad},
                           "does not exist); create it on that server (createdb, createuser), or correct the setting")


def _lake_with_an_article(lake, tmp_path: Path, finish: bool = False) -> None:
    """One run that loaded one article, "Body text.", left running or, with `finish`, completed as having
    seen 7 documents (5 of them unchanged)."""
    from test_archive import article, local

    s = Settings(db=tmp_path / "writer" / "news.duckdb", warehouse=lake["NEWSFLOW_WAREHOUSE"],
                 lake_data_path=lake["NEWSFLOW_LAKE_DATA_PATH"])
    writer = Warehouse.open(s.db_path, s)
    try:
        writer.start_run("r1", None, "test", "v")
        counts = writer.load_batch("r1", "v", [local(1)], [article(local(1))], [])
        if finish:
            counts.unchanged = 5
            writer.finish_run("r1", "completed", 7, counts)
    finally:
        writer.close()


def test_runs_on_a_lake_shows_the_columns_it_shows_on_a_file(lake, tmp_path):
    """The README lists seconds, documents seen and unchanged among `newsflow runs`' columns; on a lake
    they were left out, though its runs table holds them."""
    _lake_with_an_article(lake, tmp_path, finish=True)
    proc = subprocess.run([str(Path(sys.executable).with_name("newsflow")), "runs"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **lake, "COLUMNS": "300"})
    assert proc.returncode == 0, proc.stderr
    header, row = ([c.strip() for c in next(ln for ln in proc.stdout.splitlines() if ln.startswith(bar)).split(bar)[1:-1]]
                   for bar in ("┃", "│"))
    shown = dict(zip(header, row))
    assert header[:9] == ["run", "status", "started (UTC)", "seconds", "seen", "new", "updated", "unchanged",
                          "quarantined"], proc.stdout
    assert (shown["status"], shown["seen"], shown["new"], shown["unchanged"]) == ("completed", "7", "1", "5"), shown
    assert float(shown["seconds"]) >= 0 and shown["last snapshot"].isdigit(), shown


def test_searches_on_one_mirror_wait_for_each_other_and_a_broken_mirror_is_rebuilt(lake, tmp_path):
    """Two `newsflow search` on one mirror at once: the second died with a 39-line traceback ("Conflicting
    lock is held"). A mirror file that is no DuckDB file: a traceback ("not a valid DuckDB database file"),
    though it is a cache newsflow builds."""
    from tasks.lake import LakeUnavailable, lake_search_index

    _lake_with_an_article(lake, tmp_path)
    db = tmp_path / "analyst" / "news.duckdb"
    mirror = db.with_name("news.lake-search.duckdb")
    db.parent.mkdir()
    mirror.write_bytes(b"garbage\n")
    search = [str(Path(sys.executable).with_name("newsflow")), "search", "body", "--db", str(db)]
    env = {**os.environ, **lake}
    proc = subprocess.run(search, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and "1. T" in proc.stdout, proc.stdout + proc.stderr
    assert "is not a DuckDB file: building the search index again" in proc.stderr
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(mirror)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(LakeUnavailable, match="another `newsflow search` has held .* try again once it ends"):
            lake_search_index(lake["NEWSFLOW_WAREHOUSE"], mirror, lambda line: None, wait_s=0.5)
        second = subprocess.Popen(search, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert "waiting for another `newsflow search` to finish with" in second.stderr.readline()
        holder.stdin.close()
        holder.wait(timeout=60)
        shown, errors = second.communicate(timeout=120)
    finally:
        holder.kill()
    assert second.returncode == 0 and "1. T" in shown and not errors, shown + errors


def test_analyst_commands_on_a_lake_whose_data_folder_is_missing_say_so_in_one_line(lake, tmp_path):
    """An unmounted share (the catalog still answering): every query reading a table failed on a Parquet
    file, `runs`, `search` and `report` with tracebacks of 28-80 lines (exit 1)."""
    _lake_with_an_article(lake, tmp_path)
    data = Path(lake["NEWSFLOW_LAKE_DATA_PATH"])
    data.rename(tmp_path / "unmounted")
    for args, stdin in _analyst_commands(tmp_path):
        _fails_in_one_line(args, stdin, lake, f"{data}/, is not reachable from this machine: mount the shared folder")


def test_a_writer_on_a_data_folder_missing_or_unwritable_here_is_told_in_one_line(lake, tmp_path, samples_dir):
    """`ingest` failed with DuckDB's "IO Error: Cannot open file .../writer_turns/ducklake-....parquet", and
    `maintain` retried that for ~35 s; only the analyst commands checked the folder."""
    _lake_with_an_article(lake, tmp_path)
    data = Path(lake["NEWSFLOW_LAKE_DATA_PATH"])
    ingest = ["ingest", str(samples_dir), "--db", str(tmp_path / "w2" / "news.duckdb")]
    data.rename(tmp_path / "unmounted")
    _run_fails_saying(ingest, {**lake, "NEWSFLOW_ARCHIVE_DIR": str(tmp_path / "raw")},
                      f"{data}/, is not reachable from this machine: mount the shared folder")
    (tmp_path / "unmounted").rename(data)
    table = data / "main" / "articles"
    if subprocess.run(["chattr", "+i", str(table)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (an immutable folder, which even root cannot write) is not supported here")
    try:
        for args in (ingest, ["maintain"]):
            started = time.monotonic()
            _run_fails_saying(args, {**lake, "NEWSFLOW_ARCHIVE_DIR": str(tmp_path / "raw")},
                              f"{data}/, cannot be written from here ({table}): give this machine's user write access")
            assert time.monotonic() - started < 30, args  # not retried: it fails the same until mended
    finally:
        subprocess.run(["chattr", "-i", str(table)], check=True)


def test_an_analyst_role_without_grants_is_told_which_to_ask_for(postgres, lake, tmp_path):
    """A role without SELECT on the catalog's tables got "Current transaction is aborted ... check that its
    PostgreSQL server answers, and pip install ..."; PostgreSQL's own log said "permission denied"."""
    url = _lake_as(postgres, lake, "analyst_granted")  # the grant docs/lake.md gives is enough
    _lake_with_an_article(lake, tmp_path)
    proc = subprocess.run([str(Path(sys.executable).with_name("newsflow")), "sql", "-c", "select count(*) from articles"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **lake, "NEWSFLOW_WAREHOUSE": url})
    assert proc.returncode == 0 and "1" in proc.stdout, proc.stdout + proc.stderr
    postgres.create_role("analyst_nogrants")
    for args, stdin in _analyst_commands(tmp_path):
        _fails_in_one_line(args, stdin, {**lake, "NEWSFLOW_WAREHOUSE": url.replace("analyst_granted", "analyst_nogrants")},
                           "permission denied for table ducklake_metadata); grant it reading them, in the catalog's "
                           "database: grant select on all tables in schema public to analyst_nogrants")


def test_upserts_become_merges_that_behave_like_them():
    sql = "insert into t select k, v from s on conflict (k) do update set v = excluded.v + t.v"
    merge = upsert_as_merge(sql, ["k", "v"], ["k"])
    assert merge.startswith("merge into t using (select * from (select k, v from s) as excluded(k, v))")
    con = duckdb.connect()
    con.execute("create table s as select * from (values ('a', 1), ('b', 2)) x(k, v)")
    con.execute("create table t as select 'a' as k, 10 as v")
    con.execute(merge)
    assert con.execute("select * from t order by k").fetchall() == [("a", 11), ("b", 2)]
    replace = upsert_as_merge("insert or replace into t (k, v) values (?, ?)", ["k", "v"], ["k"])
    con.execute(replace, ["b", 7])
    con.execute(upsert_as_merge("insert into t values (?, ?) on conflict do nothing", ["k", "v"], ["k"]), ["a", 0])
    assert con.execute("select * from t order by k").fetchall() == [("a", 11), ("b", 7)]
    assert is_upsert(statement("upsert_articles")) and not is_upsert("select 1")
    with pytest.raises(ValueError, match="not an upsert"):
        upsert_as_merge("delete from t on conflict do nothing", ["k"], ["k"])


# -- on a real catalog ------------------------------------------------------------------------------------

def _derived(con) -> dict[str, list[tuple]]:
    """The enrichment rows two equivalent runs share: mentions, and the size of each story."""
    return {"mentions": sorted(con.execute("select article_id, entity_id, surface_form, count from mentions"
                                           ).fetchall()),
            "stories": sorted(con.execute("select count(*) from story_articles group by story_id").fetchall())}


def _lake_contents(url: str, db: Path) -> dict[str, list[tuple]]:
    """The lake's rows as `_file_contents` reads a file's, with each document's archive record read back
    from the archive folder beside `db` (the one all the test's writers share)."""
    con = open_lake(url, read_only=True)
    try:
        found = contents_of(con)
        found["archived"] = archived(con, db)
        return {**found, **_derived(con)}
    finally:
        con.close()


def _file_contents(db: Path) -> dict[str, list[tuple]]:
    found = warehouse_contents(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {**found, **_derived(con)}
    finally:
        con.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake-corpus")
    return sorted(write_corpus(folder, 24, seed=5))


@pytest.fixture(scope="module")
def sequential(prefect_server, corpus, tmp_path_factory) -> dict[str, list[tuple]]:
    """The corpus loaded by one run into a DuckDB file: what any lake run over it must end with."""
    db = tmp_path_factory.mktemp("file-wh") / "news.duckdb"
    run_ingest(prefect_server, corpus[0], db, *map(str, corpus[1:]), "--batch-size", "4")
    return _file_contents(work_db(db))


def work_db(db: Path) -> Path:
    return db.with_name(f"{db.stem}.work{db.suffix}")


def test_ingest_on_the_lake_tags_each_commit_with_its_run(prefect_server, lake, tmp_path, samples_dir):
    db = tmp_path / "wh" / "news.duckdb"
    first = run_ingest(prefect_server, samples_dir, db, **lake)
    run_ingest(prefect_server, samples_dir, db, **lake)
    assert "ducklake:postgres:" in first.stdout
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    runs = con.execute("select run_id, status, articles_new, articles_unchanged from runs order by started_at"
                       ).fetchall()
    assert [(s, n) for _r, s, n, _u in runs] == [("completed", 5), ("completed", 0)]
    assert runs[1][3] == 5
    tagged = {json.loads(extra)["run_id"] for (extra,) in con.execute(
        "select commit_extra_info from lake.snapshots() where commit_extra_info is not null").fetchall()}
    assert {r for r, *_ in runs} <= tagged
    assert con.execute("select count(*) from v_articles").fetchone()[0] == 5
    assert not list(db.parent.glob("*.duckdb")), "a lake run writes no DuckDB file and publishes no copy"
    # The news report was not written on a lake: the first run writes it beside --db, read from the lake;
    # `newsflow report` writes it from the lake at any time.
    page = db.parent / "report.html"
    assert "News report (refreshed): " + page.as_uri() in first.stdout, first.stdout
    assert 'data-chart="daily"' in page.read_text(encoding="utf-8")
    page.unlink()
    _newsflow(prefect_server, lake, "report", "--db", str(db))
    text = page.read_text(encoding="utf-8")
    assert ">5</b><span>articles<" in text and "ducklake:postgres:" in text and "No articles" not in text
    _analysts_see_runs_snapshots_and_search(prefect_server, lake, db, runs[0][0])


def _newsflow(prefect_server, lake, *args: str) -> str:
    proc = subprocess.run([str(Path(sys.executable).with_name("newsflow")), *args], env=prefect_server.env(**lake),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return proc.stdout


def _analysts_see_runs_snapshots_and_search(prefect_server, lake, db: Path, first_run: str) -> None:
    """`newsflow runs` lists snapshot ids; AT (VERSION => n) shows the lake as a run left it; `newsflow
    sql` opens the lake in one line; `newsflow search` ranks lake articles; maintain keeps the data."""
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    last = con.execute("select max(snapshot_id) from lake.snapshots() where commit_extra_info like ?",
                       [f'%{first_run}%']).fetchone()[0]
    assert con.execute("select count(*) from articles at (version => ?)", [last]).fetchone()[0] == 5
    con.close()
    listed = _newsflow(prefect_server, lake, "runs")
    assert first_run[:8] in listed and str(last) in listed
    assert "5" in _newsflow(prefect_server, lake, "sql", "-c", "select count(*) as n from v_articles")
    hits = _newsflow(prefect_server, lake, "search", "artillery shells", "--db", str(db))
    assert "1." in hits and "score" in hits
    _newsflow(prefect_server, lake, "ingest", str(REPO_ROOT / "data" / "samples"), "--db", str(db))
    done = _newsflow(prefect_server, lake, "maintain", "--retention-hours", "0.0000001")
    assert "snapshots_expired" in done
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    assert con.execute("select count(*) from lake.snapshots()").fetchone()[0] <= 2  # maintain's own
    con.close()
    assert "newsflow reclean -> " in _newsflow(prefect_server, lake, "reclean", "--db", str(db))  # not "ingest"
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    assert con.execute("select count(*), count(distinct article_id) from articles").fetchone() == (5, 5)
    assert con.execute("select count(*) from runs where sources like 'reclean%' and status = 'completed'"
                       ).fetchone()[0] == 1


def _start_reader(lake: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    stop, log = tmp_path / "stop-reader", tmp_path / "reader.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", READER, lake["NEWSFLOW_WAREHOUSE"], str(stop), str(log)],
                            env=env, stderr=subprocess.PIPE, text=True)
    return proc, stop, log


def _stop_reader(proc: subprocess.Popen, stop: Path, log: Path) -> list[list[int]]:
    stop.touch()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"the reader failed: {err[-3000:]}"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _assert_whole_batches(polls: list[list[int]]) -> None:
    assert polls, "the reader never read"
    for articles, distinct, docs, distinct_docs, no_doc, no_story, stories, distinct_stories in polls:
        assert articles == distinct and docs == distinct_docs, "a duplicate was visible"
        assert no_doc == 0 and no_story == 0 and stories == distinct_stories == articles, "half a batch was visible"
    counts = [p[0] for p in polls]
    assert counts == sorted(counts), "the article count went backwards"


def test_two_writers_and_a_reader(prefect_server, lake, tmp_path, corpus, sequential):
    """Two ingest processes load overlapping halves (two thirds each) at once while a third process
    reads: no error, no duplicate, no partial batch, and the end equals one sequential run."""
    reader, stop, log = _start_reader(lake, tmp_path)
    db = tmp_path / "wh" / "news.duckdb"
    halves = [corpus[:16], corpus[8:]]
    writers = [subprocess.Popen(ingest_cmd(part[0], db, *map(str, part[1:]), "--batch-size", "4"),
                                env=prefect_server.env(**lake), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for part in halves]
    outputs = [w.communicate(timeout=600)[0] for w in writers]
    polls = _stop_reader(reader, stop, log)
    for w, out in zip(writers, outputs):
        assert w.returncode == 0, out[-5000:]
    _assert_whole_batches(polls)
    assert len(set(p[0] for p in polls)) > 2, "the reader saw too few of the commits"
    assert _lake_contents(lake["NEWSFLOW_WAREHOUSE"], db) == sequential
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    new = con.execute("select sum(articles_new), sum(articles_unchanged) from runs").fetchone()
    assert new[0] == len(sequential["articles"])


def test_sigkill_of_a_writer_then_a_rerun(prefect_server, lake, tmp_path, corpus, sequential):
    db = tmp_path / "wh" / "news.duckdb"
    cmd = ingest_cmd(corpus[0], db, *map(str, corpus[1:]), "--batch-size", "4")
    proc = subprocess.Popen(cmd, env=prefect_server.env(**lake), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = lake["NEWSFLOW_WAREHOUSE"]
    deadline = time.monotonic() + 300
    loaded = 0
    while loaded == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            con = open_lake(url, read_only=True)
            loaded = con.execute("select count(*) from articles").fetchone()[0]
            con.close()
        except Exception:  # noqa: BLE001 - the lake is not created yet
            continue
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < loaded < len(sequential["articles"]), "the kill did not land mid-run"
    run_ingest(prefect_server, corpus[0], db, *map(str, corpus[1:]), "--batch-size", "4", **lake)
    assert _lake_contents(url, db) == sequential
    con = open_lake(url, read_only=True)
    runs = con.execute("select status, flow_run_id from runs order by started_at").fetchall()
    assert [s for s, _f in runs] == ["interrupted", "completed"], "the rerun did not see that the killed run died"
    assert flow_run_state(prefect_server, runs[0][1]) == "CRASHED", "its Prefect flow run was not set Crashed"
    # Each batch commits its counts with it: the killed run shows the articles it loaded.
    new = [n for (n,) in con.execute("select articles_new from runs order by started_at").fetchall()]
    assert new[0] > 0 and sum(new) == len(sequential["articles"]), new


def test_a_run_whose_writer_lives_stays_running(prefect_server, lake, samples_dir, tmp_path):
    """A run marked running whose writer still holds its lease (tasks/run_leases.py) is another
    machine's live run: a run starting meanwhile leaves it alone; once the lease goes, the next marks it."""
    conninfo = catalog_conninfo(lake["NEWSFLOW_WAREHOUSE"])
    db = tmp_path / "wh" / "news.duckdb"
    run_ingest(prefect_server, samples_dir, db, **lake)  # creates the lake
    con = connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"])
    for run_id in ("alive-elsewhere", "died-elsewhere"):
        with transaction(con):
            start_run(con, run_id, None, "another machine", "0")
    con.close()
    lease = RunLease(conninfo)
    lease.hold("alive-elsewhere")
    try:
        assert dead_runs(conninfo, ["alive-elsewhere", "died-elsewhere"]) == ["died-elsewhere"]
        run_ingest(prefect_server, samples_dir, db, **lake)
        statuses = _statuses(lake)
        assert (statuses["alive-elsewhere"], statuses["died-elsewhere"]) == ("running", "interrupted")
    finally:
        lease.release()
    run_ingest(prefect_server, samples_dir, db, **lake)
    assert _statuses(lake)["alive-elsewhere"] == "interrupted"


def _statuses(lake: dict[str, str]) -> dict[str, str]:
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    try:
        return dict(con.execute("select run_id, status from runs").fetchall())
    finally:
        con.close()


def test_the_warehouse_seam_picks_the_backend(lake, tmp_path):
    s = Settings(db=tmp_path / "news.duckdb", warehouse=lake["NEWSFLOW_WAREHOUSE"],
                 lake_data_path=lake["NEWSFLOW_LAKE_DATA_PATH"])
    assert s.lake and s.db_path == (tmp_path / "news.duckdb").resolve()
    w = Warehouse.open(s.db_path, s)
    assert isinstance(w, LakeWarehouse) and not w.publishes and "password" not in w.name
    assert w.known_document_ids() == set()
    file = Warehouse.open(s.db_path, Settings(db=tmp_path / "news.duckdb"))
    assert type(file) is Warehouse and file.publishes
    with pytest.raises(RuntimeError, match="NEWSFLOW_LAKE_DATA_PATH"):
        Warehouse.open(tmp_path / "other.duckdb", Settings(db=tmp_path / "other.duckdb",
                                                            warehouse=lake["NEWSFLOW_WAREHOUSE"]))
    file.close()


def test_a_source_that_loads_leaves_quarantine_on_the_lake(lake, tmp_path):
    con = connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"])
    try:
        assert quarantine_left_after_fixes(con, tmp_path / "archive") == {"file:///d/lines.jsonl#L2", "file:///d/other.txt"}
        with pytest.raises(ValueError, match="not a DuckDB file"):  # no folder derived from the catalog's URL
            archive_config_of(con)
    finally:
        con.close()


def test_the_dated_articles_a_new_version_is_weighed_against_on_a_lake(lake, tmp_path):
    """What the writer reads before letting an undated version replace a dated article (`_walls`)."""
    import json

    from tasks.archive import ArchiveConfig
    from tasks.clean import clean_batch
    from tasks.load import dated_articles
    from tasks.models import RawDocument, sha256_hex
    from warehouse_helpers import load_docs

    text = " ".join(["The harbour bridge reopened on Monday after repairs that lasted many months."] * 4)
    raws = [json.dumps({"url": f"https://news.example/{n}", "title": f"Harbour bridge story {n}", "text": text,
                        **({"published_at": "2025-05-14T07:30:00Z"} if n % 2 else {})}).encode() for n in range(4)]
    docs = [RawDocument(f"file:///d/n.jsonl#L{n + 1}", "record", raw, sha256_hex(raw), len(raw))
            for n, raw in enumerate(raws)]
    con = connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"])
    try:
        assert load_docs(con, docs, archive=ArchiveConfig(tmp_path / "archive")).new == 4
        articles = clean_batch(docs)
        dated = {a.article_id: (a.document_id, a.title) for a in articles if a.published_at}
        assert len(dated) == 2 and dated_articles(con, [a.article_id for a in articles] + ["no-such-id"]) == dated
        assert dated_articles(con, []) == {}
    finally:
        con.close()


def test_a_story_s_label_follows_its_first_article_retitled_on_a_lake(lake, tmp_path):
    """The story relabelled by an update of its first article, on the lake too (an UPDATE ... FROM)."""
    from dataclasses import replace

    from tasks.archive import ArchiveConfig
    from tasks.models import sha256_hex
    from warehouse_helpers import load_docs, sample_docs

    docs, archive = sample_docs()[:2], ArchiveConfig(tmp_path / "archive")
    retitled = b"Kim Jong Un Arrives in Russia by Armoured Train" + docs[0].raw[docs[0].raw.index(b"\n"):]
    con = connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"])
    try:
        load_docs(con, docs, archive=archive)
        assert load_docs(con, [replace(docs[0], raw=retitled, raw_sha256=sha256_hex(retitled), size_bytes=len(retitled),
                                       mtime_ns=None)], run_id="edit", archive=archive).updated == 1
        assert con.execute("select title from stories").fetchall() == [("Kim Jong Un Arrives in Russia by Armoured Train",)]
    finally:
        con.close()


def test_serve_adds_the_maintain_flow_on_a_lake():
    from flows.serve import deployments
    from newsflow.config import load_config

    config = load_config(REPO_ROOT / "newsflow.toml")
    plain = deployments(config, None, None)
    with_lake = deployments(config, None, 600)
    assert len(with_lake) == len(plain) + 1
    assert with_lake[-1].name == "lake" and with_lake[-1].flow_name == "maintain"


SETUP = """
import sys
from tasks.lake import connect_lake
connect_lake(sys.argv[1], sys.argv[2]).close()
"""


def test_writers_setting_up_a_new_lake_at_once(postgres, tmp_path):
    """Three writers create and migrate the same new lake at the same moment, in several rounds: each
    comes up (concurrent DDL fails the losers in several ways; they retry on a fresh session), and the
    lake ends with every migration applied once."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    expected = [v for v, _p in migrations()]
    for round_ in range(4):
        url = "ducklake:postgres:" + postgres.create_database(f"setup_race_{round_}")
        data = str(tmp_path / f"data{round_}") + "/"
        procs = [subprocess.Popen([sys.executable, "-c", SETUP, url, data], env=env, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        for proc in procs:
            _out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
        con = open_lake(url, read_only=True)
        applied = [v for (v,) in con.execute("select version from schema_migrations order by version").fetchall()]
        con.close()
        assert applied == expected


def test_maintain_merges_expires_and_cleans_without_changing_a_row(lake, tmp_path):
    """`newsflow maintain` as an operator runs it. The small files of two batches' commits are merged
    (none ever was: each batch took its turn by altering a table, a new schema version, and DuckLake
    merges only files of one; the count printed was always 0). The files merging replaced stay for
    CLEANUP_GRACE_S: an analyst's query begun before still reads them (they went at once, and it
    failed with "Cannot open file"). A later maintain, past a retention under a second, expires the
    snapshots and deletes what none needs; every row reads as before. It runs on the early Prefect
    server, without Prefect's chatter at its end."""
    con = connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"])
    try:
        quarantine_left_after_fixes(con, tmp_path / "archive")
        tables = ("documents", "articles", "quarantine", "removed_segments")
        before = {t: sorted(con.execute(f"select * from {t}").fetchall()) for t in tables}
    finally:
        con.close()
    data = Path(lake["NEWSFLOW_LAKE_DATA_PATH"])
    files_before = sorted(data.rglob("*.parquet"))
    env = dict(os.environ, **lake, PREFECT_LOGGING_LEVEL="INFO")

    def maintain(*args: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "maintain", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "temporary server" not in proc.stdout + proc.stderr, proc.stderr
        return json.loads(proc.stdout.strip().replace("'", '"'))

    reader = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    try:
        reader.execute("begin")
        reader.execute("select count(*) from documents").fetchone()
        done = maintain()
        assert done["data_files_after"] < done["data_files_before"], done
        assert done["files_removed"] == 0, done  # within the grace
        assert sorted(reader.execute("select * from documents").fetchall()) == before["documents"]
        reader.execute("commit")
    finally:
        reader.close()
    time.sleep(1)  # past the retention: 0.0002 hours, and so past the grace too
    done = maintain("--retention-hours", "0.0002")
    assert done["snapshots_expired"] > 0 and done["files_removed"] > 0, done
    # The two batches' files of each table they wrote are one now (one schema version: nothing in a
    # batch's transaction alters a table).
    assert len(list((data / "main" / "documents").glob("*.parquet"))) == 1
    assert len(sorted(data.rglob("*.parquet"))) < len(files_before)
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    try:
        assert {t: sorted(con.execute(f"select * from {t}").fetchall()) for t in tables} == before
    finally:
        con.close()


def test_maintain_refuses_a_catalog_that_holds_no_lake(postgres, tmp_path):
    """A mistyped dbname (an empty database) got a new, empty lake from maintain, 22 catalog tables and
    the data path, and a report of nothing done."""
    from tasks.lake import LakeUnavailable, maintain_lake

    dsn = postgres.create_database("lake_none_here")
    with pytest.raises(LakeUnavailable, match="that database holds no lake: check dbname"):
        maintain_lake(f"ducklake:postgres:{dsn}", str(tmp_path / "data") + "/", 1.0)
    with psycopg.connect(dsn) as pg:
        assert pg.execute("select count(*) from information_schema.tables where table_name like 'ducklake%'"
                          ).fetchone()[0] == 0
    # The command says so at once: the flow's task is not tried again after 5 and 30 s, as after a
    # failure another attempt may mend.
    env = dict(os.environ, NEWSFLOW_WAREHOUSE=f"ducklake:postgres:{dsn}",
               NEWSFLOW_LAKE_DATA_PATH=str(tmp_path / "data") + "/")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "maintain"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 1 and "that database holds no lake: check dbname" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 30


def test_maintain_with_a_password_the_catalog_refuses_fails_at_once(postgres, lake):
    """A wrong catalog password took ~44 s to fail: the flow's task was tried again after 5 and 30 s, as
    after a failure another attempt may mend; a refused password fails the same every time."""
    url = _lake_as(postgres, lake, "maintainer_pw", "right").replace(" password=right", "")  # PGPASSWORD's
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "maintain"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **lake, "NEWSFLOW_WAREHOUSE": url,
                                                       "PGPASSWORD": "wrong"})
    assert proc.returncode == 1 and "check the user and its password" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 30


def test_writers_on_one_host_with_their_own_archive_folders_keep_their_files_apart(lake, tmp_path):
    """Two writers on one host, each with its raw store beside its own --db, both held slot 1 of their
    folder and named their files newsflow-<host>-1-...: the lake's one current file for that name was
    in the other folder, and the second writer failed every batch ("archive file missing")."""
    from test_archive import article, local

    writers = []
    for name in ("a", "b"):
        s = Settings(db=tmp_path / name / "news.duckdb", warehouse=lake["NEWSFLOW_WAREHOUSE"],
                     lake_data_path=lake["NEWSFLOW_LAKE_DATA_PATH"])
        writers.append(Warehouse.open(s.db_path, s))
    try:
        assert writers[0].archive.writer != writers[1].archive.writer
        for i, w in enumerate(writers * 2):
            w.load_batch(f"r{i}", "v", [local(i)], [article(local(i))], [])
        for w in writers:
            names = {n for (n,) in w.con.execute("select name from archive_files").fetchall()}
            assert {p.name for p in w.archive.folder.glob("*.warc.gz")} <= names
        assert writers[0].con.execute("select count(*) from articles").fetchone()[0] == 4
    finally:
        for w in writers:
            w.close()


def test_a_data_path_other_than_the_catalogs_says_which_to_set(lake, tmp_path):
    """A shared folder mounted elsewhere on a machine: DuckDB's refusal came with "check that its
    PostgreSQL server answers, and pip install ... duckdb-ext-postgres", which mends nothing."""
    from tasks.lake import LakeMisnamed

    connect_lake(lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"]).close()
    with pytest.raises(LakeMisnamed, match="set NEWSFLOW_LAKE_DATA_PATH to the data path the catalog records") as err:
        open_lake(lake["NEWSFLOW_WAREHOUSE"], str(tmp_path / "elsewhere") + "/")
    assert "pip install" not in str(err.value) and lake["NEWSFLOW_LAKE_DATA_PATH"] in str(err.value)


def test_one_maintain_at_a_time(lake, tmp_path):
    """Two maintains at once deleted each other's inputs: one failed mid-task ("Cannot open file", or a
    DELETE of snapshots hundreds of characters long) until Prefect's retry. While one holds the lake
    (an advisory lock on the catalog's server), another does nothing and says so."""
    from tasks.lake import maintain_lake
    from tasks.run_leases import catalog_conninfo, exclusive

    url, data = lake["NEWSFLOW_WAREHOUSE"], lake["NEWSFLOW_LAKE_DATA_PATH"]
    connect_lake(url, data).close()
    with exclusive(catalog_conninfo(url), "maintain") as mine:
        assert mine
        assert maintain_lake(url, data, 1.0) == {"skipped": "another maintain is running on this lake"}
    assert "data_files_after" in maintain_lake(url, data, 1.0)  # the lock went with its session


def test_a_raw_store_file_lost_for_good_on_a_lake(lake, tmp_path):
    """`newsflow raw-store-lost` on a lake: the writer's next batch starts a new file of its own."""
    from test_archive import article, local

    env = {**os.environ, **lake, "COLUMNS": "200"}
    s = Settings(db=tmp_path / "news.duckdb", warehouse=lake["NEWSFLOW_WAREHOUSE"],
                 lake_data_path=lake["NEWSFLOW_LAKE_DATA_PATH"])
    writer = Warehouse.open(s.db_path, s)
    try:
        writer.load_batch("r1", "v", [local(1)], [article(local(1))], [])
        ((name,),) = writer.con.execute("select name from archive_files").fetchall()
        (writer.archive.folder / name).unlink()
        writer.close()
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "raw-store-lost", name, "--db", str(s.db_path)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0 and "1 document had its raw page" in " ".join(proc.stdout.split()), proc.stderr
        writer.load_batch("r2", "v", [local(2)], [article(local(2))], [])
        files = dict(writer.con.execute("select name, lost_at is not null from archive_files").fetchall())
        assert files[name] and len(files) == 2
        assert writer.con.execute("select count(*) from articles").fetchone()[0] == 2
        assert local(1).document_id not in writer.known_document_ids()  # received again, stored again:
        writer.load_batch("r3", "v", [local(1)], [article(local(1))], [])
        assert writer.con.execute("select archive_file from documents where document_id = ?",
                                  [local(1).document_id]).fetchall() == [(sorted(set(files) - {name})[0],)]
        assert local(1).document_id in writer.known_document_ids()
    finally:
        writer.close()


def test_a_whole_web_archive_clears_its_earlier_faults_on_a_lake(lake, tmp_path):
    """The statements that take a web archive's and a JSON Lines file's stale fault rows out of
    quarantine, on a lake's catalog."""
    s = Settings(db=tmp_path / "news.duckdb", warehouse=lake["NEWSFLOW_WAREHOUSE"],
                 lake_data_path=lake["NEWSFLOW_LAKE_DATA_PATH"])
    writer = Warehouse.open(s.db_path, s)
    try:
        now = datetime.now(timezone.utc)
        for i, uri in enumerate(["file:///a.warc.gz#offset=7", "file:///a.warc.gz#record=3",
                                 "file:///b.warc.gz#offset=7", "file:///a.warc.gz.txt", "file:///f.jsonl#L1",
                                 "file:///f.jsonl#L2", "file:///f.jsonl#L3", "file:///g.jsonl#L5"]):
            writer.con.execute("insert into quarantine (document_id, source_uri, stage, reasons, run_id, "
                               "quarantined_at) values (?, ?, 'read', ['cut'], 'r', ?)", [f"d{i}", uri, now])
        writer.archives_whole(["file:///a.warc.gz"])
        assert sorted(u for (u,) in writer.con.execute("select source_uri from quarantine").fetchall()) == [
            "file:///a.warc.gz.txt", "file:///b.warc.gz#offset=7", "file:///f.jsonl#L1", "file:///f.jsonl#L2",
            "file:///f.jsonl#L3", "file:///g.jsonl#L5"]
        writer.record_files_whole({"file:///f.jsonl": (2, {"d5"})})  # two lines now; line 2 still unreadable
        assert sorted(u for (u,) in writer.con.execute("select source_uri from quarantine").fetchall()) == [
            "file:///a.warc.gz.txt", "file:///b.warc.gz#offset=7", "file:///f.jsonl#L2", "file:///g.jsonl#L5"]
    finally:
        writer.close()
