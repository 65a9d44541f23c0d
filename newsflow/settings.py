"""Constants and paths in one place (dlt's settings.py shape)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "data" / "samples"
WAREHOUSE_DIR = REPO_ROOT / "warehouse"
MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
DEFAULT_DB = WAREHOUSE_DIR / "news.duckdb"

# Batches cleaned at once by default (runner threads, worker processes or local Dask workers): one per core.
CORES = os.cpu_count() or 2
# Documents per batch: one Prefect task run cleans one batch, one validates it, one transaction loads it.
# Each batch costs ~0.2 s of CPU besides its documents (three task runs, ~30 ms each on the server and
# ~5 in the flow; GX's ~70 ms per validation; the load's ~40 statements): ~0.5 ms a page at 400, ~1 at 200.
# The last batches of a run shrink anyway (tasks.pipeline.batches).
BATCH_SIZE = int(os.environ.get("NEWSFLOW_BATCH_SIZE", "400"))
# The smallest batch the last ones shrink to (tasks.pipeline.batches), so the workers finish together.
MIN_BATCH_SIZE = 25
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

# --- Fetching (tasks/fetch.py, tasks/discover.py); tests pass smaller values explicitly. ---
USER_AGENT = "newsflow/0.1 (news ingestion pipeline; +https://github.com/newsflow/newsflow)"
FETCH_CONNECT_TIMEOUT = 10.0  # seconds per socket operation
FETCH_DEADLINE = 60.0  # seconds for one URL, all redirects, retries and waits included
FETCH_MAX_BYTES = MAX_DOCUMENT_BYTES  # decoded body cap, enforced while streaming
FETCH_MAX_REDIRECTS = 5
FETCH_RETRIES = 3  # extra attempts on timeouts, 429 and 5xx (never on other 4xx)
FETCH_BACKOFF = 1.0  # seconds; doubles per attempt unless Retry-After says otherwise
FETCH_MAX_RETRY_AFTER = 120.0  # a longer Retry-After gives up instead of stalling the run
FETCH_MIN_HOST_INTERVAL = 1.0  # seconds between two requests to one host (robots Crawl-delay may raise it)
FETCH_MAX_CRAWL_DELAY = 30.0  # cap on robots.txt Crawl-delay so one host cannot stall a run
ROBOTS_MAX_BYTES = 512 * 1024
SITEMAP_MAX_DEPTH = 3  # sitemap index -> sitemap -> ... levels followed
SITEMAP_MAX_FILES = 50  # sitemaps read per source per run
DEFAULT_MAX_ITEMS = 500  # items fetched per source per run unless the source sets max_items
CONFIG_FILE = "newsflow.toml"


def allow_private_networks_env() -> bool | None:
    """NEWSFLOW_ALLOW_PRIVATE_NETWORKS as a bool, or None when unset (then newsflow.toml decides)."""
    value = os.environ.get("NEWSFLOW_ALLOW_PRIVATE_NETWORKS")
    if value is None or not value.strip():
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The sources config: --config, else $NEWSFLOW_CONFIG, else ./newsflow.toml, else the repo's."""
    if explicit or os.environ.get("NEWSFLOW_CONFIG"):
        return Path(explicit or os.environ["NEWSFLOW_CONFIG"]).expanduser().resolve()
    local = Path.cwd() / CONFIG_FILE
    return local.resolve() if local.is_file() else REPO_ROOT / CONFIG_FILE

# Stories (tasks/stories.py): MinHash over each article's entity-key set; measured in docs/warehouse.md.
STORY_NUM_PERM = 128
STORY_THRESHOLD = 0.2  # estimated Jaccard to join a story; LSH (b=28, r=2) is tuned to it by datasketch
STORY_MIN_FEATURES = 5  # articles naming fewer distinct entities never join (too little evidence)
STORY_SEED = 1
# Stored articles compared with each new one: those sharing the most LSH band buckets with it.
STORY_MAX_CANDIDATES = 32
VIEWS_DIR = WAREHOUSE_DIR / "views"
QUERIES_DIR = WAREHOUSE_DIR / "queries"
SEARCH_SNIPPET_CHARS = 160


def work_db_path(analyst_db: str | os.PathLike) -> Path:
    """The pipeline's working database beside the analyst file: news.duckdb -> news.work.duckdb.

    Only the pipeline opens it (one writer); analysts read the published copy at `analyst_db`.
    """
    p = Path(analyst_db)
    return p.with_name(f"{p.stem}.work{p.suffix or '.duckdb'}")

# Per-document limits while cleaning (tasks/guard.py): a document that takes longer than this, or
# crashes the cleaning process, is quarantined ("timed out after N s") and the batch carries on.
DOCUMENT_TIME_LIMIT_S = float(os.environ.get("NEWSFLOW_DOCUMENT_TIME_LIMIT", "30"))
# Extra address space the cleaning process may use beyond its start size (0 = no cap).
DOCUMENT_MEMORY_LIMIT_BYTES = int(os.environ.get("NEWSFLOW_DOCUMENT_MEMORY_LIMIT", str(2 * 1024**3)))
# Seconds a run waits for another run on the same warehouse to finish (tasks/runlock.py) before it
# gives up, loading nothing.
WAREHOUSE_WAIT_S = float(os.environ.get("NEWSFLOW_WAREHOUSE_WAIT", "900"))
# DuckDB memory cap for the writer (its block cache would otherwise grow to 80% of RAM with the run).
WAREHOUSE_MEMORY_LIMIT = os.environ.get("NEWSFLOW_WAREHOUSE_MEMORY_LIMIT", "256MB")
# The ingest writer checkpoints its WAL into the file past this size, and opens the file afresh
# (tasks.warehouse.Warehouse.checkpoint_when_due). DuckDB's default (16 MB) meant a checkpoint nearly every batch,
# ~0.6 ms of the writer's time per article; a crash replays at most about this much WAL.
WAREHOUSE_CHECKPOINT_BYTES = int(os.environ.get("NEWSFLOW_WAREHOUSE_CHECKPOINT_BYTES", str(128 * 1024**2)))
# DuckDB's own automatic checkpoint, inside a commit: a backstop above the writer's own for ingest, the
# only one for reclean (which reads the stored documents while it writes, so it cannot reopen).
WAREHOUSE_CHECKPOINT_THRESHOLD = "512MB"
