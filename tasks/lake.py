"""The lake backend: a DuckLake catalog on PostgreSQL (data in Parquet files), several writers at once.

`LakeWarehouse` implements the warehouse seam (tasks/warehouse.py) over `LakeConnection`, a DuckDB
connection to the attached lake that runs the file backend's SQL unchanged: upserts become MERGE
(tasks/lake_sql.py, derived from the same text), and every explicit transaction

- carries the run id as its DuckLake commit message (`lake.snapshots()` shows which run made each
  snapshot; `newsflow runs` lists them), and
- takes its turn: it updates the row of one small table first (`writer_turns`), so two writers'
  transactions that overlap conflict at commit (both deleted that row) and the later one is retried
  (`retried`) on the state the first committed.
  DuckLake has no keys and two concurrent inserts of the same id would both succeed; taking turns makes
  each batch's "is this article new?" and its writes one serializable step, so no article is ever
  stored twice. Cleaning, the expensive part, runs outside these transactions, on every machine at once.

No file lock, no working copy, no publish: analysts attach the same lake read-only at any time and
always see whole batches (a transaction is one snapshot).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import random
import socket
import re
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb
import psycopg

from newsflow.settings import Settings, masked
from tasks import load as L
from tasks.archive import ArchiveConfig
from tasks.lake_sql import (ALIAS, attach_sql, is_upsert, lake_migration, lake_view, primary_keys, s3_secret_sql,
                             upsert_as_merge)
from tasks.reader import one_line
from tasks.run_leases import RunLease, catalog_conninfo, dead_runs, exclusive
from tasks.schema import view_files
from tasks.search import extension_directory, index_articles, prepare_index
from tasks.sql import statement, transaction
from tasks.warehouse import Warehouse

TURN_TABLE = "writer_turns"
RETRY_ATTEMPTS = 40
ATTACH_ATTEMPTS = 5
RETRY_FIRST_S = 0.05  # doubles per attempt, with jitter, up to RETRY_MAX_S
RETRY_MAX_S = 2.0
# Files that merging replaced or expired snapshots left are deleted once unneeded this long: a reader's
# query or a writer's batch that began before still reads them (deleted at once, it failed with
# "Cannot open file").
CLEANUP_GRACE_S = 3600.0
MIRROR_WAIT_S = 300.0  # a search waits this long for another one's hold on its mirror (a first one takes minutes)
_INSERT_TARGET = re.compile(r"insert\s+(?:or\s+replace\s+)?into\s+(\w+)", re.I)
T = TypeVar("T")


class LakeUnavailable(RuntimeError):
    """The lake could not be attached; the message says what to check."""


class LakeMisnamed(LakeUnavailable):
    """The setting names no lake as it is (a database without one, another data path, a user, database or
    password the server refuses), or a data folder this machine cannot write: trying again changes
    nothing until an operator corrects it."""


_MISNAMED = ("creating a new DuckLake is explicitly disabled", "does not match existing data path")
_REFUSED_FOR_GOOD = ("authentication failed", "does not exist")  # libpq's words: no user, database or password


def _misnamed(text: str) -> bool:
    """Whether DuckDB's attach error `text` says the setting itself is wrong (see LakeMisnamed)."""
    refused = text.partition("Unable to connect to Postgres at ")[2]
    return any(m in text for m in _MISNAMED) or any(m in refused for m in _REFUSED_FOR_GOOD)


def password_masked(action: Callable[..., T]) -> Callable[..., T]:
    """`action` raising its DuckDB errors with the catalog's password written as ***. When the catalog
    stops answering, DuckDB quotes the connection string whole ("Unable to connect to Postgres at
    ..."), and the error reaches the CLI, Prefect's logs and the flow run's state in its UI."""

    @functools.wraps(action)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return action(*args, **kwargs)
        except duckdb.Error as exc:
            text = str(exc)
            if masked(text) == text:
                raise
            error = type(exc)(masked(text))  # same type: retries still tell a conflict
        raise error from None  # outside the handler: the original, password and all, is not chained

    return run


