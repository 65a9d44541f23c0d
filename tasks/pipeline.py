"""The batch pipeline that `ingest` and `reclean` share: clean -> validate -> load, batch by batch.

Documents are grouped into batches (`batches`); each batch is cleaned by one `clean-batch` task run
on the flow's task runner (threads feeding cleaning processes, worker processes or Dask), while the
flow's own process, the single writer, validates and loads each finished batch in one transaction
(`BatchWriter`). Batches go to tasks wrapped (`quote()`, or `Sealed` for the runner's workers):
otherwise Prefect walks every object in them looking for futures.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote as quote_url, unquote, urlsplit
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote

from newsflow.settings import BATCH_MAX_BYTES, CORES, MIN_BATCH_SIZE, CleaningLimits
from tasks.archive import ArchiveError
from tasks.clean import CLEANER_VERSION
from tasks.guard import SharedBatch, clean_batch_for_load, help_clean
from tasks.guard import interrupt as interrupt_cleaning
from tasks.load import BatchCounts, FetchRows
from tasks.models import Article, CleanedBatch, Flush, RawDocument, Rejected, Sealed
from tasks.progress import IngestProgress
from tasks.sources import StoredFile, discover
from tasks.validate import build_data_docs, preload as preload_validation, validate_articles
from tasks.warehouse import Warehouse

# The process the flow runs in (set when it starts); worker processes import this module afresh.
_FLOW_PROCESS: int | None = None


def mark_flow_process() -> None:
    """Record that this process runs the flow: cleaning tasks run here hand their batches over as they
    are; and remember a Ctrl-C (`stop_if_interrupted`)."""
    global _FLOW_PROCESS
    _FLOW_PROCESS = os.getpid()
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


_INTERRUPTED = threading.Event()  # a Ctrl-C reached the flow's process


def _on_sigint(signum, frame) -> None:
    """Ctrl-C raises KeyboardInterrupt, as by default, and is remembered: Python loses the exception
    where the signal lands in a finalizer ("Exception ignored in"), and DuckDB turns it into its own
    error ("Query interrupted"; a retried statement goes on), so that the run went on to `completed` or
    ended `failed`."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether a Ctrl-C reached this process since its flow started."""
    return _INTERRUPTED.is_set()


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt when a Ctrl-C reached this process and was lost on the way."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def cleaning_slots() -> int:
    """How many batches this flow run's task runner cleans at once: the threads of its Dask cluster's
    workers (counted as the run starts; a cluster on other machines may have many more than this one's
    cores), else this machine's cores (the thread and process runners)."""
    context = FlowRunContext.get()
    dask = sys.modules.get("prefect_dask.task_runners")  # imported where a run uses it
    if context is not None and dask is not None and isinstance(context.task_runner, dask.DaskTaskRunner):
        return sum(context.task_runner.client.nthreads().values()) or CORES
    return CORES


# ---------------------------------------------------------------------------------------------------
# Task wrappers: one task run per source or per batch, never per document.


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(sources: list[str], unmatched_ok: bool = False) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to read, and what was skipped on purpose with the reason (tasks/sources.py: discover)."""
    skipped: list[tuple[str, str]] = []
    return discover(sources, skipped, unmatched_ok), skipped


@task(name="clean-batch", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def clean_batch_task(docs: Sealed[list[RawDocument]], limits: CleaningLimits) -> CleanedBatch | bytes:
    """Clean and analyze one batch with a per-document time limit (tasks/guard.py).

    In a worker process (the process runner, Dask) the result comes back pickled as one bytes object:
    Prefect unpickles a process's task result twice in the flow's process and walks every object,
    which would cost the single writer more than the batch's own work. Read it with `unpack_cleaned`."""
    cleaned = clean_batch_for_load(docs.value, limits)
    if os.getpid() == _FLOW_PROCESS:
        return cleaned
    return pickle.dumps(cleaned, protocol=pickle.HIGHEST_PROTOCOL)


@task(name="clean-help", cache_policy=NO_CACHE)
def help_clean_task(shared: Sealed[SharedBatch], limits: CleaningLimits) -> int:
    """Help clean a batch that another task run is cleaning (the thread runner, at a run's end): returns
    how many of its documents this one cleaned."""
    return help_clean(shared.value, limits)


