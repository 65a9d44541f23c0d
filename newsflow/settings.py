"""Settings and constants in one place (dlt's settings.py shape); imports nothing of newsflow's.

`Settings` holds what an operator may set, each with a NEWSFLOW_* variable: resolved once at the entry
point (`newsflow.config.resolve_settings`: newsflow.toml's [settings] table, then the environment,
then command-line flags) and passed down as a value. Nothing reads the environment at import time.
The module constants below are fixed properties of the pipeline, not settings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "data" / "samples"
WAREHOUSE_DIR = REPO_ROOT / "warehouse"
MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
DEFAULT_DB = WAREHOUSE_DIR / "news.duckdb"

# Batches cleaned at once by default (runner threads, worker processes or local Dask workers): one per core.
CORES = os.cpu_count() or 2
# The smallest batch the last ones shrink to (tasks.pipeline.batches), so the workers finish together.
MIN_BATCH_SIZE = 25
# Default of Settings.max_document_bytes: a larger file or download is quarantined unread.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_BATCH_SIZE = 10_000  # up to 4 x cores batches are held: past this a typo's extra digits exhaust memory
# A batch also closes at this many bytes of its documents as received (tasks.pipeline.batches), and loads
# join batches up to it: 400 records of 1 MB each held ~2,000 MB of text at once across the held batches
# (the writer at 6.5 GB) and failed their load at the writer's DuckDB memory cap. News pages average
# ~170 KB, so batches of ordinary pages reach the count first.
BATCH_MAX_BYTES = 64 * 1024 * 1024
DOCUMENT_CAP_HINT = "raise NEWSFLOW_MAX_DOCUMENT_BYTES to accept it"  # ends every "too large" reason
# Validation thresholds (also used by the GX suite in expectations/).
MIN_BODY_CHARS = 200
TITLE_MIN_CHARS = 5
TITLE_MAX_CHARS = 300
FUTURE_TOLERANCE_S = 3600  # clock skew allowed between a publisher's timestamp and ours, in seconds
# A page's author, section or site name longer than META_MAX_CHARS is not taken (a meta tag holding a
# whole text names no one), nor a canonical URL longer than URL_MAX_CHARS (RFC 9110 asks servers to
# accept 8,000 octets); a JSON record whose `author` or `url` is longer is quarantined with the field.
META_MAX_CHARS = 1_000
URL_MAX_CHARS = 8_000

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json", ".jsonl": "jsonl"}


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The analyst database path, absolute: `explicit` (Settings.db), else warehouse/news.duckdb."""
    path = Path(explicit or DEFAULT_DB).expanduser()
    try:
        return path.resolve()
    except RuntimeError:  # a loop of symbolic links: kept as given, and refused where it is checked
        return path.absolute()

LAKE_PREFIX = "ducklake:"


_PASSWORD = re.compile(r"password\s*=\s*('[^']*'|[^\s'\"]+)")


def masked(warehouse: str) -> str:
    """A warehouse as shown anywhere (a table, a run's name): a catalog's password as ***."""
    return _PASSWORD.sub("password=***", warehouse)