def open_lake(url: str, data_path: str | None = None, read_only: bool = False,
              create: bool = True) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB session with the lake attached (offline extensions from the duckdb-ext-*
    wheels) and selected as the default database; with `create`, a catalog without a lake gets one.

    Raises:
        LakeUnavailable: the catalog or the data path cannot be reached.
    """
    con = duckdb.connect()
    attach_lake(con, url, data_path, read_only, create)
    con.execute(f"use {ALIAS}")
    return con


def attach_lake(con: duckdb.DuckDBPyConnection, url: str, data_path: str | None = None, read_only: bool = False,
                create: bool = True) -> None:
    """Attach the lake to `con` as `lake`, the extensions loaded offline (and an s3:// data path's
    credentials from the environment); `con` is closed when that fails.

    Raises:
        LakeUnavailable: the catalog or the data path cannot be reached; the message says what to check.
    """
    con.execute("set autoinstall_known_extensions = false")
    folder = extension_directory()
    if folder is not None:
        con.execute("set extension_directory = ?", [str(folder)])
    secret = s3_secret_sql(os.environ)  # an s3:// data path: credentials from the environment
    if secret is not None:
        con.execute("load httpfs")
        con.execute(secret)
    for attempt in range(ATTACH_ATTEMPTS):
        try:
            con.execute(attach_sql(url, data_path, read_only, create))
            break
        except duckdb.Error as exc:
            # Two writers attaching a new lake at once both create its catalog tables; the one that loses
            # finds them made on its next attempt.
            if "initialize DuckLake" in str(exc) and "already exists" in str(exc) and attempt < ATTACH_ATTEMPTS - 1:
                time.sleep(random.uniform(0.1, 0.5))
                continue
            con.close()
            denied = _catalog_denied(url) if "Current transaction is aborted" in str(exc) else None
            if denied:
                raise LakeMisnamed(f"cannot attach the lake {masked(url)}: {denied}") from None
            kind = LakeMisnamed if _misnamed(str(exc)) else LakeUnavailable
            raise kind(f"cannot attach the lake {masked(url)}: {attach_fault(str(exc))}") from None
    _check_data_path(con, url, writes=not read_only)


def _check_data_path(con: duckdb.DuckDBPyConnection, url: str, writes: bool) -> None:
    """Refuse a lake whose local data folder is missing here (a share not mounted), or, for a writer,
    one it cannot write (read-only, immutable or another user's): the catalog answers, but the first
    query that reads or writes a table failed on a Parquet file, with a traceback.

    Raises:
        LakeUnavailable: the folder is missing; LakeMisnamed: it cannot be written (`con` is closed).
    """
    (path,) = con.execute(f"select value from ducklake_options('{ALIAS}') where option_name = 'data_path'"
                          ).fetchone() or (None,)
    if not path or "://" in path:
        return
    if not os.path.isdir(path) and (not writes or _holds_files(con)):  # a new lake's folder comes with its data
        con.close()
        raise LakeUnavailable(f"the data path of the lake {masked(url)}, {path}, is not reachable from this machine: "
                              "mount the shared folder there (the catalog records that path)")
    if writes and os.path.isdir(path) and (unwritable := _unwritable_folder(Path(path))):
        con.close()
        raise LakeMisnamed(f"the data path of the lake {masked(url)}, {path}, cannot be written from here "
                           f"({unwritable}): give this machine's user write access to the shared folder, or "
                           "mount it read-write")


def _holds_files(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the lake's tables have data files (a lake being set up has its tables before them)."""
    return con.execute(f"select coalesce(sum(file_count), 0) from ducklake_table_info('{ALIAS}')").fetchone()[0] > 0


def _unwritable_folder(path: Path) -> str | None:
    """The data folder, or the first of its tables' folders (`main/<table>/`), that this process cannot
    create files in; None when it can create them in all."""
    main = path / "main"
    for folder in (path, main):
        if folder is main and not os.path.isdir(main):
            return None
        if not os.access(folder, os.W_OK | os.X_OK):
            return str(folder)
    try:
        tables = sorted(p for p in main.iterdir() if p.is_dir())
    except OSError:  # another user's folder, say
        return str(main)
    return next((str(folder) for folder in tables if not os.access(folder, os.W_OK | os.X_OK)), None)


def _catalog_denied(url: str) -> str | None:
    """PostgreSQL's refusal to let the setting's user read the catalog's tables, and the grant that
    mends it; None when it reads them (or the server does not answer). DuckDB reports a refusal only as
    "Current transaction is aborted"."""
    conninfo = catalog_conninfo(url)
    if conninfo is None:
        return None
    try:
        with psycopg.connect(conninfo, connect_timeout=10) as pg:
            pg.execute("select 1 from ducklake_metadata limit 1")
    except psycopg.errors.InsufficientPrivilege as exc:
        user = psycopg.conninfo.conninfo_to_dict(conninfo).get("user") or "that user"
        return (f"its PostgreSQL server refuses the user the catalog's tables ({masked(one_line(str(exc)))}); "
                f"grant it reading them, in the catalog's database: grant select on all tables in schema public "
                f"to {user} (docs/lake.md)")
    except psycopg.Error:
        return None
    return None


def catalog_lost(text: str) -> bool:
    """Whether DuckDB's error `text` says the lake's PostgreSQL catalog stopped answering this session
    (its server stopped or restarted, the network went): a rerun once it answers completes the work."""
    return any(words in text for words in (
        "Unable to connect to Postgres", "server closed the connection", "terminating connection"))


def attach_fault(text: str) -> str:
    """Why DuckDB could not attach the lake, from its error `text`, and what to check: libpq's own words
    when the catalog's server does not take the connection (DuckDB quotes the connection string twice
    before them), the extensions to install when one is missing."""
    _, refused, why = text.partition("Unable to connect to Postgres at ")
    if refused:
        libpq = masked(one_line(why.partition('": ')[2]))  # after the connection string
        if "does not exist" in libpq:
            advice = "create it on that server (createdb, createuser), or correct the setting"
        elif "authentication failed" in libpq:
            advice = "check the user and its password (password=, PGPASSWORD or ~/.pgpass)"
        else:
            advice = "check that it runs and takes connections from this machine at the host and port given"
        return f"its PostgreSQL server did not take the connection ({libpq}); {advice}"
    if "creating a new DuckLake is explicitly disabled" in text:
        return ("that database holds no lake: check dbname in the setting (a first `newsflow ingest` with it "
                "creates the lake)")
    if "does not match existing data path" in text:
        return (f"{masked(one_line(text))}; set NEWSFLOW_LAKE_DATA_PATH to the data path the catalog records "
                "(mount the shared folder at that path on every machine)")
    advice = "pip install -c constraints.txt duckdb-ext-ducklake duckdb-ext-postgres"
    if "xtension" not in text:
        advice = f"check that its PostgreSQL server answers, and {advice}"
    return f"{masked(one_line(text))}; {advice}"


class LakeSQL:
    """What the connections of one lake share: table keys and columns, and the run id to commit with."""

    def __init__(self, keys: dict[str, list[str]]) -> None:
        self.keys = keys
        self.columns: dict[str, list[str]] = {}
        self.merges: dict[str, str] = {}
        self.run_id: str | None = None

    def translate(self, con: duckdb.DuckDBPyConnection, sql: str) -> str:
        """`sql` as the lake runs it: an upsert as MERGE, anything else unchanged."""
        if not is_upsert(sql):
            return sql
        if sql not in self.merges:
            found = _INSERT_TARGET.search(sql)
            table = found.group(1) if found else ""
            if table not in self.columns:
                self.columns[table] = [c for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = ? and schema_name = 'main' "
                    "and table_name = ? order by column_index", [ALIAS, table]).fetchall()]
            self.merges[sql] = upsert_as_merge(sql, self.columns[table], self.keys.get(table, []))
        return self.merges[sql]

    def forget_columns(self) -> None:
        self.columns.clear()
        self.merges.clear()