def unpack_cleaned(payload: CleanedBatch | bytes) -> CleanedBatch:
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


@task(name="validate-batch", cache_policy=NO_CACHE)
def validate_task(articles: list[Article], run_id: str):
    return validate_articles(articles, run_name=run_id)


def _retry_load(_task, _task_run, state) -> bool:
    """A batch's load is tried again (a lake's commit can conflict with another writer's), but not when
    the raw store cannot be written: that lasts until an operator acts, nor after a Ctrl-C."""
    return not isinstance(getattr(state, "data", None), ArchiveError) and not interrupted()


@task(name="load-batch", retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_retry_load, cache_policy=NO_CACHE)
def load_task(db: str, run_id: str, docs: list[RawDocument], articles: list[Article], rejected: list[Rejected],
              packed: list | None = None, fetch: FetchRows | None = None) -> BatchCounts:
    return Warehouse.open(db).load_batch(run_id, CLEANER_VERSION, docs, articles, rejected, packed, fetch)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(db: str) -> str:
    """Checkpoint the working db and swap a copy in at the analyst path (see tasks/publish.py)."""
    return str(Warehouse.open(db).publish())


@task(name="data-docs", cache_policy=NO_CACHE)
def data_docs_task(folder: str) -> str | None:
    """Build the run's Data Docs in `folder`; the file:// URL of their index, or None when they could not
    be built: the run's data is loaded either way, so this is a warning in the run's log, as for the
    report."""
    from prefect import get_run_logger

    try:
        return build_data_docs(Path(folder))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        get_run_logger().warning("the Data Docs were not built in %s: %s: %s", folder, type(exc).__name__, exc)
        return None


