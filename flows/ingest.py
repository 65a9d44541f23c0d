"""The `ingest` flow: discover -> read -> clean (batches, in cleaning processes) -> validate -> load.

The flow only composes; the work lives in tasks/. One Prefect task run per batch, never per article.
Batches go to tasks wrapped (`quote()`, or `Sealed` for the runner's workers): otherwise Prefect walks
every object in them looking for futures, which cost the single writer more than validating them.
Cleaning batches run on the flow's task runner while this process, the single writer, validates and
loads each finished batch in its own transaction. By default the runner's threads (one per core) each
feed one cleaning process (tasks/guard.py), so the CPU-bound work runs in parallel outside this
process's GIL; `newsflow ingest --task-runner process|dask` runs the batches in worker processes or on
a Dask cluster instead.
"""

from __future__ import annotations

import itertools
import os
import pickle
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from newsflow.config import RunPlan, plan_run
from newsflow.progress import IngestProgress
from newsflow.settings import (BATCH_SIZE, CORES, MIN_BATCH_SIZE, WAREHOUSE_CHECKPOINT_BYTES,
                               WAREHOUSE_CHECKPOINT_THRESHOLD, WAREHOUSE_MEMORY_LIMIT, WAREHOUSE_WAIT_S, db_path)
from tasks import load as L
from tasks import runlock
from tasks.clean import CLEANER_VERSION
from tasks.discover import fetch_source_task
from tasks.fetch_state import load_fetch_state, save_fetch_state
from tasks.guard import clean_batch_for_load
from tasks.models import Article, CleanedBatch, RawDocument, Rejected, Sealed
from tasks.publish import needs_publish, prepare_work_db, publish
from tasks.search import ensure_index
from tasks.sources import StoredFile, discover, read_all
from tasks.validate import build_data_docs, preload as preload_validation, validate_articles


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(sources: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    skipped: list[tuple[str, str]] = []
    return discover(sources, skipped), skipped


# The process the flow runs in (set when it starts); worker processes import this module afresh.
_FLOW_PROCESS: int | None = None


def mark_flow_process() -> None:
    """Record that this process runs the flow: cleaning tasks run here hand their batches over as they are."""
    global _FLOW_PROCESS
    _FLOW_PROCESS = os.getpid()


@task(name="clean-batch", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def clean_batch_task(docs: Sealed[list[RawDocument]]) -> CleanedBatch | bytes:
    """Clean and analyze one batch with a per-document time limit (tasks/guard.py); each result comes
    with the seconds it took (for the slowest-documents report), the raw bytes come back compressed.

    In a worker process (the process runner, Dask) the CleanedBatch comes back pickled, as one bytes
    object: Prefect unpickles a process's task result twice in the flow's process (once only to check
    that it can), and cloudpickle walks every object, so one bytes object costs the single writer a
    fraction of the batch's thousands of objects. In the flow's own threads it is returned as it is.
    Read it with `unpack_cleaned`."""
    cleaned = clean_batch_for_load(docs.value)
    if os.getpid() == _FLOW_PROCESS:
        return cleaned
    return pickle.dumps(cleaned, protocol=pickle.HIGHEST_PROTOCOL)


def unpack_cleaned(payload: CleanedBatch | bytes) -> CleanedBatch:
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


@task(name="validate-batch", cache_policy=NO_CACHE)
def validate_task(articles: list[Article], run_id: str):
    return validate_articles(articles, run_name=run_id)


@task(name="data-docs", cache_policy=NO_CACHE)
def data_docs_task(folder: str) -> str | None:
    return build_data_docs(Path(folder))


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(work: str, analyst: str) -> str:
    """Checkpoint the working db and swap a copy in at the analyst path (see tasks/publish.py)."""
    return str(publish(Path(work), Path(analyst)))


@task(name="load-batch", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def load_task(db: str, run_id: str, docs: list[RawDocument], articles: list[Article], rejected: list[Rejected],
              packed: list[bytes | None] | None = None):
    con = _connection(db)
    return L.load_batch(con, run_id, CLEANER_VERSION, docs, articles, rejected, packed)


_CONNECTIONS: dict[str, object] = {}


def _connection(db: str):
    """One connection per warehouse per process: the flow's process is the only writer."""
    if db not in _CONNECTIONS:
        _CONNECTIONS[db] = L.connect(db)
        # DuckDB keeps written blocks cached up to 80% of RAM: cap it so memory does not grow with the run.
        _CONNECTIONS[db].execute(f"set memory_limit = '{WAREHOUSE_MEMORY_LIMIT}'")
        # The cores belong to the cleaning processes; a batch's inserts are too small to gain from threads.
        _CONNECTIONS[db].execute("set threads = 1")
        _CONNECTIONS[db].execute(f"set checkpoint_threshold = '{WAREHOUSE_CHECKPOINT_THRESHOLD}'")
    return _CONNECTIONS[db]


def _close(db: str) -> None:
    con = _CONNECTIONS.pop(db, None)
    if con is not None:
        con.close()


def _checkpoint_when_due(db: str, reopen: bool = True) -> bool:
    """Fold the WAL into the file once it has grown past WAREHOUSE_CHECKPOINT_BYTES; with `reopen`, also
    close the connection, so that the next batch opens the file afresh (`_connection`). True if it did.

    DuckDB's automatic checkpoint runs inside a commit, and in the process that loaded the warehouse it
    grows with the warehouse: 0.5 -> 1.7 s of CPU each over a 20,000-page run (~9 s in all). On a copy of
    that warehouse, after one more batch, a checkpoint took 2-4 s in a process that had built the tables
    (their primary-key indexes included) and 0.1-0.2 s in one that had opened the file afresh, which reads
    the indexes back from it lazily (docs/performance.md, eighth round). Reclean reads the stored
    documents from the connection while it loads, so it checkpoints without reopening."""
    try:
        if Path(f"{db}.wal").stat().st_size < WAREHOUSE_CHECKPOINT_BYTES:
            return False
    except FileNotFoundError:
        return False
    _connection(db).execute("checkpoint")
    if reopen:
        _close(db)
    return True


@dataclass
class RunSummary:
    run_id: str
    db: str
    documents_seen: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    quarantined: int = 0
    segments_removed: int = 0
    quarantine: list[tuple[str, list[str]]] = field(default_factory=list)
    expectations: dict[str, list[int]] = field(default_factory=dict)
    fetch: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # passed over on purpose, with why
    seconds: float = 0.0
    data_docs: str | None = None
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def batches(docs: Iterator[RawDocument | StoredFile], known: set[str], size: int, summary: RunSummary,
            progress: IngestProgress | None = None, expected: int | None = None,
            workers: int = 1) -> Iterator[list[RawDocument]]:
    """Group the documents not yet in the warehouse into batches; count the rest as unchanged.

    With `expected` (how many documents the run will see at most), batches shrink towards the end to
    what is left divided by twice the number of workers, not below MIN_BATCH_SIZE, so the workers
    finish together instead of one cleaning the last full batch alone (guided self-scheduling)."""
    batch: list[RawDocument] = []
    target = size
    for doc in docs:
        summary.documents_seen += 1
        if isinstance(doc, StoredFile) or doc.document_id in known:
            summary.articles_unchanged += 1
            if progress is not None:
                progress.advance(1, doc.size_bytes)
            continue
        known.add(doc.document_id)  # the same bytes twice in one run load once
        if not batch and expected is not None:
            left = max(1, expected - summary.documents_seen + 1)  # this document included
            target = min(size, max(MIN_BATCH_SIZE, -(-left // (2 * workers))))
        batch.append(doc)
        if len(batch) >= target:
            yield batch
            batch = []
    if batch:
        yield batch


@flow(name="ingest", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=CORES))
def ingest(sources: list[str] | None = None, db: str | None = None, batch_size: int = BATCH_SIZE,
           max_in_flight: int | None = None, source: str | None = None, config: str | None = None) -> dict:
    """Ingest files, folders, globs or page/feed/sitemap URLs (default: the bundled samples), or the
    source named `source` in newsflow.toml (`config` overrides where that file is), into the warehouse.
    Waits for another run on the same warehouse to finish first (tasks/runlock.py)."""
    started = time.perf_counter()
    db_file = str(db_path(db))  # the analyst copy; runs write the working db beside it
    run_id = flow_run.get_id() or f"local-{time.time_ns()}"
    with runlock.hold(Path(db_file), run_id, WAREHOUSE_WAIT_S, get_run_logger().warning):
        runlock.note_run(Path(db_file), run_id)
        return _ingest(sources, db_file, run_id, started, batch_size, max_in_flight, source, config)


def _ingest(sources: list[str] | None, db_file: str, run_id: str, started: float, batch_size: int,
            max_in_flight: int | None, source: str | None, config: str | None) -> dict:
    logger = get_run_logger()
    mark_flow_process()
    plan = plan_run(sources, source, config)
    sources = [source] if source else [*plan.paths, *plan.urls]
    work_file = str(prepare_work_db(Path(db_file)))
    summary = RunSummary(run_id=run_id, db=db_file)
    con = _connection(work_file)
    # Only one process can open the warehouse for writing, so a run still marked running was killed.
    con.execute("update runs set status = 'interrupted' where status = 'running'")
    L.start_run(con, run_id, flow_run.get_id(), " ".join(sources), CLEANER_VERSION)
    totals = L.BatchCounts()
    status = "failed"
    progress = None
    try:
        _share_api_with_workers()
        paths, summary.skipped = discover_task(list(plan.paths)) if plan.paths else ([], [])
        harvest = _fetch(con, plan) if plan.urls else None
        fetched = harvest.documents if harvest else []
        summary.fetch = harvest.stats if harvest else {}
        summary.skipped += harvest.skipped if harvest else []
        known = L.known_document_ids(con)
        logger.info("%d file(s) found, %d document(s) fetched; %d documents already in the warehouse",
                    len(paths), len(fetched), len(known))
        progress = IngestProgress(paths)
        writer = _BatchWriter(work_file, run_id, totals, summary, logger, plan.language, progress)
        in_flight: deque = deque()
        limit = max_in_flight or 2 * CORES
        files = read_all(paths, stored=L.stored_files(con))  # stored, unchanged files are not read again
        for batch in batches(itertools.chain(files, fetched), known, batch_size, summary, progress,
                             expected=len(paths) + len(fetched), workers=CORES):
            in_flight.append((batch, clean_batch_task.submit(Sealed(batch))))
            if writer.loaded == 0 and len(in_flight) == 1:
                preload_validation()  # GX imports while the helpers start, not after the first batch
            if len(in_flight) >= limit:
                writer.finish(*in_flight.popleft())
        while in_flight:
            writer.finish(*in_flight.popleft())
        con = _connection(work_file)  # the writer may have reopened it (_checkpoint_when_due)
        if harvest is not None:  # only once loaded: a crash before this refetches instead of losing pages
            save_fetch_state(con, plan.name, harvest)
        ensure_index(con)  # each batch updated it; a new or older warehouse gets it built
        status = "completed"
    finally:
        if progress is not None:
            progress.close(finished=status == "completed")
        totals.unchanged += summary.articles_unchanged  # documents skipped before cleaning
        summary.articles_new = totals.new
        summary.articles_updated = totals.updated
        summary.articles_unchanged = totals.unchanged
        summary.quarantined = totals.quarantined
        summary.segments_removed = totals.segments_removed
        summary.quarantine = totals.quarantine_reasons
        summary.seconds = round(time.perf_counter() - started, 2)
        con = _connection(work_file)
        L.finish_run(con, run_id, status, summary.documents_seen, totals)
        publish_needed = needs_publish(con, Path(db_file), run_id)
        _close(work_file)
    if publish_needed:
        publish_task(work_file, db_file)
    else:
        logger.info("nothing changed and %s already holds every earlier change: not copied again", db_file)
    if summary.expectations:
        summary.data_docs = data_docs_task(str(Path(db_file).parent / "data_docs"))
    create_markdown_artifact(key="ingest-summary", markdown=summary_markdown(summary),
                             description="newsflow ingest: counts, quarantine, validation")
    logger.info("done: %s", {k: v for k, v in summary.as_dict().items() if k not in ("quarantine", "expectations", "slowest")})
    return summary.as_dict()


def _fetch(con, plan: RunPlan):
    """One fetch task for the whole source, with what the warehouse remembers about its URLs."""
    state = load_fetch_state(con, plan.name)
    return fetch_source_task(list(plan.urls), plan.kind, plan.policy, state, plan.name, plan.max_items,
                             plan.allowed_domains)


def _share_api_with_workers() -> None:
    """Point worker processes at this run's API, so an ephemeral run starts one server, not one per worker."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is not None and not os.environ.get("PREFECT_API_URL"):
        os.environ["PREFECT_API_URL"] = str(ctx.client.api_url)


@dataclass
class _BatchWriter:
    """The flow's single writer: validates and loads each cleaned batch, and counts it into the run."""

    db_file: str
    run_id: str
    totals: L.BatchCounts
    summary: RunSummary
    logger: object
    language: str | None = None
    progress: IngestProgress | None = None
    loaded: int = 0  # batches finished so far

    def finish(self, batch: list[RawDocument], future) -> None:
        """Wait for one batch's cleaning, then validate and load it in its own transaction."""
        summary = self.summary
        cleaned = unpack_cleaned(future.result())
        timed = cleaned.results
        results = [r for r, _ in timed]
        summary.slowest = sorted(summary.slowest + [(round(sec, 3), r.source_uri) for r, sec in timed],
                                 reverse=True)[:10]
        articles = [r for r in results if isinstance(r, Article)]
        rejected = [r for r in results if isinstance(r, Rejected)]
        stages = {d.document_id: d.fields["stage"] for d in batch if d.error and d.fields.get("stage")}
        for r in rejected:  # e.g. a refused or failed download is a "fetch" rejection, not a "read" one
            r.stage = stages.get(r.document_id, r.stage)
        if self.language:
            kept, wrong = [], []
            for a in articles:
                (wrong if a.language and a.language != self.language else kept).append(a)
            articles = kept
            rejected += [Rejected(a.document_id, a.source_uri, "validate",
                                  [f"language '{a.language}' is not the source's language '{self.language}'"])
                         for a in wrong]
        validation = validate_task(quote(articles), self.run_id)
        for name, (ok, bad) in validation.per_expectation.items():
            seen = summary.expectations.setdefault(name, [0, 0])
            seen[0] += ok
            seen[1] += bad
        counts = load_task(self.db_file, self.run_id, quote(batch), quote(validation.valid),
                           quote(rejected + validation.rejected), quote(cleaned.packed))
        self.totals.add(counts)
        # Prefect's future and its state hold the batch's result in a reference cycle, freed only by a
        # full garbage collection; emptying it now keeps the writer's memory at the batches in flight.
        cleaned.results.clear()
        cleaned.packed.clear()
        self.loaded += 1
        self.logger.info("batch %d: %d docs -> %d new, %d updated, %d unchanged, %d quarantined", self.loaded,
                         len(batch), counts.new, counts.updated, counts.unchanged, counts.quarantined)
        if self.progress is not None:
            self.progress.advance(len(batch), sum(d.size_bytes for d in batch))
        if _checkpoint_when_due(self.db_file):
            self.logger.info("checkpointed the working db and opened it afresh")


def summary_markdown(s: RunSummary) -> str:
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
    if s.data_docs:
        lines += ["", f"Great Expectations Data Docs for this run: [{s.data_docs}]({s.data_docs})"]
    shown = {k: v for k, v in s.fetch.items() if v}
    if shown:
        lines += ["", "## Fetch", "", "| " + " | ".join(shown) + " |", "|" + "---:|" * len(shown),
                  "| " + " | ".join(str(v) for v in shown.values()) + " |"]
    if s.expectations:
        lines += ["", "## Validation", "", "| expectation | passed | failed |", "|---|---:|---:|"]
        lines += [f"| `{name}` | {ok} | {bad} |" for name, (ok, bad) in s.expectations.items()]
    if s.slowest:
        lines += ["", "## Slowest documents", "", "| seconds | source |", "|---:|---|"]
        lines += [f"| {sec} | `{src}` |" for sec, src in s.slowest]
    if s.skipped:
        lines += ["", "## Skipped", "", "| item | reason |", "|---|---|"]
        lines += [f"| `{item}` | {reason.replace('|', '/')} |" for item, reason in s.skipped[:200]]
    if s.quarantine:
        lines += ["", "## Quarantined", "", "| source | reasons |", "|---|---|"]
        lines += [f"| `{src}` | {'; '.join(r).replace('|', '/')} |" for src, r in s.quarantine[:200]]
    return "\n".join(lines)


if __name__ == "__main__":
    ingest()