class LakeConnection:
    """A lake connection that runs the file backend's SQL (see the module docstring); anything else
    (fetching, register, close) goes to the DuckDB connection underneath."""

    def __init__(self, con: duckdb.DuckDBPyConnection, shared: LakeSQL) -> None:
        self.raw = con
        self.shared = shared

    @password_masked
    def execute(self, sql: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        if sql.strip().lower() in ("begin", "begin transaction"):
            self.raw.execute("begin")
            self._take_turn()
            return self.raw
        sql = self.shared.translate(self.raw, sql)
        return self.raw.execute(sql) if parameters is None else self.raw.execute(sql, parameters)

    @password_masked
    def executemany(self, sql: str, parameters: Any) -> duckdb.DuckDBPyConnection:
        return self.raw.executemany(self.shared.translate(self.raw, sql), parameters)

    def _take_turn(self) -> None:
        run = self.shared.run_id or "newsflow"
        self.raw.execute(f"call {ALIAS}.set_commit_message('newsflow', ?, extra_info => ?)",
                         [f"run {run}", json.dumps({"run_id": run})])
        # An update (a delete and an insert), not DDL: DuckLake merges only files of one schema version,
        # and altering the table (a comment) made each batch's commit a new one, so no file ever merged.
        self.raw.execute(f"update {TURN_TABLE} set note = ?", [f"run {run}"])

    def cursor(self) -> LakeConnection:
        cur = self.raw.cursor()
        cur.execute(f"use {ALIAS}")  # the default database is per connection
        return LakeConnection(cur, self.shared)

    def __enter__(self) -> LakeConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def is_conflict(exc: BaseException) -> bool:
    """Whether `exc` is a DuckLake commit conflict (another writer committed first): worth retrying."""
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def _back_off(attempt: int) -> None:
    """Sleep before retry `attempt` (from 0): exponential, with jitter, capped at RETRY_MAX_S."""
    time.sleep(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** attempt) * random.uniform(0.5, 1.5))