@task(name="report", cache_policy=NO_CACHE)
def report_task(db: str, data_docs_building: bool = False, lake: str | None = None) -> str | None:
    """Write report.html beside the analyst copy `db` (tasks/report.py), from that copy or from the
    `lake` when the warehouse is one; its file:// URL, or None when it could not be written: the run's
    data is loaded and published either way, so a failure here is a warning in the run's log, not a
    failed run. `data_docs_building`: the run's Data Docs are being built beside `db`, so they are
    linked before their index exists."""
    from prefect import get_run_logger

    from tasks.report import data_docs_link, report_path, write_report

    analyst = Path(db)
    out = report_path(analyst)
    try:
        written = write_report(lake or analyst, out, links=data_docs_link(analyst, out, data_docs_building))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        get_run_logger().warning("the report was not written: %s: %s", type(exc).__name__, exc)
        return None
    get_run_logger().info("report: %s (%d KB, %.1f s)", written.path, written.bytes // 1024, written.seconds)
    return written.path.as_uri()


# ---------------------------------------------------------------------------------------------------
# Runs whose process died


def begin_run(warehouse: Warehouse, run_id: str, flow_run_id: str | None, sources: str, logger) -> None:
    """Record the run in `warehouse`, after dealing with the runs still marked running whose process
    died (`Warehouse.dead_runs`): first their Prefect flow runs are set Crashed, then the runs are marked
    interrupted with this one's start. Killed in between, the next run finds them running and does both.
    A flow run Prefect runs again (Retry) keeps its id, so its row may be there already: not a dead run."""
    dead = [(r, f) for r, f in warehouse.dead_runs() if r != run_id]
    for dead_run, _flow_run in dead:
        logger.warning("run %s never recorded its end (its process died, or lost the warehouse): marked "
                       "interrupted", dead_run)
    crash_flow_runs([f for _r, f in dead if f], run_id, logger)
    warehouse.start_run(run_id, flow_run_id, sources, CLEANER_VERSION, interrupted=[r for r, _f in dead])


def ended_status(exc: BaseException, flow_run_id: str | None) -> str:
    """How a run that raised `exc` ended: `cancelled` when an operator stopped it (Ctrl-C, or the UI's
    Cancel: Prefect sets the flow run Cancelling, then stops its process with SIGTERM), else `failed`.
    A SIGTERM from anything else is a failure."""
    from prefect.exceptions import TerminationSignal

    if isinstance(exc, KeyboardInterrupt) or interrupted():
        return "cancelled"
    if not isinstance(exc, TerminationSignal) or flow_run_id is None:
        return "failed"
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except Exception:  # noqa: BLE001 - the API gone too: say what is known
        return "failed"
    return "cancelled" if state is not None and (state.is_cancelling() or state.is_cancelled()) else "failed"


def stop_cleaning(exc: BaseException) -> None:
    """When a run is interrupted (Ctrl-C, a cancel: not an Exception), end its cleaning processes now,
    so the batches being cleaned fail at once and the run records its end and publishes promptly."""
    if not isinstance(exc, Exception):
        interrupt_cleaning()


def publish_run(warehouse: Warehouse, run_id: str) -> None:
    """Publish the analyst copy after a run that completed (`publish_task`). When that fails (the
    analyst file's disk full), the run is recorded `failed`, as the command reports it."""
    try:
        publish_task(str(warehouse.analyst))
    except BaseException:
        warehouse.mark_failed(run_id)
        raise


def publish_after_failure(warehouse: Warehouse, needed: bool, logger) -> None:
    """After a run that failed or was cancelled: copy what its committed batches loaded, and its row in
    `runs`, to the analyst file now (when anything changed), not at the next run. Best effort: the
    run's own error is the one it reports."""
    if not (needed and warehouse.publishes):
        return
    try:
        warehouse.publish()
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logger.warning("the analyst copy %s was not refreshed after the run ended (%s: %s); the next run "
                       "refreshes it", warehouse.analyst, type(exc).__name__, exc)


def crash_flow_runs(flow_run_ids: list[str], found_by: str, logger) -> int:
    """Set these Prefect flow runs Crashed where the API still shows them unfinished; returns how many.
    A run the API does not know (another Prefect server's) is left alone: the warehouse records it."""
    if not flow_run_ids:
        return 0
    from prefect import get_client
    from prefect.states import Crashed

    crashed = 0
    with get_client(sync_client=True) as client:
        for flow_run_id in flow_run_ids:
            try:
                state = client.read_flow_run(UUID(flow_run_id)).state
                if state is not None and state.is_final():
                    continue
                client.set_flow_run_state(UUID(flow_run_id), Crashed(
                    message=f"Its process died. newsflow run {found_by} found it unfinished in the warehouse "
                            "and marked it interrupted."), force=True)
                crashed += 1
            except Exception as exc:  # noqa: BLE001 - bookkeeping only: never fails the run that found it
                logger.info("flow run %s not marked crashed: %s: %s", flow_run_id, type(exc).__name__, exc)
    return crashed


def cancelled_if_stopped(flow, flow_run, state) -> None:
    """The flows' `on_crashed` hook: a run its operator stopped (Ctrl-C, or serve stopped by Ctrl-C or
    SIGTERM), which the warehouse records `cancelled`, is set Cancelled in Prefect too. Prefect's engine
    reports an interrupted flow Crashed: the UI showed every run in flight Crashed when serve restarted.
    Best effort: the warehouse's record is the one that counts."""
    if not interrupted():
        return
    from prefect import get_client
    from prefect.states import Cancelled

    try:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run.id, Cancelled(
                message="Stopped by its operator (Ctrl-C, or serve stopped); newsflow recorded the run "
                        "cancelled, keeping the batches it loaded."), force=True)
    except Exception as exc:  # noqa: BLE001 - bookkeeping only
        logging.getLogger(__name__).info("flow run %s not marked cancelled: %s: %s", flow_run.id,
                                         type(exc).__name__, exc)


# ---------------------------------------------------------------------------------------------------
# Batches and the writer


