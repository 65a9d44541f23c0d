"""The `ingest` flow: discover or fetch -> clean, validate and load in batches -> publish.

The flow only composes: the batch pipeline is tasks/pipeline.py, the warehouse writer
tasks/warehouse.py. One Prefect task run per source or batch, never per article.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.config import plan_run, resolve_settings
from newsflow.settings import CORES
from tasks.clean import CLEANER_VERSION
from tasks.discover import fetch_source_task
from tasks.pipeline import (BatchWriter, RunSummary, batches, data_docs_task, discover_task, mark_flow_process,
                            publish_task, report_task, summary_markdown)
from tasks.progress import IngestProgress
from tasks.report import REPORT_FILE
from tasks.sources import read_all
from tasks.warc import WarcFilter, WarcReading, is_web_archive
from tasks.warehouse import Warehouse


@flow(name="ingest", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=CORES))
def ingest(sources: list[str] | None = None, db: str | None = None, batch_size: int | None = None,
           max_in_flight: int | None = None, source: str | None = None, config: str | None = None) -> dict:
    """Ingest files, folders, globs or page/feed/sitemap URLs (default: the bundled samples), or the
    source named `source` in newsflow.toml (`config` overrides where that file is), into the warehouse.
    Waits for another run on the same warehouse to finish first. `db`, `batch_size` and `config`
    override the settings (newsflow.config.resolve_settings)."""
    started, logger = time.perf_counter(), get_run_logger()
    mark_flow_process()
    _share_api_with_workers()
    settings = resolve_settings(db=db, batch_size=batch_size, config=config)
    plan = plan_run(settings, sources, source)
    warehouse = Warehouse.open(settings.db_path, settings)
    run_id = flow_run.get_id() or f"local-{time.time_ns()}"
    summary = RunSummary(run_id=run_id, db=str(warehouse.analyst))
    with warehouse.turn(run_id, logger.warning):
        warehouse.start_run(run_id, flow_run.get_id(), source or " ".join([*plan.paths, *plan.urls]),
                            CLEANER_VERSION)
        writer = BatchWriter(warehouse, run_id, summary, logger, settings.cleaning_limits, plan.language)
        status = "failed"
        try:
            paths, summary.skipped = discover_task(list(plan.paths)) if plan.paths else ([], [])
            harvest = fetch_source_task(list(plan.urls), plan.kind, plan.policy, warehouse.fetch_state(plan.name),
                                        plan.name, plan.max_items, plan.allowed_domains) if plan.urls else None
            fetched = harvest.documents if harvest else []
            summary.fetch, summary.skipped = (harvest.stats, summary.skipped + harvest.skipped) if harvest else (
                {}, summary.skipped)
            known = warehouse.known_document_ids()
            logger.info("%d file(s) found, %d document(s) fetched; %d documents already in the warehouse",
                        len(paths), len(fetched), len(known))
            writer.progress = IngestProgress(paths)
            docs, expected = _documents(paths, fetched, plan, warehouse, settings.max_document_bytes, summary)
            writer.run(batches(docs, known, settings.batch_size, summary, writer.progress, expected=expected,
                               workers=CORES), max_in_flight or 2 * CORES)
            if harvest is not None:  # only once loaded: a crash before this refetches instead of losing pages
                warehouse.save_fetch_state(plan.name, harvest)
            warehouse.ensure_search_index()
            status = "completed"
        finally:
            if writer.progress is not None:
                writer.progress.close(finished=status == "completed")
            summary.count(writer.totals)
            summary.seconds = round(time.perf_counter() - started, 2)
            publish_needed = warehouse.finish_run(run_id, status, summary.documents_seen, writer.totals,
                                                    summary.expectations)
        if publish_needed:
            publish_task(str(warehouse.analyst))
        else:
            logger.info("nothing changed and %s already holds every earlier change: not copied again",
                        warehouse.analyst)
    if summary.expectations:
        summary.data_docs = data_docs_task(str(warehouse.analyst.parent / "data_docs"))
    _refresh_report(warehouse, summary, publish_needed)
    summary.served_at = settings.report_url
    create_markdown_artifact(key="ingest-summary", markdown=summary_markdown(summary),
                             description="newsflow ingest: counts, quarantine, validation, report")
    logger.info("done: %s", {k: v for k, v in summary.as_dict().items()
                             if k not in ("quarantine", "expectations", "slowest", "skipped")})
    return summary.as_dict()


def _documents(paths: list[Path], fetched: list, plan, warehouse: Warehouse, max_bytes: int, summary: RunSummary):
    """The run's documents (files read as they are needed, then the fetched pages; web archives filtered
    by the source's limits and counted into `summary.warc`), and how many the run will see: a count, or
    with web archives (whose number of pages shows only while reading them) a function estimating it
    from the share of their bytes read so far."""
    warc = WarcReading(WarcFilter(plan.allowed_domains, plan.language, plan.since, plan.until), summary.warc)
    docs = itertools.chain(read_all(paths, warehouse.stored_files(), max_bytes, warc), fetched)
    archives = [p for p in paths if is_web_archive(p)]
    if not archives:
        return docs, len(paths) + len(fetched)
    size = sum(p.stat().st_size for p in archives if p.exists())
    others = len(paths) - len(archives) + len(fetched)
    return docs, lambda: others + warc.expected(size, warc.counts.get("documents", 0))


def _refresh_report(warehouse: Warehouse, summary: RunSummary, published: bool) -> None:
    """Rewrite the news report when the analyst copy changed (or there is none yet); record its link."""
    report = warehouse.analyst.parent / REPORT_FILE
    if published or not report.exists():
        summary.report = report_task(str(warehouse.analyst))
        summary.report_refreshed = summary.report is not None
    else:
        summary.report = report.as_uri()


def _share_api_with_workers() -> None:
    """Point worker processes at this run's API, so an ephemeral run starts one server, not one per worker."""
    ctx = FlowRunContext.get()
    if ctx is not None and not os.environ.get("PREFECT_API_URL"):
        os.environ["PREFECT_API_URL"] = str(ctx.client.api_url)


if __name__ == "__main__":
    ingest()
