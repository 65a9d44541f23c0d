"""The warehouse writer: the one seam between the pipeline and where articles are stored.

A `Warehouse` is the analyst path (`--db`) plus the working DuckDB file beside it that only runs open
(tasks/publish.py). It owns, for its process (the single writer), the connection and its DuckDB
settings, the run's turn (tasks/runlock.py), run records, batch loads, what the fetcher remembers,
the checkpoint policy and publishing the analyst copy. Flows and the batch pipeline use only these
methods; `Warehouse.open` picks the backend from the settings: this file writer, or the DuckLake one
(tasks/lake.py: `LakeWarehouse`, several writers, no copy).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import duckdb

from newsflow.settings import WAREHOUSE_CHECKPOINT_THRESHOLD, Settings, work_db_path
from tasks import load as L
from tasks import runlock
from tasks.archive import ArchiveConfig
from tasks.dbfile import check_warehouse_file
from tasks.discover import FetchState, Harvest
from tasks.fetch_state import load_fetch_state, save_fetch_state
from tasks.models import Article, RawDocument, Rejected
from tasks.publish import needs_publish, prepare_work_db, publish
from tasks.search import ensure_index
from tasks.sql import statement, transaction


class Warehouse:
    """The single writer of one file warehouse. Get it with `Warehouse.open(analyst_path)`.

    Tasks receive the analyst path (Prefect cannot pass connections between tasks) and look the
    writer up here, so one process keeps one connection per warehouse across its task runs.
    """

    _open: ClassVar[dict[str, Warehouse]] = {}
    # Whether runs copy the working db to the analyst path (the lake has no copy: tasks/lake.py).
    publishes: ClassVar[bool] = True
    url: str | None = None  # the lake's `ducklake:postgres:...` (tasks/lake.py); a file has none

    def __init__(self, analyst: Path, s: Settings) -> None:
        self.analyst = analyst
        self.work = work_db_path(analyst)
        self.memory_limit = s.warehouse_memory_limit
        self.checkpoint_bytes = s.warehouse_checkpoint_bytes
        self.wait_s = s.warehouse_wait
        self.archive = ArchiveConfig(s.archive_path, s.archive_file_bytes)
        self._con: duckdb.DuckDBPyConnection | None = None
        # Within a run's turn (the file is this run's alone), whether the file was migrated and weighed
        # for compaction since the turn began (L.connect): a reopen after a checkpoint does neither again.
        self._holding = self._prepared = False

    @classmethod
    def open(cls, analyst: str | Path, s: Settings | None = None) -> Warehouse:
        """The process's writer for the warehouse at `analyst`: created on first use with the settings
        `s` (required then), the same object afterwards."""
        key = str(Path(analyst))
        if key not in cls._open:
            if s is None:
                raise RuntimeError(f"the warehouse {analyst} was not opened with its settings in this process")
            cls._open[key] = cls.backend(s)(Path(analyst), s)
        elif s is not None:
            if cls._open[key].url != (s.warehouse if s.lake else None):  # another backend
                cls._open.pop(key).close()
                return cls.open(analyst, s)
            cls._open[key].configure(s)
        return cls._open[key]

    @staticmethod
    def backend(s: Settings) -> type[Warehouse]:
        """The writer class for the settings' warehouse: this file writer, or the lake's."""
        if s.lake:
            from tasks.lake import LakeWarehouse

            return LakeWarehouse
        return Warehouse

    @property
    def name(self) -> str:
        """What runs report they loaded: the analyst path (the lake's URL there)."""
        return str(self.analyst)

    def configure(self, s: Settings) -> None:
        """Take a new run's settings (a process may run several flows on one warehouse)."""
        self.memory_limit, self.checkpoint_bytes, self.wait_s = (
            s.warehouse_memory_limit, s.warehouse_checkpoint_bytes, s.warehouse_wait)
        self.archive = ArchiveConfig(s.archive_path, s.archive_file_bytes)

    # -- connection -----------------------------------------------------------------------------

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The working db's connection, opened (and migrated) on first use."""
        if self._con is None:
            if not self.work.exists():  # seeded from the analyst copy when that is all there is
                prepare_work_db(self.analyst)
            con = L.connect(self.work, archive=self.archive, prepared=self._prepared)
            self._prepared = self._holding
            # DuckDB caches written blocks up to 80% of RAM: cap it so memory does not grow with the run.
            con.execute("set memory_limit = ?", [self.memory_limit])
            # The cores belong to the cleaning processes; a batch's inserts gain nothing from threads.
            con.execute("set threads = 1")
            con.execute("set checkpoint_threshold = ?", [WAREHOUSE_CHECKPOINT_THRESHOLD])
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def checkpoint_when_due(self, reopen: bool = True) -> bool:
        """Fold the WAL into the file once it has grown past `checkpoint_bytes`; True if it did.

        With `reopen` the connection is closed too, and the next use opens the file afresh: a
        checkpoint in the process that built the tables' indexes rewrites them whole and grows with
        the warehouse, one in a freshly opened process writes only what changed. DuckDB's own
        checkpoint (inside a commit) stays as a backstop at a higher threshold. Reclean reads stored
        documents through the connection while it loads, so it checkpoints without reopening.
        """
        try:
            if Path(f"{self.work}.wal").stat().st_size < self.checkpoint_bytes:
                return False
        except FileNotFoundError:
            return False
        self.con.execute("checkpoint")
        if reopen:
            self.close()
        return True

    # -- runs -----------------------------------------------------------------------------------

    @contextmanager
    def turn(self, run_id: str, say: Callable[[str], object]) -> Iterator[None]:
        """Hold this warehouse for one run, after any run already holding it (tasks/runlock.py). A file
        at the analyst path that is not a newsflow warehouse (a run from the UI given a wrong `db`) is
        refused first, before a lock file is made beside it."""
        check_warehouse_file(self.analyst)
        with runlock.hold(self.analyst, run_id, self.wait_s, say):
            runlock.note_run(self.analyst, run_id)
            prepare_work_db(self.analyst)
            self._holding, self._prepared = True, False
            try:
                yield
            finally:
                self._holding = self._prepared = False

    def dead_runs(self) -> list[tuple[str, str | None]]:
        """(run_id, flow_run_id) of the runs still marked running whose process died: here all of them
        (only one run holds the turn)."""
        return self.con.execute("select run_id, flow_run_id from runs where status = 'running'").fetchall()

    def start_run(self, run_id: str, flow_run_id: str | None, sources: str, cleaner_version: str,
                  interrupted: Collection[str] | None = None) -> None:
        """Record the run, and mark the runs `interrupted` lists (default: `dead_runs`) interrupted."""
        dead = [r for r, _f in self.dead_runs()] if interrupted is None else list(interrupted)
        with transaction(self.con):
            if dead:
                self.con.execute("update runs set status = 'interrupted' where run_id in (select unnest(?)) "
                                 "and status = 'running'", [dead])
            L.start_run(self.con, run_id, flow_run_id, sources, cleaner_version)

    def finish_run(self, run_id: str, status: str, seen: int, totals: L.BatchCounts,
                   expectations: dict[str, list[int]] | None = None) -> bool:
        """Record how the run ended (with its validation results per expectation: name -> [passed,
        failed], and whether it changed what its counts do not show: `totals.quiet`) and close the
        connection; True when the analyst copy must be published (tasks/publish.py: needs_publish)."""
        L.finish_run(self.con, run_id, status, seen, totals,
                     {name: (ok, bad) for name, (ok, bad) in (expectations or {}).items()})
        publish_needed = needs_publish(self.con, self.analyst, run_id)
        self.close()
        return publish_needed

    def mark_failed(self, run_id: str) -> None:
        """Record a run that completed as failed after all (its publish failed). Best effort: the
        failure that caused it is the one reported."""
        try:
            with transaction(self.con):
                self.con.execute("update runs set status = 'failed' where run_id = ?", [run_id])
        except Exception:  # noqa: BLE001 - see the docstring
            pass
        self.close()

    def publish(self) -> Path:
        """Checkpoint the working db and swap a copy in at the analyst path."""
        self.close()
        return publish(self.work, self.analyst)

    # -- what the pipeline reads and writes ----------------------------------------------------

    def known_document_ids(self) -> set[str]:
        return L.known_document_ids(self.con)

    def archives_whole(self, archives: list[str]) -> bool:
        """Web archives read to their end without a fault (file URIs): their earlier faults' quarantine
        rows go. Whether any did (a change the run's counts do not show)."""
        with transaction(self.con):
            (deleted,) = self.con.execute(statement("quarantine_archives_whole"), [archives]).fetchone()
        return deleted > 0

    def record_files_whole(self, files: dict[str, tuple[int, set[str]]]) -> bool:
        """JSON Lines files read to their end (file URI -> their lines, and the document ids of the lines
        that could not be read): the quarantine row of one of their lines goes when the file has no such
        line now (rotated, truncated) or the line is no longer one that could not be read. Whether any
        row went."""
        stale = []
        for document_id, uri, stage in self.con.execute(
                "select document_id, source_uri, stage from quarantine where contains(source_uri, '#L')").fetchall():
            file, _, line = uri.rpartition("#L")
            if file in files and line.isdigit():
                lines, faults = files[file]
                if int(line) > lines or (stage == "read" and document_id not in faults):
                    stale.append(document_id)
        if stale:
            with transaction(self.con):
                self.con.execute("delete from quarantine where document_id in (select unnest(?))", [stale])
        return bool(stale)

    def quarantined_document_ids(self) -> set[str]:
        return L.quarantined_document_ids(self.con)

    def dated_articles(self, article_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        return L.dated_articles(self.con, article_ids)

    def stored_files(self, earlier: set[str] | None = None) -> set[tuple[str, int, int]]:
        return L.stored_files(self.con, earlier)

    def earlier_versions(self) -> set[str]:
        return L.earlier_versions(self.con)

    def fetch_state(self, source: str) -> FetchState:
        return load_fetch_state(self.con, source)

    def save_fetch_state(self, source: str, harvest: Harvest, held: tuple[list, list[str]] = ([], [])) -> bool:
        """What the fetcher learnt this run; whether it took a row out of quarantine or recorded a fetch
        failing anew (tasks/fetch_state.py)."""
        return save_fetch_state(self.con, source, harvest, held)

    def load_batch(self, run_id: str, cleaner_version: str, docs: list[RawDocument], articles: list[Article],
                   rejected: list[Rejected], packed: list | None = None,
                   fetch: L.FetchRows | None = None) -> L.BatchCounts:
        """One batch: its raw pages appended to the archive, the rest in one transaction (tasks/load.py:
        load_batch) with its pages' fetch state. A load that fails closes the connection: one whose
        COMMIT failed (a full disk) commits the next transaction's strings run together (DuckDB
        1.4), so the task's retry, and whatever follows, opens the file afresh."""
        try:
            counts = L.load_batch(self.con, run_id, cleaner_version, docs, articles, rejected, packed, self.archive,
                                  fetch)
        except BaseException:
            self.close()
            raise
        return counts

    def ensure_search_index(self) -> bool:
        """Build the search index where it is missing or made before; whether it was (to publish)."""
        return ensure_index(self.con)