@dataclass
class RunSummary:
    """What a run did, as the CLI prints it and the run's artifact shows it."""

    run_id: str
    db: str
    documents_seen: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    quarantined: int = 0
    still_quarantined: int = 0  # of the unchanged: documents seen before that are (or are again) in quarantine
    segments_removed: int = 0
    quarantine: list[tuple[str, list[str]]] = field(default_factory=list)
    expectations: dict[str, list[int]] = field(default_factory=dict)
    fetch: dict[str, int] = field(default_factory=dict)
    fetch_hosts: dict[str, list[float]] = field(default_factory=dict)  # host -> [urls, fetched, failed, s, max s]
    fetch_failures: dict[str, int] = field(default_factory=dict)  # failure reason (kind) -> count
    skipped: list[tuple[str, str]] = field(default_factory=list)  # passed over on purpose, with why
    warc: dict[str, int] = field(default_factory=dict)  # web archives' records by what became of them
    seconds: float = 0.0
    data_docs: str | None = None
    slowest: list[tuple[float, str]] = field(default_factory=list)
    report: str | None = None  # file:// URL of report.html beside the analyst copy
    report_refreshed: bool = False  # whether this run wrote it (runs that change nothing leave it)
    served_at: str | None = None  # where `newsflow serve` serves report.html and data_docs/ (Settings.report_url)

    def as_dict(self) -> dict:
        return asdict(self)

    def counted(self, batch: list[RawDocument]) -> list[RawDocument]:
        """`batch`, counted as seen (for batches that do not come through `batches`)."""
        self.documents_seen += len(batch)
        return batch

    def count(self, totals: BatchCounts) -> None:
        """Take the loads' counts, adding to them the documents skipped before cleaning (unchanged)."""
        totals.unchanged += self.articles_unchanged
        self.articles_new = totals.new
        self.articles_updated = totals.updated
        self.articles_unchanged = totals.unchanged
        self.quarantined = totals.quarantined
        self.still_quarantined += totals.still_quarantined
        self.segments_removed = totals.segments_removed
        self.quarantine = totals.quarantine_reasons


