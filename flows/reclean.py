"""The `reclean` flow: stored raw documents -> clean -> validate -> load, then publish and write the
news report. No refetch.

The same batch pipeline as `ingest` (tasks/pipeline.py), fed from the documents the warehouse holds.
"""

from __future__ import annotations

import time
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.config import resolve_settings
from newsflow.settings import CORES
from tasks.clean import CLEANER_VERSION
from tasks.pipeline import (BatchWriter, RunSummary, begin_run, cancelled_if_stopped, cleaning_slots, ended_status,
                            mark_flow_process, publish_after_failure, publish_run, report_task, stop_cleaning,
                            stop_if_interrupted)
from tasks.reclean import backfill_enrichment, stored_documents
from tasks.warehouse import Warehouse


@flow(name="reclean", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=CORES),
      on_crashed=[cancelled_if_stopped])
def reclean(db: str | None = None, since: datetime | None = None, batch_size: int | None = None,
            warehouse: str | None = None) -> dict:
    """Clean and validate the stored documents again with the current rules; load what changed.
    Waits for another run on the same warehouse to finish first."""
    started, logger = time.perf_counter(), get_run_logger()
    mark_flow_process()
    settings = resolve_settings(db=db, batch_size=batch_size, warehouse=warehouse)
    warehouse = Warehouse.open(settings.db_path, settings)
    run_id = flow_run.get_id() or f"local-{time.time_ns()}"
    summary = RunSummary(run_id=run_id, db=warehouse.name)
    with warehouse.turn(run_id, logger.warning):
        begin_run(warehouse, run_id, flow_run.get_id(), f"reclean since {since.isoformat() if since else 'start'}",
                  logger)
        # Stored documents are read through the writer's connection between loads: no reopening (a load
        # that fails closes it; the next batch is read through the one opened after).
        writer = BatchWriter(warehouse, run_id, summary, logger, settings.cleaning_limits, reopen=False)
        status, backfilled = "failed", 0
        try:
            docs = stored_documents(warehouse.con, since, settings.batch_size, warehouse.archive.folder,
                                    unreadable=summary.skipped, reconnect=lambda: warehouse.con)
            writer.run((summary.counted(batch) for batch in docs), max_in_flight=2 * cleaning_slots())
            stop_if_interrupted()
            backfilled = backfill_enrichment(warehouse.con)
            warehouse.ensure_search_index()  # the loads kept it current
            status = "completed"
        except BaseException as exc:
            stop_cleaning(exc)
            status = ended_status(exc, flow_run.get_id())
            raise
        finally:
            changed = warehouse.finish_run(run_id, status, summary.documents_seen, writer.totals, summary.expectations)
            if status != "completed":
                publish_after_failure(warehouse, changed, logger)
        publish_run(warehouse, run_id)
    # the page shows the copy just published, or the lake as this run left it
    summary.report = report_task(str(warehouse.analyst), lake=warehouse.url)
    summary.report_refreshed = summary.report is not None
    summary.count(writer.totals)
    result = {**summary.as_dict(), "enriched_backfill": backfilled, "cleaner_version": CLEANER_VERSION,
              "seconds": round(time.perf_counter() - started, 2)}
    logger.info("reclean done: %s", {k: v for k, v in result.items() if k not in ("quarantine", "expectations")})
    return result