def retried(action: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run `action` (one or more whole transactions) again while it fails on a commit conflict, with
    exponential backoff and jitter; other errors, and the last conflict, propagate."""
    for attempt in range(attempts):
        try:
            return action()
        except duckdb.TransactionException as exc:
            if not is_conflict(exc) or attempt == attempts - 1:
                raise
        _back_off(attempt)
    raise AssertionError("unreachable")


@password_masked
def migrate_lake(con: LakeConnection) -> list[str]:
    """Apply the numbered migrations the lake lacks (their lake variants, tasks/lake_sql.py), each in a
    transaction that takes its turn (and skips it when another writer has applied it meanwhile), then
    the views when anything changed or a view is missing."""
    con.raw.execute("create table if not exists schema_migrations (version integer not null, "
                    "name varchar not null, applied_at timestamptz not null)")
    con.raw.execute(f"create table if not exists {TURN_TABLE} (note varchar)")
    if not con.raw.execute(f"select count(*) from {TURN_TABLE}").fetchone()[0]:  # the row turns update
        con.raw.execute(f"insert into {TURN_TABLE} values ('newsflow writers take turns by updating this row')")
    done = {v for (v,) in con.execute("select version from schema_migrations").fetchall()}
    L.refuse_newer(con, done)
    applied = []
    for version, path in L.migrations():
        if version in done:
            continue
        with transaction(con):
            # Asked again inside the transaction, which takes its turn: a writer that applied it since
            # `done` was read has committed before this began, so it shows here.
            if con.execute("select count(*) from schema_migrations where version = ?", [version]).fetchone()[0]:
                continue
            con.execute(lake_migration(path.read_text(encoding="utf-8")))
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, path.name, L.utcnow()])
        applied.append(path.name)
    views = {v for (v,) in con.execute("select view_name from duckdb_views() where database_name = ?",
                                       [ALIAS]).fetchall()}
    if applied or {p.stem for p in view_files()} - views:
        with transaction(con):
            for path in view_files():
                con.execute(lake_view(path.read_text(encoding="utf-8")))
    con.shared.forget_columns()
    return applied


def connect_lake(url: str, data_path: str | None, memory_limit: str | None = None) -> LakeConnection:
    """A writer's connection: the lake attached, migrated and with its views."""
    keys = primary_keys(p.read_text(encoding="utf-8") for _v, p in L.migrations())
    for attempt in range(RETRY_ATTEMPTS):
        con = LakeConnection(open_lake(url, data_path), LakeSQL(keys))
        if memory_limit:
            con.raw.execute("set memory_limit = ?", [memory_limit])
        try:
            migrate_lake(con)
            return con
        except (duckdb.TransactionException, duckdb.CatalogException) as exc:
            con.close()
            if not is_setup_race(exc) or attempt == RETRY_ATTEMPTS - 1:
                raise
        _back_off(attempt)
    raise AssertionError("unreachable")


def is_setup_race(exc: BaseException) -> bool:
    """Whether `exc` comes from writers creating or migrating the same lake at once. DuckLake checks
    concurrent DDL less well than concurrent data: besides conflicts, the loser may see a column or table
    the winner just added ("already exists"), or fail to read the winner's snapshot at commit ("Failed to
    parse"). A fresh session re-reads the applied migrations and skips what the winner did."""
    text = str(exc)
    return is_conflict(exc) or "already exists" in text or "Failed to parse" in text


class LakeWarehouse(Warehouse):
    """One writer of a DuckLake warehouse (`--warehouse ducklake:postgres:...`), among any number.

    `analyst` is the local path the report and the Data Docs are written beside (Settings.db_path);
    the articles are in the lake."""

    publishes = False

    def __init__(self, analyst: Path, s: Settings) -> None:
        super().__init__(analyst, s)
        if not s.lake_data_path:
            raise LakeUnavailable(f"the lake {masked(s.warehouse)} needs a data path for its Parquet files: set "
                                  "NEWSFLOW_LAKE_DATA_PATH (a folder every writer reaches, or s3://bucket/prefix/)")
        self.url, self.data_path = str(s.warehouse), s.lake_data_path
        self._lake: LakeConnection | None = None
        self._slot: IO[bytes] | None = None  # the flock'ed file holding this writer's archive slot
        self._writer: str | None = None
        self._lease = RunLease(catalog_conninfo(self.url) or "")
        self.configure(s)

    def configure(self, s: Settings) -> None:
        super().configure(s)
        self.archive = ArchiveConfig(self.archive.folder, self.archive.max_file_bytes, self._writer_name())

    def _writer_name(self) -> str:
        """This process's own archive files among the lake's writers: `<host>-<folder>-<slot>-`, the
        first slot of its archive folder that no other process on this host holds (an flock kept while
        this writer lives), `<folder>` a digest of the folder's path (writers on one host with their own
        folders each have a slot 1). A later writer in the same slot goes on with its files, cutting
        what a killed one left uncommitted."""
        if self._writer is not None:
            return self._writer
        folder = self.archive.folder
        folder.mkdir(parents=True, exist_ok=True)
        host = re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"
        host += "-" + hashlib.sha256(os.fsencode(folder.resolve())).hexdigest()[:6]
        for slot in range(1, 1000):
            fh = open(folder / f".writer-{host}-{slot}-.lock", "ab")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            self._slot, self._writer = fh, f"{host}-{slot}-"
            return self._writer
        raise LakeUnavailable(f"more than 999 writers hold archive slots in {folder}")

    @property
    def name(self) -> str:
        return masked(self.url)

    @property
    def con(self) -> LakeConnection:  # type: ignore[override]
        if self._lake is None:
            self._lake = connect_lake(self.url, self.data_path, self.memory_limit)
        return self._lake

    def close(self) -> None:
        if self._lake is not None:
            self._lake.close()
            self._lake = None

    def checkpoint_when_due(self, reopen: bool = True) -> bool:
        return False  # every commit is a snapshot; the maintain flow compacts (flows/maintain.py)

    @contextmanager
    def turn(self, run_id: str, say: Callable[[str], object]) -> Iterator[None]:
        yield  # writers share the lake: each transaction takes its own turn (LakeConnection)

    def dead_runs(self) -> list[tuple[str, str | None]]:
        """(run_id, flow_run_id) of the runs still marked running whose lease no writer holds: their
        process died (tasks/run_leases.py). Empty with a catalog other than PostgreSQL, which has no leases."""
        conninfo = catalog_conninfo(self.url)
        if conninfo is None:
            return []
        running = dict(self.con.execute("select run_id, flow_run_id from runs where status = 'running'").fetchall())
        return [(r, running[r]) for r in dead_runs(conninfo, running)]

    def start_run(self, run_id: str, flow_run_id: str | None, sources: str, cleaner_version: str,
                  interrupted: Collection[str] | None = None) -> None:
        """Record the run, holding its lease first, and mark the runs `interrupted` lists (default:
        `dead_runs`) interrupted."""
        self.con.shared.run_id = run_id
        if catalog_conninfo(self.url) is not None:
            try:
                self._lease.hold(run_id)
            except psycopg.Error as exc:
                raise LakeUnavailable(f"cannot hold this run's lease on the lake's PostgreSQL server {self.name} "
                                      f"({exc}); check that it takes connections from this machine") from None
        dead = [r for r, _f in self.dead_runs()] if interrupted is None else list(interrupted)

        def start() -> None:
            with transaction(self.con):
                if dead:
                    self.con.execute("update runs set status = 'interrupted' where run_id in (select unnest(?)) "
                                     "and status = 'running'", [dead])
                L.start_run(self.con, run_id, flow_run_id, sources, cleaner_version)

        retried(start)

    def finish_run(self, run_id: str, status: str, seen: int, totals: L.BatchCounts,
                   expectations: dict[str, list[int]] | None = None) -> bool:
        results = {name: (ok, bad) for name, (ok, bad) in (expectations or {}).items()}
        retried(lambda: L.finish_run(self.con, run_id, status, seen, totals, results))
        self.close()
        self._lease.release()
        return False

    def publish(self) -> Path:
        return self.analyst  # analysts read the lake itself: nothing to copy

    def save_fetch_state(self, source: str, harvest, held: tuple[list, list[str]] = ([], [])) -> bool:
        return retried(lambda: super(LakeWarehouse, self).save_fetch_state(source, harvest, held))

    def load_batch(self, run_id, cleaner_version, docs, articles, rejected, packed=None,
                   fetch: L.FetchRows | None = None) -> L.BatchCounts:
        """One batch in one transaction, retried whole when another writer committed first: the retry
        sees that writer's rows, so an article both loaded is new in one and unchanged in the other."""
        self.con.shared.run_id = run_id
        return retried(lambda: L.load_batch(self.con, run_id, cleaner_version, docs, articles, rejected, packed,
                                            self.archive, fetch))

    def ensure_search_index(self) -> bool:
        return False  # the fts extension cannot index a lake table: `newsflow search` indexes locally


# -- what analysts and operators run on a lake -----------------------------------------------------------

def lake_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[tuple]:
    """(run_id, status, started_at, seconds, seen, new, updated, unchanged, quarantined, first_snapshot,
    last_snapshot, commits) per run, newest first (warehouse/sql/lake_runs.sql)."""
    return con.execute(statement("lake_runs"), [limit]).fetchall()


def lake_search_index(url: str, mirror: Path, say: Callable[[str], object] = print,
                      wait_s: float = MIRROR_WAIT_S) -> duckdb.DuckDBPyConnection:
    """A connection to `mirror`, a local DuckDB file holding the lake's articles (id, title, body, hash)
    with the BM25 index, brought up to date first: only articles added or changed since the last
    search are copied and indexed (warehouse/sql/lake_search_mirror.sql, tasks.search.index_articles).
    The fts extension cannot index a lake table; `search` then runs as on a DuckDB file, its
    `v_articles` reading the lake. While another search holds the mirror, waits (saying so) up to
    `wait_s`; a mirror that is no DuckDB file is built again (it is a cache).

    Raises:
        LakeUnavailable: the lake cannot be attached, or the mirror stayed held.
    """
    mirror.parent.mkdir(parents=True, exist_ok=True)
    con = _open_mirror(mirror, say, wait_s)
    attach_lake(con, url, read_only=True)
    with transaction(con):
        con.execute(statement("lake_search_table"))
        prepare_index(con)  # a new mirror's articles then enter the index incrementally, at half the CPU
        con.execute(statement("lake_search_mirror"))
        index_articles(con)
    return con


def _open_mirror(mirror: Path, say: Callable[[str], object], wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline, waiting = time.monotonic() + wait_s, False
    while True:
        try:
            return duckdb.connect(str(mirror))
        except duckdb.IOException as exc:
            if "not a valid DuckDB database file" in str(exc):
                say(f"{mirror} is not a DuckDB file: building the search index again")
                mirror.unlink()
                mirror.with_name(mirror.name + ".wal").unlink(missing_ok=True)
                continue
            if "Conflicting lock" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise LakeUnavailable(f"another `newsflow search` has held {mirror} for {wait_s:.0f} s; try again once it "
                                  "ends, or give another --db")
        if not waiting:
            say(f"waiting for another `newsflow search` to finish with {mirror}")
            waiting = True
        time.sleep(0.2)


@password_masked
def maintain_lake(url: str, data_path: str | None, retention_hours: float) -> dict[str, int | str]:
    """Merge small adjacent Parquet files, expire snapshots older than `retention_hours` and delete the
    files no snapshot references any more once they have been unneeded for CLEANUP_GRACE_S (or the
    retention, when shorter): a query or a batch that began before holds on to the files it read. Each
    step is retried when a writer commits first. A catalog holding no lake is refused, not given one.
    One maintain at a time: while another holds the lake (an advisory lock on the catalog's server),
    this one does nothing and says so (two at once deleted each other's inputs, and one failed)."""
    con = open_lake(url, data_path, create=False)
    try:
        with exclusive(catalog_conninfo(url) or "", "maintain") as mine:
            if not mine:
                return {"skipped": "another maintain is running on this lake"}
            return _maintain(con, retention_hours)
    finally:
        con.close()


def _maintain(con: duckdb.DuckDBPyConnection, retention_hours: float) -> dict[str, int | str]:
    # `select *`, not count(*): with no column asked for, these functions report rows but change nothing.
    # Merging returns no rows: what it did shows in the live data files, counted before and after.
    files = f"select coalesce(sum(file_count), 0)::bigint from ducklake_table_info('{ALIAS}')"
    before = con.execute(files).fetchone()[0]
    retried(lambda: con.execute(f"select * from ducklake_merge_adjacent_files('{ALIAS}')").fetchall())
    after = con.execute(files).fetchone()[0]
    expired = retried(lambda: len(con.execute(
        f"select * from ducklake_expire_snapshots('{ALIAS}', older_than => now() - to_microseconds(?))",
        [int(retention_hours * 3600e6)]).fetchall()))
    grace_us = int(min(retention_hours * 3600, CLEANUP_GRACE_S) * 1e6)
    removed = retried(lambda: len(con.execute(
        f"select * from ducklake_cleanup_old_files('{ALIAS}', older_than => now() - to_microseconds(?))",
        [grace_us]).fetchall()))
    return {"data_files_before": before, "data_files_after": after, "snapshots_expired": expired,
            "files_removed": removed}