def batches(docs: Iterable[RawDocument | StoredFile | Flush], known: set[str], size: int, summary: RunSummary,
            progress: IngestProgress | None = None, expected: int | Callable[[], int] | None = None,
            workers: int = 1, earlier: set[str] | frozenset[str] = frozenset(),
            max_bytes: int = BATCH_MAX_BYTES,
            quarantined: set[str] | frozenset[str] = frozenset()) -> Iterator[list[RawDocument]]:
    """Group the documents not yet in the warehouse into batches of `size` documents or `max_bytes`
    bytes as received, whichever comes first; count the rest as unchanged, and those of them among
    `quarantined` (ids of documents in quarantine) as still quarantined too. A
    FLUSH in the stream sends the batch gathered so far (documents arriving slowly from the network).
    `earlier`: ids of known documents whose source has loaded another version since; read again, such
    a document is its source's current version and goes into a batch, unless it is a web archive's
    record (an earlier capture never replaces a later one).

    With `expected` (how many documents the run will see at most, or a function estimating it as the
    run goes: web archives), batches shrink towards the end to what is left divided by the number of
    workers, not below MIN_BATCH_SIZE, so the workers finish together instead of one cleaning the last
    full batch alone (guided self-scheduling). Dividing by the workers, not a multiple of them, keeps
    the batches few: each costs ~0.4 s of CPU whatever its size (its validation, load transaction and
    Prefect task runs). An estimate is asked again at every document, so a batch begun on a wild early
    guess (the first pages of an archive) closes once the guess settles."""
    batch: list[RawDocument] = []
    target, first, earlier, held = size, 0, set(earlier), 0
    for doc in docs:
        if isinstance(doc, Flush):
            if batch:
                yield batch
                batch, held = [], 0
            continue
        summary.documents_seen += 1
        if isinstance(doc, StoredFile) or (doc.document_id in known and (
                doc.document_id not in earlier or doc.captured)):
            summary.articles_unchanged += 1
            if isinstance(doc, RawDocument) and doc.document_id in quarantined:
                summary.still_quarantined += 1
            if progress is not None:
                progress.advance(1, doc.progress_bytes)
            continue
        known.add(doc.document_id)  # the same bytes twice in one run load once
        earlier.discard(doc.document_id)
        if not batch:
            first = summary.documents_seen
        if expected is not None:  # an estimate is asked again at each document: it improves as a file is read
            total = expected() if callable(expected) else expected
            left = max(1, total - first + 1)  # from the batch's first document on
            target = min(size, max(MIN_BATCH_SIZE, -(-left // workers)))
        batch.append(doc)
        held += doc.size_bytes
        if len(batch) >= target or held >= max_bytes:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _bytes(batch: list[RawDocument]) -> int:
    return sum(d.size_bytes for d in batch)


@dataclass
class BatchWriter:
    """The flow's single writer: validates and loads each cleaned batch and counts it into the run.

    `language` (a source limit) quarantines articles detected in another language; `reopen` says
    whether a due checkpoint may reopen the connection (not while the caller reads through it)."""

    warehouse: Warehouse
    run_id: str
    summary: RunSummary
    logger: Any
    limits: CleaningLimits = field(default_factory=CleaningLimits)
    language: str | None = None
    progress: IngestProgress | None = None
    reopen: bool = True
    fetch_rows: Callable[[list[RawDocument]], FetchRows] | None = None  # the fetch state a batch loads with
    # Batches are cleaned by threads of this process (the thread runner): once every batch is submitted,
    # a thread with none left helps with the unfinished ones (tasks.guard.SharedBatch).
    share: bool = False
    # Documents cleaned again because the future date they were quarantined for has come: they passed
    # their own source's language check then, whichever source this run reads.
    retried: set[str] = field(default_factory=set)
    totals: BatchCounts = field(default_factory=BatchCounts)
    loaded: int = 0  # batches finished so far

    def run(self, docs: Iterable[list[RawDocument]], max_in_flight: int, load_max: int | None = None) -> None:
        """Submit each batch for cleaning as it comes, at most `max_in_flight` being cleaned at once, and
        load them in order as they are cleaned.

        A batch cleaned ahead of an older one waits for it, but does not hold back the next submission
        (at most 2 x `max_in_flight` batches are held). When the oldest is cleaned, the batches after it
        that are cleaned too load with it, in one validation and one transaction of at most `load_max`
        documents (default: the largest batch): a run's last, small batches, which all wait for the
        bigger one before them, then cost one load instead of one each (~0.35 s of the writer's CPU
        apiece besides their documents). With `share`, once the last batch is submitted each unfinished
        one gets a `clean-help` task run, which a thread left without batches runs alongside it."""
        # Submitted, not yet loaded, in order: (batch, its future, its SharedBatch with `share`).
        held: deque[tuple[list[RawDocument], Any, SharedBatch | None]] = deque()
        cleaned: set[int] = set()  # ids of the futures whose batch is cleaned
        ready = threading.Condition()

        def on_cleaned(future) -> None:
            with ready:
                cleaned.add(id(future))
                ready.notify()

        def room() -> bool:  # for one more batch
            return sum(id(f) not in cleaned for _, f, _ in held) < max_in_flight and len(held) < 2 * max_in_flight

        def wait_and_load(until: Callable[[], bool]) -> None:
            with ready:
                ready.wait_for(lambda: id(held[0][1]) in cleaned or until())
            self._load_ready(held, cleaned, load_max)

        for batch in docs:
            stop_if_interrupted()
            shared = SharedBatch(batch) if self.share else None
            future = clean_batch_task.submit(Sealed(shared or batch), self.limits)
            held.append((batch, future, shared))
            future.add_done_callback(on_cleaned)
            if self.loaded == 0 and len(held) == 1:
                preload_validation()  # GX imports while the helpers start, not after the first batch
            self._load_ready(held, cleaned, load_max)
            while not room():
                wait_and_load(room)
        helpers = [help_clean_task.submit(Sealed(shared), self.limits)
                   for _, f, shared in held if shared is not None and id(f) not in cleaned]
        while held:
            wait_and_load(lambda: False)
        for helper in helpers:
            helper.wait()  # each returns once its batch has nothing left to take

    def _load_ready(self, held: deque, cleaned: set[int], load_max: int | None) -> None:
        """Load the oldest held batches while the oldest is cleaned, each time with the cleaned ones
        right after it, up to `load_max` documents and BATCH_MAX_BYTES in all."""
        while held and id(held[0][1]) in cleaned:
            limit = load_max or max(len(b) for b, *_ in held)
            group = [held.popleft()]
            size, held_bytes = len(group[0][0]), _bytes(group[0][0])
            while held and id(held[0][1]) in cleaned:
                more, more_bytes = len(held[0][0]), _bytes(held[0][0])  # each batch summed once
                if size + more > limit or held_bytes + more_bytes > BATCH_MAX_BYTES:
                    break
                size, held_bytes = size + more, held_bytes + more_bytes
                group.append(held.popleft())
            cleaned.difference_update(id(f) for _, f, _ in group)  # a freed future's id may be reused
            self.finish(group)

    def finish(self, group: list[tuple[list[RawDocument], Any, SharedBatch | None]]) -> None:
        """Take consecutive cleaned batches (oldest first), then validate and load them in one transaction."""
        batch, results, packed = [], [], []
        for docs, future, _ in group:
            cleaned = unpack_cleaned(future.result())
            batch += docs
            results += cleaned.results
            packed += cleaned.packed
            # Prefect's future and its state hold the batch's result in a reference cycle, freed only by
            # a full garbage collection; emptying it keeps the writer's memory at the batches held.
            cleaned.results, cleaned.packed = [], []
        self.summary.slowest = sorted(self.summary.slowest + [(round(sec, 3), r.source_uri) for r, sec in results],
                                      reverse=True)[:10]
        rejected = [r for r, _ in results if isinstance(r, Rejected)]
        articles = [r for r, _ in results if isinstance(r, Article)]
        del results
        stages = {d.document_id: d.fields["stage"] for d in batch if d.error and d.fields.get("stage")}
        for r in rejected:  # e.g. a refused or failed download is a "fetch" rejection, not a "read" one
            r.stage = stages.get(r.document_id, r.stage)
        articles, wrong_language = self._language_split(articles)
        articles, walls = self._walls(articles)
        rejected += wrong_language + walls
        counts = BatchCounts()
        articles, counts.unchanged = newest_captures(batch, articles)
        for docs, records, versions in in_rounds(batch, packed, articles):
            validation = validate_task(quote(versions), self.run_id)
            for name, (ok, bad) in validation.per_expectation.items():
                seen = self.summary.expectations.setdefault(name, [0, 0])
                seen[0] += ok
                seen[1] += bad
            fetch = self.fetch_rows(docs) if self.fetch_rows is not None else None
            counts.add(load_task(str(self.warehouse.analyst), self.run_id, quote(docs), quote(validation.valid),
                                 quote(rejected + validation.rejected), quote(records), quote(fetch)))
            rejected = []
        self.totals.add(counts)
        first = self.loaded + 1
        self.loaded += len(group)
        self.logger.info("%s: %d docs -> %d new, %d updated, %d unchanged, %d quarantined",
                         f"batch {first}" if len(group) == 1 else f"batches {first}-{self.loaded}", len(batch),
                         counts.new, counts.updated, counts.unchanged, counts.quarantined)
        if self.progress is not None:
            self.progress.advance(len(batch), sum(d.progress_bytes for d in batch))
        if self.warehouse.checkpoint_when_due(reopen=self.reopen) and self.reopen:
            self.logger.info("checkpointed the working db and opened it afresh")

    def _walls(self, articles: list[Article]) -> tuple[list[Article], list[Rejected]]:
        """The articles without new versions that would replace a dated article with an undated page
        under another title: what a consent, error or paywall page served at the article's URL looks
        like. Such a version is quarantined and the stored article stays; the page's next real version
        replaces it as usual."""
        undated = [a.article_id for a in articles if not a.published_at]
        stored = self.warehouse.dated_articles(undated) if undated else {}
        walls = {a.document_id: stored[a.article_id][1] for a in articles if not a.published_at
                 and a.article_id in stored and stored[a.article_id][0] != a.document_id
                 and a.title != stored[a.article_id][1]}
        if not walls:
            return articles, []
        return [a for a in articles if a.document_id not in walls], [
            Rejected(a.document_id, a.source_uri, "validate",
                     [f"not taken: this version of the page states no date and is titled {a.title!r}, where the "
                      f"stored article {walls[a.document_id]!r} is dated (a consent, error or paywall page in "
                      "its place?); the stored version stays"])
            for a in articles if a.document_id in walls]

    def _language_split(self, articles: list[Article]) -> tuple[list[Article], list[Rejected]]:
        if not self.language:
            return articles, []
        fits = [not a.language or a.language == self.language or a.document_id in self.retried for a in articles]
        kept = [a for a, ok in zip(articles, fits) if ok]
        wrong = [Rejected(a.document_id, a.source_uri, "validate",
                          [f"language '{a.language}' is not the source's language '{self.language}'"])
                 for a, ok in zip(articles, fits) if not ok]
        return kept, wrong


def newest_captures(batch: list[RawDocument], articles: list[Article]) -> tuple[list[Article], int]:
    """The articles without those of a page's earlier captures in the same batch, and how many went: the
    newest capture (WARC-Date) is what the article ends as (tasks/load.py keeps an earlier capture from
    setting it back), so the others need no round of their own (`in_rounds`: 200 captures of one page
    were 200 loads). Their documents stay in the batch and are stored. Pages read otherwise than from a
    web archive, or a capture without a date, keep every version."""
    when = {d.document_id: d.captured_at for d in batch}
    every = {a.article_id for a in articles if when.get(a.document_id) is None}  # a version not a dated capture
    newest: dict[str, tuple[datetime, int]] = {}  # article id -> (WARC-Date, index) of its latest capture
    for i, a in enumerate(articles):
        if a.article_id not in every:
            newest[a.article_id] = max(newest.get(a.article_id, (when[a.document_id], i)), (when[a.document_id], i))
    kept = [a for i, a in enumerate(articles) if a.article_id in every or newest[a.article_id][1] == i]
    return kept, len(articles) - len(kept)


def in_rounds(batch: list[RawDocument], packed: list, articles: list[Article]
              ) -> list[tuple[list[RawDocument], list, list[Article]]]:
    """A load's (documents, packed records, articles) in rounds: the first version of each article id,
    then the second, and so on, each round with the documents its articles came from (the rest of the
    batch goes with the first). One round unless an article comes twice: a URL listed twice in a feed,
    a file or a web archive, or in batches loaded together. It then loads as it would from batches
    one after another, the later version updating the earlier, instead of both failing validation."""
    rounds: list[list[Article]] = []
    version: dict[str, int] = {}
    for a in articles:
        k = version[a.article_id] = version.get(a.article_id, -1) + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(a)
    if len(rounds) <= 1:
        return [(batch, packed, articles)]
    round_of = {a.document_id: k for k, versions in enumerate(rounds) for a in versions}
    split: list[tuple[list[RawDocument], list]] = [([], []) for _ in rounds]
    for doc, record in zip(batch, packed):
        docs, records = split[round_of.get(doc.document_id, 0)]
        docs.append(doc)
        records.append(record)
    return [(docs, records, versions) for (docs, records), versions in zip(split, rounds)]


def still_quarantined_note(n: int) -> str:
    """What a run says of the documents it skipped as seen before that are still in quarantine."""
    return (f"Of the unchanged, {n:,} document(s) are still in quarantine from an earlier run (the quarantine "
            "table has their reasons): mend them at their source, and the next run reads them again")


def summary_markdown(s: RunSummary) -> str:
    """The run's `ingest-summary` artifact."""
    lines = [
        f"# newsflow ingest `{s.run_id}`",
        "",
        "| documents seen | new | updated | unchanged | quarantined | segments removed | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s.documents_seen} | {s.articles_new} | {s.articles_updated} | {s.articles_unchanged} | "
        f"{s.quarantined} | {s.segments_removed} | {s.seconds} |",
        "",
        f"Warehouse: `{s.db}`",
    ]
    if s.still_quarantined:
        lines += ["", still_quarantined_note(s.still_quarantined)]
    lines += _links(s)
    shown = {k: v for k, v in s.fetch.items() if v}
    if shown:
        lines += ["", "## Fetch", "", "| " + " | ".join(shown) + " |", "|" + "---:|" * len(shown),
                  "| " + " | ".join(str(v) for v in shown.values()) + " |"]
    lines += _fetch_tables(s)
    lines += _table("Web archives", ("records", "count"),
                    [(_code(what), n) for what, n in sorted(s.warc.items(), key=lambda kv: -kv[1])])
    lines += _table("Validation", ("expectation", "passed", "failed"),
                    [(f"`{name}`", ok, bad) for name, (ok, bad) in s.expectations.items()])
    lines += _table("Slowest documents", ("seconds", "source"), [(sec, _code(src)) for sec, src in s.slowest])
    lines += _table("Skipped", ("item", "reason"), [(_code(item), _code(why)) for item, why in s.skipped[:200]])
    lines += _table("Quarantined", ("source", "reasons"),
                    [(_code(src), _code("; ".join(r))) for src, r in s.quarantine[:200]])
    return "\n".join(lines)


def _fetch_tables(s: RunSummary, shown: int = 20) -> list[str]:
    """Per-host counts (the busiest hosts), the slowest hosts by mean response time, failures by reason."""
    hosts = sorted(s.fetch_hosts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    lines = _table(f"Fetch by host ({len(hosts)} hosts)", ("host", "URLs", "fetched", "failed", "seconds"),
                   [(_code(h), int(n), int(ok), int(bad), round(sec, 2)) for h, (n, ok, bad, sec, _) in hosts[:shown]])
    timed = [(sec / ok, slowest, h) for h, (_, ok, _, sec, slowest) in s.fetch_hosts.items() if ok]
    lines += _table("Slowest hosts", ("host", "mean seconds", "slowest seconds"),
                    [(_code(h), round(mean, 3), round(slow, 3)) for mean, slow, h in sorted(timed, reverse=True)[:10]])
    lines += _table("Fetch failures by reason", ("reason", "URLs"),
                    [(_code(why), n) for why, n in sorted(s.fetch_failures.items(), key=lambda kv: -kv[1])[:shown]])
    return lines


def _served_name(file_url: str, depth: int = 1) -> str:
    """The last `depth` parts of a file:// URL beside the warehouse: its path where `newsflow serve`
    serves the warehouse's folder (report.html; data_docs/index.html)."""
    return quote_url("/".join(Path(unquote(urlsplit(file_url).path)).parts[-depth:]))


def _links(s: RunSummary) -> list[str]:
    """The report and the Data Docs: over HTTP where `newsflow serve` serves them (a browser follows
    those from the UI), else as files with how to open them."""
    if not (s.report or s.data_docs):
        return []
    report = "News report, refreshed by this run" if s.report_refreshed else "News report (this run changed nothing)"
    lines = [""]
    if s.served_at:
        if s.report:
            url = f"{s.served_at}/{_served_name(s.report)}"
            lines += [f"{report}: [{url}]({url})", ""]
        if s.data_docs:
            url = f"{s.served_at}/{_served_name(s.data_docs, depth=2)}"
            lines += [f"Great Expectations Data Docs for this run: [{url}]({url})", ""]
        return lines[:-1]
    for label, url in ((report, s.report), ("Great Expectations Data Docs for this run", s.data_docs)):
        if url:
            lines += [f"{label}: `{url}`", ""]
    lines.append("Browsers do not open `file://` links from this page: paste the address into a new tab, or run "
                 "`newsflow serve`, whose runs link to these over HTTP.")
    return lines


def _code(text: str) -> str:
    """Text from the input (a source, a reason quoting a URL or a page) as a code span, shown as it is: no
    link, image or HTML (the Prefect UI sanitises HTML but keeps images, which a hostile URL would have
    every browser showing the run fetch). The fence is longer than any run of backticks inside, so a
    backtick cannot close the span early and let what follows be read as markup (CommonMark)."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(title: str, header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    if not rows:
        return []
    # One line a cell: a reason may hold a newline (an exception's message), which would end the row.
    cells = lambda row: "| " + " | ".join(" ".join(str(c).split()).replace("|", "/") for c in row) + " |"  # noqa: E731
    numeric = ("passed", "failed", "seconds", "URLs", "fetched", "mean seconds", "slowest seconds", "count")
    align = "|" + "".join("---:|" if h in numeric else "---|" for h in header)
    return ["", f"## {title}", "", cells(header), align, *map(cells, rows)]
