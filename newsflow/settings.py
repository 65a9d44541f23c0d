"""Constants and paths in one place (dlt's settings.py shape)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "data" / "samples"
WAREHOUSE_DIR = REPO_ROOT / "warehouse"
MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
DEFAULT_DB = WAREHOUSE_DIR / "news.duckdb"

# Documents per batch: one Prefect task run cleans one batch, one transaction loads it.
BATCH_SIZE = int(os.environ.get("NEWSFLOW_BATCH_SIZE", "200"))
# A file larger than this is quarantined unread (its hash is still recorded so reruns skip it).
MAX_DOCUMENT_BYTES = int(os.environ.get("NEWSFLOW_MAX_DOCUMENT_BYTES", str(5 * 1024 * 1024)))
# Validation thresholds (also used by the GX suite in expectations/).
MIN_BODY_CHARS = 200
TITLE_MIN_CHARS = 5
TITLE_MAX_CHARS = 300

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json", ".jsonl": "jsonl"}


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The analyst database path: --db, else $NEWSFLOW_DB, else warehouse/news.duckdb."""
    return Path(explicit or os.environ.get("NEWSFLOW_DB") or DEFAULT_DB).expanduser().resolve()

# Per-document limits while cleaning (tasks/guard.py): a document that takes longer than this, or
# crashes the cleaning process, is quarantined ("timed out after N s") and the batch carries on.
DOCUMENT_TIME_LIMIT_S = float(os.environ.get("NEWSFLOW_DOCUMENT_TIME_LIMIT", "30"))
# Extra address space the cleaning process may use beyond its start size (0 = no cap).
DOCUMENT_MEMORY_LIMIT_BYTES = int(os.environ.get("NEWSFLOW_DOCUMENT_MEMORY_LIMIT", str(2 * 1024**3)))
# DuckDB memory cap for the writer (its block cache would otherwise grow to 80% of RAM with the run).
WAREHOUSE_MEMORY_LIMIT = os.environ.get("NEWSFLOW_WAREHOUSE_MEMORY_LIMIT", "512MB")