def password_apart(warehouse: str) -> tuple[str, str | None]:
    """`warehouse` without its `password=`, and the password (None when it has none): for a program's
    argv, which every user of the machine reads (`ps`), the password going in its environment instead
    (PGPASSWORD, which libpq reads; only the same user reads it)."""
    found = _PASSWORD.search(warehouse)
    if found is None:
        return warehouse, None
    value = found.group(1)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])  # libpq's quoting: \' and \\
    before, after = warehouse[:found.start()].rstrip(), warehouse[found.end():].lstrip()
    return before + (" " if before and after and not before.endswith(":") else "") + after, value


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(text: str | os.PathLike) -> str:
    """A path, URL or reason as text any output takes: the bytes of a file name that are not UTF-8, which
    Python keeps as lone surrogates (that JSON, the Prefect API and UTF-8 terminals refuse), and control
    characters (ESC starts a terminal's escape sequence, which may clear the screen) written as \\xNN."""
    text = os.fspath(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def is_lake_url(warehouse: str | None) -> bool:
    """`ducklake:postgres:...` names a DuckLake catalog; anything else is a DuckDB file path."""
    return bool(warehouse) and str(warehouse).startswith(LAKE_PREFIX)

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
# A feed, sitemap or OPML list may be as large as the sitemap protocol allows (50 MB uncompressed, its
# 50,000 URLs): a listing's body cap, and its decompression cap, when larger than the document limit.
LISTING_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ITEMS = 500  # items fetched per source per run unless the source sets max_items
FETCH_CONNECTIONS = 32  # requests open at once across all hosts (Settings.fetch_connections)
FETCH_HOST_CONNECTIONS = 1  # requests open at once to one host (Settings.fetch_host_connections)
FETCH_RETRY_BACKOFF = 900.0  # seconds before a transiently failed item is tried again; doubles per failure
FETCH_RETRY_MAX_BACKOFF = 86400.0
FETCH_MAX_FAILURES = 8  # transient failures in a row after which an item is given up (permanent)
STREAM_QUEUE_DOCS = 200  # fetched documents waiting for the batch pipeline before fetching waits
STREAM_FLUSH_S = 2.0  # fetched documents gathered this long go to cleaning as a batch (or a full batch sooner)
CONFIG_FILE = "newsflow.toml"


def default_hosts_dir() -> Path:
    """Where the per-host politeness record lives unless Settings.fetch_hosts_dir says otherwise: one
    folder per user, so every run of that user (any warehouse, any deployment) shares it."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "newsflow" / "hosts"


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The sources config: `explicit` (--config / Settings.config), else ./newsflow.toml, else the repo's."""
    if explicit:
        path = Path(explicit).expanduser()
        # not resolved when it is no file: /dev/fd/63 (`<(...)`) would become /proc/<pid>/fd/pipe:[...]
        return path.resolve() if path.is_file() or not path.exists() else path.absolute()
    local = Path.cwd() / CONFIG_FILE
    return local.resolve() if local.is_file() else REPO_ROOT / CONFIG_FILE


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How politely and how defensively to fetch (tasks/fetch.py); built from newsflow.toml's [fetch]
    table and the Settings by `newsflow.config`."""

    user_agent: str = USER_AGENT
    connect_timeout: float = FETCH_CONNECT_TIMEOUT
    deadline: float = FETCH_DEADLINE
    max_bytes: int = FETCH_MAX_BYTES
    max_redirects: int = FETCH_MAX_REDIRECTS
    retries: int = FETCH_RETRIES
    backoff: float = FETCH_BACKOFF
    max_retry_after: float = FETCH_MAX_RETRY_AFTER
    min_host_interval: float = FETCH_MIN_HOST_INTERVAL
    max_crawl_delay: float = FETCH_MAX_CRAWL_DELAY
    respect_robots: bool = True
    allow_private_networks: bool = False
    allowed_hosts: tuple[str, ...] = ()
    max_connections: int = FETCH_CONNECTIONS
    host_connections: int = FETCH_HOST_CONNECTIONS
    hosts_dir: str | None = None  # the shared per-host record (tasks/hostclock.py); None: this process only
    retry_backoff: float = FETCH_RETRY_BACKOFF
    max_failures: int = FETCH_MAX_FAILURES

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


def archive_dir_for(db: str | os.PathLike) -> Path:
    """The raw store's default folder beside a warehouse file (the analyst or the working one):
    news.duckdb and news.work.duckdb -> news.archive/. One per warehouse: its files' committed lengths
    live in that warehouse (tasks/archive.py)."""
    p = Path(db)
    stem = p.stem.removesuffix(".work")
    return p.with_name(f"{stem}.archive")


# Default of Settings.archive_file_bytes: a raw-store file is closed and the next one started past this.
ARCHIVE_FILE_BYTES = 1024**3

# Defaults of Settings.document_time_limit / document_memory_limit (tasks/guard.py takes them as arguments).
DOCUMENT_TIME_LIMIT_S = 30.0
DOCUMENT_MEMORY_LIMIT_BYTES = 2 * 1024**3
# DuckDB's own automatic checkpoint, inside a commit: a backstop above the writer's own
# (Settings.warehouse_checkpoint_bytes, tasks.warehouse.Warehouse.checkpoint_when_due).
WAREHOUSE_CHECKPOINT_THRESHOLD = "512MB"
# The longest a duration setting may be: past it a wait or a deadline means nothing, and far past it
# (1e300 s) the clocks it is added to overflow.
DAY_S = 86_400.0
YEAR_S = 366 * DAY_S


class Settings(BaseSettings):
    """What an operator may set. Each field is also NEWSFLOW_<NAME> (e.g. NEWSFLOW_BATCH_SIZE=200) and
    a key of newsflow.toml's [settings] table; flags beat the environment, which beats the file."""

    # A variable set to nothing (`export NEWSFLOW_BATCH_SIZE=`) is unset: the default, not an error.
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore", frozen=True, allow_inf_nan=False,
                                      env_ignore_empty=True)

    db: Path = Field(DEFAULT_DB, description="The analyst warehouse file (--db); runs write <name>.work.duckdb "
                     "beside it.")
    config: Path | None = Field(None, description="The sources config (--config); default ./newsflow.toml, "
                                "else the repository's.")
    batch_size: int = Field(400, gt=0, le=MAX_BATCH_SIZE, description="Documents per batch: one cleaning task "
                            "run, one validation, one load transaction (small batches cleaned by the time the "
                            "writer reaches them load together, up to this many documents). Each batch costs "
                            "~0.2 s of CPU besides its documents, so larger batches are cheaper per page; the "
                            "last ones shrink. Memory grows with it: up to 4 batches per core are held at once.")
    max_document_bytes: int = Field(MAX_DOCUMENT_BYTES, gt=0, description="A file, download, web archive "
                                    "record, JSON Lines line or item of a larger .json array bigger than this is "
                                    "quarantined unread (JSON Lines files and larger .json arrays are read a record "
                                    "at a time, so the limit holds for each record).")
    document_time_limit: float = Field(DOCUMENT_TIME_LIMIT_S, gt=0, le=DAY_S, description="Seconds one document "
                                       "may take to clean before it is quarantined as timed out.")
    document_memory_limit: int = Field(DOCUMENT_MEMORY_LIMIT_BYTES, ge=0, le=2**50, description="Extra address "
                                       "space the cleaning process may use beyond its start size (0: no cap; at "
                                       "most 1 PiB, past which the kernel's limit overflows).")
    warehouse_wait: float = Field(900.0, ge=0, le=YEAR_S, description="Seconds a run waits for another run on "
                                  "the same warehouse before it gives up, loading nothing.")
    warehouse_memory_limit: str = Field("256MB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$", description="DuckDB memory cap for the writer (its block "
                                        "cache would otherwise grow with the run).")
    warehouse_checkpoint_bytes: int = Field(128 * 1024**2, gt=0, description="The writer folds its WAL "
                                            "into the file past this size and opens the file afresh.")
    warehouse: str | None = Field(None, description="Where articles are stored (--warehouse): a DuckDB file "
                                  "path (the default: the --db file) or a DuckLake catalog on PostgreSQL, "
                                  "'ducklake:postgres:dbname=news host=10.0.0.5 user=newsflow', shared by "
                                  "several writers (docs/lake.md).")
    lake_data_path: str | None = Field(None, description="The lake's Parquet files: a folder every writer and "
                                       "analyst reaches (a shared mount), or s3://bucket/prefix/ (credentials "
                                       "from the environment). Required with a ducklake: warehouse.")
    lake_snapshot_retention: float = Field(7 * 24.0, gt=0, le=100 * YEAR_S / 3600,  # a century, in hours
                                           description="Hours a lake snapshot stays queryable (AT (VERSION => n)) "
                                           "before the maintain flow expires it.")
    lake_maintain_interval: float = Field(3600.0, ge=0, le=YEAR_S, description="Seconds between maintain runs "
                                          "served by `newsflow serve` on a lake (0: not served).")
    archive_dir: Path | None = Field(None, description="The raw store: the folder of WARC files holding every "
                                     "document's bytes; default <db name>.archive/ beside the warehouse file.")
    archive_file_bytes: int = Field(ARCHIVE_FILE_BYTES, gt=0, description="A raw-store WARC file is closed and "
                                    "a new one started once it is this large.")
    allow_private_networks: bool | None = Field(None, description="Fetch from loopback/private hosts; "
                                                "unset: newsflow.toml's [fetch] decides.")
    fetch_connections: int = Field(FETCH_CONNECTIONS, gt=0, description="Requests open at once across all "
                                   "hosts while fetching.")
    fetch_host_connections: int = Field(FETCH_HOST_CONNECTIONS, gt=0, description="Requests open at once to "
                                        "one host (its minimum interval holds either way).")
    fetch_hosts_dir: Path | None = Field(None, description="Folder of the per-host politeness record that "
                                         "overlapping runs share (one file per host); default "
                                         "~/.cache/newsflow/hosts.")
    fetch_retry_backoff: float = Field(FETCH_RETRY_BACKOFF, ge=0, le=DAY_S, description="Seconds before an item "
                                       "that failed transiently (timeout, 429, 5xx) is tried again by a later run; "
                                       "doubles per failure, up to a day.")
    report_url: str | None = Field(None, pattern=r"^https?://[^\s/]+$", description="Where `newsflow serve` "
                                   "serves report.html and data_docs/ over HTTP (e.g. http://127.0.0.1:4201); "
                                   "serve sets it for its runs, whose summary artifacts then link there.")
    early_server: bool = Field(True, description="Start the temporary Prefect server while the CLI imports.")
    debug: bool = Field(False, description="Show tracebacks of failed runs on the terminal.")

    @field_validator("allow_private_networks", "config", "report_url", "fetch_hosts_dir", "warehouse",
                     "lake_data_path", "archive_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("warehouse_memory_limit")
    @classmethod
    def _memory_within_reach(cls, value: str) -> str:
        """At most 1 PiB: far past it (9999999999TB) DuckDB's byte count overflows to 0 and every run
        fails out of memory."""
        number, unit, binary = re.match(r"([\d.]+)\s*([KMGT])(i?)B", value).groups()
        if float(number) * (1024 if binary else 1000) ** ("KMGT".index(unit) + 1) > 2**50:
            raise ValueError(f"{value!r} is more memory than any machine has; give at most 1024TiB (e.g. '4GB')")
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _a_file_path(cls, value: object) -> object:
        """Blank is unset (the default file); a path ending in "/" names a folder, and one that does not
        exist would become a warehouse file named like it."""
        if isinstance(value, str) and not value.strip():
            return DEFAULT_DB
        if isinstance(value, str) and value.endswith(("/", os.sep)) and not Path(value).expanduser().is_dir():
            raise ValueError(f"{value} names a folder that does not exist; give the warehouse file's path, e.g. "
                             f"{Path(value) / 'news.duckdb'}")
        return value

    @field_validator("warehouse", "db", mode="before")
    @classmethod
    def _not_a_url(cls, value: object) -> object:
        """A URL given as the warehouse would otherwise become a path (`s3://b/x` the folders ./s3:/b/)."""
        if isinstance(value, str) and not is_lake_url(value) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
            raise ValueError(f"{value!r} is a URL, not a warehouse newsflow writes: give a DuckDB file path, or "
                             "a DuckLake catalog on PostgreSQL as 'ducklake:postgres:dbname=news host=... user=...' "
                             "(docs/lake.md)")
        return value

    @field_validator("db", "config", "warehouse", "lake_data_path", "archive_dir", "fetch_hosts_dir")
    @classmethod
    def _utf8(cls, value: object) -> object:
        """A path a run's parameters carry to the Prefect API as JSON, which has no place for the bytes
        of a name that are not UTF-8 (kept by Python as lone surrogates)."""
        text = None if value is None else os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        if text is not None and shown(text) != text:
            raise ValueError(f"{shown(text)}: the path is not UTF-8 (bytes shown as \\xNN); choose one whose "
                             "name is UTF-8 text")
        return value

    @field_validator("warehouse")
    @classmethod
    def _lake_on_postgres(cls, value: str | None) -> str | None:
        """A DuckLake catalog elsewhere (a DuckDB or SQLite file) takes one writer at a time, and the
        lake's extensions here are DuckLake's and PostgreSQL's only."""
        if is_lake_url(value) and not str(value).startswith(f"{LAKE_PREFIX}postgres:"):
            raise ValueError(f"{masked(str(value))!r}: newsflow's lake keeps its catalog on PostgreSQL, "
                             "'ducklake:postgres:dbname=news host=... user=...' (docs/lake.md); on one machine, "
                             "a DuckDB file (--db) needs no catalog")
        return value

    @field_validator("lake_data_path")
    @classmethod
    def _data_path_is_a_folder(cls, value: str | None) -> str | None:
        """A folder, written with its "/"; a local one absolute: the catalog keeps the path as given, and
        a relative one would point elsewhere for every process started in another folder."""
        if value is not None and "://" not in value:
            value = os.path.abspath(os.path.expanduser(value))
        if value is not None and not value.endswith("/"):
            value += "/"
        return value

    @property
    def lake(self) -> bool:
        """Whether the warehouse is a DuckLake catalog (tasks/lake.py) rather than a DuckDB file."""
        return is_lake_url(self.warehouse)

    @property
    def db_path(self) -> Path:
        """The DuckDB file: a `warehouse` path, else `db` (newsflow.config.resolve_settings keeps only the
        one from the higher layer); on a lake, the local file beside which the report and the Data Docs
        are written."""
        return db_path(self.warehouse if self.warehouse and not self.lake else self.db)

    @property
    def hosts_dir(self) -> Path:
        return Path(self.fetch_hosts_dir).expanduser() if self.fetch_hosts_dir else default_hosts_dir()

    @property
    def archive_path(self) -> Path:
        """The raw store's folder, absolute: archive_dir, else <db name>.archive/ beside the analyst file."""
        return Path(self.archive_dir).expanduser().resolve() if self.archive_dir else archive_dir_for(self.db_path)

    @property
    def cleaning_limits(self) -> CleaningLimits:
        return CleaningLimits(self.document_time_limit, self.document_memory_limit)


@dataclass(frozen=True, slots=True)
class CleaningLimits:
    """Per-document limits of the cleaning processes (tasks/guard.py), passed with each batch."""

    seconds: float = DOCUMENT_TIME_LIMIT_S
    memory_bytes: int = DOCUMENT_MEMORY_LIMIT_BYTES
