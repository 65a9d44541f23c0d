"""The `reclean` flow: stored raw documents -> clean -> validate -> load, then publish. No refetch."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.ingest import (_checkpoint_when_due, _close, _connection, clean_batch_task, load_task, mark_flow_process,
                          publish_task, unpack_cleaned, validate_task)
from newsflow.settings import BATCH_SIZE, WAREHOUSE_WAIT_S, db_path
from tasks import load as L
from tasks import runlock
from tasks.clean import CLEANER_VERSION
from tasks.models import Article, Rejected, Sealed
from tasks.publish import prepare_work_db
from tasks.reclean import backfill_enrichment, stored_documents
from tasks.search import ensure_index


@flow(name="reclean", log_prints=False)
def reclean(db: str | None = None, since: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """Clean and validate the stored documents again with the current rules; load what changed.
    Waits for another run on the same warehouse to finish first (tasks/runlock.py)."""
    analyst = str(db_path(db))
    run_id = flow_run.get_id() or f"local-{time.time_ns()}"
    with runlock.hold(Path(analyst), run_id, WAREHOUSE_WAIT_S, get_run_logger().warning):
        runlock.note_run(Path(analyst), run_id)
        return _reclean(analyst, run_id, since, batch_size)


def _reclean(analyst: str, run_id: str, since: datetime | None, batch_size: int) -> dict:
    logger = get_run_logger()
    started = time.perf_counter()
    mark_flow_process()
    work = str(prepare_work_db(Path(analyst)))
    con = _connection(work)
    L.start_run(con, run_id, flow_run.get_id(), f"reclean since {since.isoformat() if since else 'start'}",
                CLEANER_VERSION)
    totals, seen, status = L.BatchCounts(), 0, "failed"
    try:
        for docs in stored_documents(con, since, batch_size):
            seen += len(docs)
            cleaned = unpack_cleaned(clean_batch_task(Sealed(docs)))
            results = [r for r, _seconds in cleaned.results]
            articles = [r for r in results if isinstance(r, Article)]
            rejected = [r for r in results if isinstance(r, Rejected)]
            validation = validate_task(quote(articles), run_id)
            totals.add(load_task(work, run_id, quote(docs), quote(validation.valid),
                                 quote(rejected + validation.rejected), quote(cleaned.packed)))
            _checkpoint_when_due(work, reopen=False)  # `con` is still reading the stored documents
        backfilled = backfill_enrichment(con)
        ensure_index(con)  # the loads kept it current
        status = "completed"
    finally:
        L.finish_run(con, run_id, status, seen, totals)
        _close(work)
    publish_task(work, analyst)
    summary = {"run_id": run_id, "db": analyst, "documents_seen": seen, "articles_new": totals.new,
               "articles_updated": totals.updated, "articles_unchanged": totals.unchanged,
               "quarantined": totals.quarantined, "segments_removed": totals.segments_removed,
               "quarantine": totals.quarantine_reasons, "enriched_backfill": backfilled,
               "cleaner_version": CLEANER_VERSION, "seconds": round(time.perf_counter() - started, 2)}
    logger.info("reclean done: %s", {k: v for k, v in summary.items() if k != "quarantine"})
    return summary
