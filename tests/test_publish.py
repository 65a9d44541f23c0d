"""Reads never block loads: an analyst session held open in another process on the analyst file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from newsflow.settings import work_db_path
from tasks.publish import analyst_holds_runs, prepare_work_db, publish

READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == "ro")
    def report():
        n, titles = con.execute(sys.argv[2]).fetchone()
        print(n, titles, flush=True)
    report()
    for line in sys.stdin:      # one report per line received; the session stays open throughout
        report()
""")


class Reader:
    """A read-only DuckDB session in another process, asked to re-run one query on demand."""

    def __init__(self, db: Path, sql: str, mode: str = "ro"):
        self.proc = subprocess.Popen([sys.executable, "-c", READER, str(db), sql, mode], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.first = self.proc.stdout.readline().strip()
        assert self.first, self.proc.stderr.read()

    def again(self) -> str:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line, self.proc.stderr.read()
        return line

    def close(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0, self.proc.stderr.read()


def test_work_db_sits_beside_the_analyst_file(tmp_path: Path):
    assert work_db_path(tmp_path / "news.duckdb") == tmp_path / "news.work.duckdb"
    assert work_db_path(tmp_path / "x" / "wh.db") == tmp_path / "x" / "wh.work.db"


def test_prepare_work_db_keeps_rows_of_an_existing_analyst_file(tmp_path: Path):
    analyst = tmp_path / "news.duckdb"
    with duckdb.connect(str(analyst)) as con:
        con.execute("create table schema_migrations (version integer)")  # a newsflow warehouse's mark
        con.execute("create table t as select 42 as x")
    work = prepare_work_db(analyst)
    with duckdb.connect(str(work), read_only=True) as con:
        assert con.execute("select x from t").fetchall() == [(42,)]


def test_seeding_keeps_the_batches_in_a_wal_beside_the_analyst_file(tmp_path: Path):
    """A warehouse of a version that wrote the analyst file itself, its run killed after committing
    batches: they are in its WAL. The working database seeded from it holds them (and publishing,
    which deletes a WAL beside the analyst path as stale, loses nothing)."""
    analyst = tmp_path / "news.duckdb"
    with duckdb.connect(str(analyst)) as con:
        con.execute("create table schema_migrations (version integer)")
        con.execute("create table t as select 1 as x")
    con = duckdb.connect(str(analyst))
    con.execute("pragma disable_checkpoint_on_shutdown")
    con.execute("insert into t values (2), (3)")  # committed, in the WAL only
    con.close()
    assert Path(f"{analyst}.wal").exists()
    work = prepare_work_db(analyst)
    publish(work, analyst)
    for path in (work, analyst):
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute("select list(x order by x) from t").fetchone()[0] == [1, 2, 3]


SEED_AND_WAIT = """
import sys, time
from pathlib import Path
from tasks.publish import prepare_work_db
prepare_work_db(Path(sys.argv[1]))
"""


def test_a_seeding_killed_part_way_leaves_no_working_file_a_rerun_cannot_open(tmp_path: Path):
    """The working database is seeded by a copy of the analyst file; killed part way, the copy was
    left at the working path, cut off, and every later run failed to open it."""
    analyst = tmp_path / "news.duckdb"
    with duckdb.connect(str(analyst)) as con:
        con.execute("create table schema_migrations (version integer)")
        con.execute("create table t as select md5(i::varchar) || md5((i * 7)::varchar) as s from range(4000000) r(i)")
    work = work_db_path(analyst)
    proc = subprocess.Popen([sys.executable, "-c", SEED_AND_WAIT, str(analyst)], cwd=Path(__file__).parent.parent)
    while proc.poll() is None and not any(tmp_path.glob(f"*{work.name}*")):
        pass  # the copy has begun: kill it at once
    proc.kill()
    proc.wait()
    if work.exists():  # only ever whole
        with duckdb.connect(str(work), read_only=True) as con:
            assert con.execute("select count(*) from t").fetchone()[0] == 4_000_000
    with duckdb.connect(str(prepare_work_db(analyst)), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 4_000_000


def test_prepare_work_db_refuses_a_file_that_is_not_a_newsflow_warehouse(tmp_path: Path):
    """Publishing would swap the run's copy onto the analyst path: another DuckDB database or a text
    file there stays as it was, and no working db is made from it."""
    from tasks.dbfile import NotAWarehouse, check_warehouse_file
    from tasks.load import connect

    other = tmp_path / "mydata.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table precious as select 42 as x")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    for path, what in ((other, "not a newsflow warehouse"), (notes, "not a DuckDB database file")):
        before = path.read_bytes()
        with pytest.raises(NotAWarehouse, match=what):
            prepare_work_db(path)
        assert path.read_bytes() == before and not work_db_path(path).exists()
    from newsflow.config import resolve_settings
    from tasks.warehouse import Warehouse

    files = sorted(tmp_path.iterdir())
    for path, what in ((notes, "not a DuckDB database file"), (other, "not a newsflow warehouse")):
        with pytest.raises(NotAWarehouse, match=what):  # a run, as the UI may start it
            with Warehouse(path, resolve_settings(db=str(path))).turn("r1", print):
                pass
        assert sorted(tmp_path.iterdir()) == files, f"a lock file was left beside {path.name}"
    warehouse = tmp_path / "news.duckdb"
    check_warehouse_file(warehouse)  # nothing there yet: a run may make one
    connect(warehouse).close()
    check_warehouse_file(warehouse)


@pytest.mark.parametrize("mode", ["ro", "rw"])  # rw: the duckdb CLI's default, which locks exclusively
def test_publish_swaps_while_a_reader_holds_the_analyst_file_open(tmp_path: Path, mode: str):
    analyst = tmp_path / "news.duckdb"
    work = prepare_work_db(analyst)
    with duckdb.connect(str(work)) as con:
        con.execute("create table items (n integer)")
        con.execute("insert into items values (1)")
    publish(work, analyst)
    reader = Reader(analyst, "select count(*), string_agg(n::varchar, ',' order by n) from items", mode)
    assert reader.first == "1 1"
    for n in (2, 3):  # two more loads, each while the reader's session stays open
        with duckdb.connect(str(work)) as con:  # would fail with a lock conflict if it were the analyst file
            con.execute("insert into items values (?)", [n])
        publish(work, analyst)
        assert reader.again() == "1 1"  # the open session keeps a consistent snapshot: the file it opened
    reader.close()
    with duckdb.connect(str(analyst), read_only=True) as con:  # a new session sees the latest publish
        assert con.execute("select list(n order by n) from items").fetchone()[0] == [1, 2, 3]
    assert not list(tmp_path.glob("*.publishing")) and not Path(f"{analyst}.wal").exists()


def test_a_second_connection_while_one_is_open_keeps_the_old_snapshot_as_the_docs_say(tmp_path: Path):
    """docs/warehouse.md said "reconnect": in Python a second connect while the first is open gets DuckDB's
    cached database, the snapshot before the publish; once every connection is closed, a connect sees it."""
    analyst = tmp_path / "news.duckdb"
    work = prepare_work_db(analyst)
    with duckdb.connect(str(work)) as con:
        con.execute("create table items as select 1 as n")
    publish(work, analyst)
    first = duckdb.connect(str(analyst), read_only=True)
    with duckdb.connect(str(work)) as con:
        con.execute("insert into items values (2)")
    publish(work, analyst)
    with duckdb.connect(str(analyst), read_only=True) as second:
        assert second.execute("select count(*) from items").fetchone()[0] == 1
    first.close()
    with duckdb.connect(str(analyst), read_only=True) as fresh:
        assert fresh.execute("select count(*) from items").fetchone()[0] == 2
    doc = " ".join((Path(__file__).resolve().parents[1] / "docs" / "warehouse.md").read_text(encoding="utf-8").split())
    assert "close every connection to the file and open it again" in doc and "Reconnect" not in doc


@pytest.mark.slow
def test_two_ingests_complete_while_an_analyst_session_is_open(tmp_path: Path, samples_dir: Path):
    from flows.ingest import ingest

    analyst = tmp_path / "wh" / "news.duckdb"
    first_in, later_in = tmp_path / "in1", tmp_path / "in2"
    shutil.copytree(samples_dir, first_in)
    later_in.mkdir()
    body = " ".join(["The harbour bridge in Portsmouth reopened after repairs by Atlas Engineering.",
                     "Mayor Jane Doe thanked Hampshire County Council and the Royal Navy.",
                     "Traffic to Southampton and Gosport resumed, said Network Rail."] * 2)
    for i in range(2):
        (later_in / f"bridge{i}.txt").write_text(f"Harbour Bridge Reopens, Part {i}\n{body}\n")

    assert ingest(sources=[str(first_in)], db=str(analyst))["articles_new"] == 5
    sql = "select count(*), count(distinct story_id) from v_articles"
    reader = Reader(analyst, sql)
    assert reader.first == "5 1"
    second = ingest(sources=[str(later_in / "bridge0.txt")], db=str(analyst))
    third = ingest(sources=[str(later_in / "bridge1.txt")], db=str(analyst))
    assert (second["articles_new"], third["articles_new"]) == (1, 1)
    assert reader.again() == "5 1"  # still its consistent snapshot
    reader.close()
    with duckdb.connect(str(analyst), read_only=True) as con:
        assert con.execute(sql).fetchone() == (7, 2)  # the two bridge articles are one story of their own
        assert con.execute("select count(*) from runs where status = 'completed'").fetchone()[0] == 3


@pytest.mark.slow
def test_a_run_that_changes_nothing_leaves_the_analyst_copy_alone(tmp_path: Path, samples_dir: Path):
    from flows.ingest import ingest

    analyst = tmp_path / "wh" / "news.duckdb"
    assert not analyst_holds_runs(analyst, set())  # no copy yet: the first run must publish
    ingest(sources=[str(samples_dir)], db=str(analyst))
    before = analyst.stat()
    assert ingest(sources=[str(samples_dir)], db=str(analyst))["articles_new"] == 0
    after = analyst.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not copied again
    # Nor after any number of such runs: the copy lacks their records, which change nothing.
    assert ingest(sources=[str(samples_dir)], db=str(analyst))["articles_new"] == 0
    assert (analyst.stat().st_ino, analyst.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with duckdb.connect(str(analyst), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone()[0] == 1

    # A run the copy lacks (killed before it published) makes the next run publish, changes or not.
    with duckdb.connect(str(work_db_path(analyst))) as con:
        con.execute("insert into runs (run_id, started_at, status, sources, cleaner_version) "
                    "values ('killed', now(), 'running', 'x', '3')")
    assert ingest(sources=[str(samples_dir)], db=str(analyst))["articles_new"] == 0
    assert analyst.stat().st_ino != before.st_ino
    with duckdb.connect(str(analyst), read_only=True) as con:
        assert con.execute("select status from runs where run_id = 'killed'").fetchone() == ("interrupted",)
        assert con.execute("select count(*) from runs").fetchone()[0] == 5  # the no-op runs' records came along


def test_publish_the_report_and_the_run_lock_keep_the_operators_file_modes(tmp_path: Path):
    """The analyst copy and the report were made 644 by every publish (a 600 copy opened to all), the
    run lock 644 whatever the umask (in a team's group-writable folder only its last user could run),
    and a publish or report killed before its rename left its whole temporary copy for good."""
    import os
    import time

    from tasks import runlock
    from tasks.report import write_report

    from tasks.load import connect

    analyst = tmp_path / "news.duckdb"
    work = prepare_work_db(analyst)
    connect(work).close()  # a warehouse: its tables and views
    stale = tmp_path / ".news.duckdb.killed.publishing"
    fresh = tmp_path / ".news.duckdb.writing.publishing"  # another's, being written
    for path in (stale, fresh):
        path.write_bytes(b"x" * 1000)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    old = os.umask(0o002)
    try:
        publish(work, analyst)
        assert analyst.stat().st_mode & 0o777 == 0o664  # a new file: as the umask says
        with runlock.hold(analyst, "r1", 5):
            assert Path(f"{analyst}.lock").stat().st_mode & 0o777 == 0o664
        analyst.chmod(0o600)
        publish(work, analyst)
        assert analyst.stat().st_mode & 0o777 == 0o600  # the operator's choice stands
        report = tmp_path / "report.html"
        write_report(analyst, report)
        assert report.stat().st_mode & 0o777 == 0o664
        report.chmod(0o640)
        write_report(analyst, report)
        assert report.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    assert not stale.exists() and fresh.exists()


def test_a_warehouse_of_many_small_runs_stays_near_the_size_of_its_data(tmp_path: Path):
    """DuckDB starts a new row group at each append to a table with a primary key once the file has
    been reopened: a few rows in a block of their own, for every such table each run writes. A
    warehouse fed by short scheduled runs grew ~2 MB a run whatever they loaded (383 MB after 160
    runs, for 38 MB of data). The file is rewritten once such blocks are half of it."""
    from tasks.load import connect, start_run

    path = tmp_path / "news.work.duckdb"
    connect(path).close()
    sizes = []
    for n in range(80):
        con = connect(path)
        start_run(con, f"run-{n}", None, "scheduled", "v")
        con.close()
        sizes.append(path.stat().st_size)
    assert max(sizes) < sizes[0] + (6 << 20), [s >> 20 for s in sizes]  # MB; one block (256 KB) a run before
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone()[0] == 80
