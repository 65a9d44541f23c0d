"""The `ingest` flow: discover or fetch -> clean, validate and load in batches -> publish.

The flow only composes: the batch pipeline is tasks/pipeline.py, the warehouse writer
tasks/warehouse.py, the crawl tasks/discover.py (its pages stream into the batches as they arrive,
each loaded with its fetch state). One Prefect task run per source or batch, never per article.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.config import plan_run, resolve_settings
from newsflow.settings import CORES, Settings
from tasks.crawl import CrawlStream
from tasks.discover import stream_source
from tasks.load import FetchRows
from tasks.pipeline import (BatchWriter, RunSummary, batches, begin_run, cancelled_if_stopped, cleaning_slots,
                            data_docs_task, discover_task, ended_status, mark_flow_process, publish_after_failure,
                            publish_run, report_task, stop_cleaning, stop_if_interrupted, summary_markdown)
from tasks.models import RawDocument
from tasks.progress import IngestProgress
from tasks.reclean import documents_by_id, due_documents
from tasks.report import data_docs_path, report_path
from tasks.sources import RecordReading, holds_records, read_all
from tasks.warc import WarcFilter, WarcReading, is_web_archive
from tasks.warehouse import Warehouse


@flow(name="ingest", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=CORES),
      on_crashed=[cancelled_if_stopped])
def ingest(sources: list[str] | None = None, db: str | None = None, batch_size: int | None = None,
           source: str | None = None, config: str | None = None, warehouse: str | None = None) -> dict:
    """Ingest files, folders, globs or page/feed/sitemap URLs (default: the bundled samples), or the
    source named `source` in newsflow.toml (`config` overrides where that file is), into the warehouse.
    Waits for another run on the same warehouse file to finish first (a lake takes several at once).
    `db`, `batch_size`, `config` and `warehouse` override the settings (newsflow.config.resolve_settings)."""
    started, logger = time.perf_counter(), get_run_logger()
    mark_flow_process()
    _share_api_with_workers()
    settings = resolve_settings(db=db, batch_size=batch_size, config=config, warehouse=warehouse)
    plan = plan_run(settings, sources, source)
    warehouse = Warehouse.open(settings.db_path, settings)
    run_id = flow_run.get_id() or f"local-{time.time_ns()}"
    summary = RunSummary(run_id=run_id, db=warehouse.name)
    docs = None  # the Data Docs' build, once every batch is validated
    with warehouse.turn(run_id, logger.warning):
        begin_run(warehouse, run_id, flow_run.get_id(), source or " ".join([*plan.paths, *plan.urls]), logger)
        writer = BatchWriter(warehouse, run_id, summary, logger, settings.cleaning_limits, plan.language,
                             share=_threads_clean_here())
        status = "failed"
        try:
            paths, summary.skipped = discover_task(list(plan.paths), plan.configured) if plan.paths else ([], [])
            stream = stream_source(list(plan.urls), plan.kind, plan.policy, warehouse.fetch_state(plan.name),
                                   source=plan.name, max_items=plan.max_items, allowed_domains=plan.allowed_domains,
                                   opml_files=plan.opml_files) if plan.urls or plan.opml_files else None
            _load_all(writer, paths, stream, plan, settings, cleaning_slots())
            stop_if_interrupted()
            docs = _data_docs(warehouse) if summary.expectations else None
            writer.totals.quiet |= warehouse.ensure_search_index()
            status = "completed"
        except BaseException as exc:
            stop_cleaning(exc)
            status = ended_status(exc, flow_run.get_id())
            raise
        finally:
            if writer.progress is not None:
                writer.progress.close(finished=status == "completed")
            summary.count(writer.totals)
            summary.seconds = round(time.perf_counter() - started, 2)
            publish_needed = warehouse.finish_run(run_id, status, summary.documents_seen, writer.totals,
                                                    summary.expectations)
            if status != "completed":
                publish_after_failure(warehouse, publish_needed, logger)
        if publish_needed:
            publish_run(warehouse, run_id)
        elif warehouse.publishes:
            logger.info("nothing changed and %s already holds every earlier change: not copied again",
                        warehouse.analyst)
    _refresh_report(warehouse, summary, publish_needed, docs_building=docs is not None)
    if docs is not None:
        summary.data_docs = docs.result()
    summary.served_at = settings.report_url
    create_markdown_artifact(key="ingest-summary", markdown=summary_markdown(summary),
                             description="newsflow ingest: counts, quarantine, validation, report")
    logger.info("done: %s", {k: v for k, v in summary.as_dict().items()
                             if k not in ("quarantine", "expectations", "slowest", "skipped", "fetch_hosts")})
    return summary.as_dict()


def _load_all(writer: BatchWriter, paths: list[Path], stream: CrawlStream | None, plan, settings: Settings,
              slots: int) -> None:
    """Files first (web archives read record by record), then fetched pages as they arrive, through the
    batch pipeline; each batch loads with its pages' fetch state, the rest of the state is saved once
    every page is loaded."""
    warehouse, summary = writer.warehouse, writer.summary
    due = due_documents(warehouse.con, datetime.now(timezone.utc))  # document id -> source
    known = warehouse.known_document_ids() - due.keys()
    writer.logger.info("%d file(s) found, %s; %d documents already in the warehouse", len(paths),
                       "fetching pages as they arrive" if stream else "nothing to fetch", len(known))
    if due:
        writer.logger.info("%d quarantined document(s) dated in the future when received are due now: "
                           "cleaned again", len(due))
        writer.retried = set(due)
    writer.progress = IngestProgress(paths, fetch_counts=stream.progress if stream else None)
    if stream is not None:
        writer.fetch_rows = lambda batch: FetchRows(plan.name, *stream.take([d.document_id for d in batch]))
    warc = WarcReading(WarcFilter(plan.allowed_domains, plan.language, plan.since, plan.until), summary.warc)
    records = RecordReading()
    earlier = warehouse.earlier_versions()
    stored = warehouse.stored_files(earlier)
    if due:  # a due document's file is read again, not counted unchanged by its size and time
        due_sources = set(due.values())
        stored = {f for f in stored if f[0] not in due_sources}
    docs = itertools.chain(read_all(paths, stored, settings.max_document_bytes, warc, records),
                           stream or (), _due_not_read(warehouse, due, known, summary))
    try:
        writer.run(batches(docs, known, settings.batch_size, summary, writer.progress,
                           expected=None if stream else _expected(paths, warc, records), workers=slots,
                           earlier=earlier, quarantined=warehouse.quarantined_document_ids() - due.keys()),
                   2 * slots,
                   load_max=settings.batch_size)
    except BaseException:
        if stream is not None:
            stream.stop()
        raise
    totals = writer.totals  # what the counts do not show is marked in them (`quiet`)
    if warc.whole:  # every record of these is loaded: their earlier faults' rows leave quarantine
        totals.quiet |= warehouse.archives_whole(warc.whole)
    if records.whole:  # a line past a JSON Lines file's end now, or readable now, is no fault of it
        totals.quiet |= warehouse.record_files_whole(records.whole)
    if stream is not None:
        harvest = stream.finish()
        summary.fetch, summary.skipped = harvest.stats, summary.skipped + harvest.skipped
        summary.fetch_hosts, summary.fetch_failures = harvest.hosts, harvest.failures
        totals.quiet |= warehouse.save_fetch_state(plan.name, harvest, stream.take(list(stream.ledger)))


RETRY_CHUNK = 100  # due documents read back from the raw store at a time


def _due_not_read(warehouse: Warehouse, due: dict[str, str], known: set[str], summary: RunSummary
                  ) -> Iterator[RawDocument]:
    """The due documents this run's sources did not give again (a feed item seen before is not fetched,
    a page not modified is not sent, a file may be gone), read back from the raw store. Runs once the
    sources are read, when `known` holds every document they gave."""
    left = [d for d in due if d not in known]
    for start in range(0, len(left), RETRY_CHUNK):
        # the connection of this moment: a checkpoint between two loads may have opened the file afresh
        for batch in documents_by_id(warehouse.con, left[start:start + RETRY_CHUNK], RETRY_CHUNK,
                                     warehouse.archive.folder, unreadable=summary.skipped):
            yield from batch


def _expected(paths: list[Path], warc: WarcReading, records: RecordReading):
    """How many documents the files hold: a count, or with web archives and JSON (Lines) files (whose
    number of documents shows only while reading them) a function estimating it from the share of
    their bytes read so far."""
    archives = [p for p in paths if is_web_archive(p)]
    record_files = [p for p in paths if holds_records(p)]
    if not archives and not record_files:
        return len(paths)
    others = len(paths) - len(archives) - len(record_files)
    archive_bytes, record_bytes = _bytes(archives), _bytes(record_files)
    return lambda: (others + warc.expected(archive_bytes, warc.counts.get("documents", 0))
                    + records.expected(record_bytes))


def _bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def _refresh_report(warehouse: Warehouse, summary: RunSummary, published: bool, docs_building: bool) -> None:
    """Rewrite the news report when the analyst copy changed, or on a lake when this run changed it (or
    there is none yet); record its link. `docs_building`: this run's Data Docs are being built, so the
    report links them."""
    report = report_path(warehouse.analyst)
    if not warehouse.publishes:  # a lake: read there, the report shows every writer's runs
        published = bool(summary.articles_new or summary.articles_updated or summary.quarantined)
    if published or not report.exists():
        summary.report = report_task(str(warehouse.analyst), docs_building, warehouse.url)
        summary.report_refreshed = summary.report is not None
    else:
        summary.report = report.as_uri()


def _data_docs(warehouse: Warehouse) -> Future | PrefectFuture:
    """Build the Data Docs of the validations this process ran, every batch being validated: on the
    other core while the run is finished, published and reported on this one (the thread runner), or
    here and now (a worker process or Dask worker has none of the validations, nor maybe the folder)."""
    folder = str(data_docs_path(warehouse.analyst))
    if _threads_clean_here():
        return data_docs_task.submit(folder)
    built: Future = Future()
    built.set_result(data_docs_task(folder))
    return built


def _threads_clean_here() -> bool:
    """Whether the cleaning task runs are threads of this process (the thread runner), which can
    share a batch's documents; worker processes and Dask get a copy of theirs."""
    context = FlowRunContext.get()
    return context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner)


def _share_api_with_workers() -> None:
    """Point worker processes at this run's API, so an ephemeral run starts one server, not one per worker."""
    ctx = FlowRunContext.get()
    if ctx is not None and not os.environ.get("PREFECT_API_URL"):
        os.environ["PREFECT_API_URL"] = str(ctx.client.api_url)


if __name__ == "__main__":
    ingest()
