"""Start a temporary Prefect API server early, while the CLI is still importing.

Without PREFECT_API_URL, Prefect starts a temporary server (uvicorn in a subprocess) on the first API
call, i.e. after every import is done, and imports the whole server application into our process just
to launch it (~4 s of CPU). Here the CLI launches the server `prefect server start` runs
(newsflow/prefect_api.py) first thing, without importing Prefect, so the server boots on one core while
our imports run on the other, and points PREFECT_API_URL at it. It is set up as Prefect's own
temporary server is, through public settings (`EPHEMERAL_SETTINGS`): same database (PREFECT_HOME), no
UI, only the services that Prefect's temporary server runs. Disable with NEWSFLOW_EARLY_SERVER=0.

A Prefect home without a database costs its first server ~10 s: SQLite is created by running every
Alembic migration Prefect has. The first such server's fresh database is saved (SQLite's backup API,
before this run writes to it) as `~/.cache/newsflow/prefect-db/<prefect version>.db`; a later fresh home
(a CI job, a container, a new PREFECT_HOME) starts from a copy of it, and the server finds it migrated.
Only Prefect's default database (PREFECT_HOME/prefect.db) is seeded, never one set in the settings.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import os
import shutil
import socket
import sqlite3
import tempfile
from pathlib import Path

from newsflow.processes import ServerProcess, prefect_api_server

STARTUP_TIMEOUT_S = 90.0

# Prefect's temporary server (prefect.server.api.server.SubprocessASGIServer) marks its app "ephemeral":
# no UI, and of the background services only those meant for a short-lived server (task-run recording,
# events and logs, event triggers, the event vacuum). `prefect server start` runs them all unless told
# otherwise: these settings leave off the rest, which look after deployments, schedules, workers and
# leases in the shared database and would act on the developer's own deployments there.
EPHEMERAL_SETTINGS = {
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events",
    # Block types are registered with the database at server start: Prefect first imports every
    # installed integration (prefect-dask brings in dask.distributed) to find them, ~0.3 s before the
    # server answers. newsflow's runs use no blocks.
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EarlyServer:
    """A temporary Prefect API server started before Prefect is imported."""

    def __init__(self) -> None:
        self.server: ServerProcess | None = None
        self.url: str | None = None
        self.save_seed: tuple[Path, Path] | None = None  # (the new database, where to keep its seed)

    @property
    def proc(self):
        """The server's process (a `subprocess.Popen`), or None."""
        return self.server.proc if self.server is not None else None

    def start(self, env: dict[str, str] | None = None, export: bool = True) -> None:
        """Launch the server; with `export`, point this process (and its children) at it."""
        if importlib.util.find_spec("prefect") is None:
            return
        self.save_seed = seed_database()
        port = _free_port()
        self.server = prefect_api_server(
            "127.0.0.1", port, env={**os.environ, **(env or {}), **EPHEMERAL_SETTINGS}, quiet=True,
            name="the temporary Prefect server",
            hint="set PREFECT_API_URL to a running server, or NEWSFLOW_EARLY_SERVER=0").start()
        self.url = f"http://127.0.0.1:{port}/api"
        if export:
            os.environ["PREFECT_API_URL"] = self.url
        atexit.register(self._stop_at_exit)

    def wait(self) -> None:
        """Block until the server answers /health; raise with a clear message if it cannot start."""
        if self.server is not None:
            self.server.wait(STARTUP_TIMEOUT_S)
            if self.save_seed is not None:
                keep_seed(*self.save_seed)
                self.save_seed = None

    def _stop_at_exit(self) -> None:
        """Ask the server to stop, without waiting: its graceful shutdown (Prefect's services flush what
        they hold) then overlaps this process's exit instead of delaying it."""
        if self.server is not None:
            self.server.terminate()

    def stop(self) -> None:
        """Stop the server and wait until it has exited."""
        if self.server is not None:
            self.server.stop()
        self.server = None


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


PREFECT_HOME_MIN_FREE = 16 * 1024**2  # the seeded database is ~1 MB; a run's states, events and logs add more


def prefect_home_problem() -> str | None:
    """Why a Prefect server started here could not keep its database in the Prefect home, with what to
    do; None when it can, or when runs go to a server named by PREFECT_API_URL or to a database set in
    the settings. The server would otherwise fail with hundreds of lines of its tracebacks."""
    if os.environ.get("PREFECT_API_URL") or _api_configured_in_files() or _database_configured():
        return None
    home = _prefect_home()
    fix = ("set PREFECT_HOME to a folder this user can write (e.g. export PREFECT_HOME=$PWD/.prefect), or "
           "PREFECT_API_URL to a running Prefect server")
    existing = next((p for p in (home, *home.parents) if os.path.lexists(p)), home.anchor)
    if not os.path.isdir(existing):
        return f"the Prefect home {home} (PREFECT_HOME) cannot be a folder: {existing} is a file; {fix}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the Prefect home {home} (PREFECT_HOME) cannot be written: {existing} is not writable; {fix}"
    database = home / "prefect.db"
    if database.exists() and not os.access(database, os.R_OK | os.W_OK):
        return f"Prefect's database {database} cannot be written by this user; {fix}"
    free = shutil.disk_usage(existing).free
    if free < PREFECT_HOME_MIN_FREE:
        return (f"the Prefect home {home} (PREFECT_HOME) has {free / 1024**2:.1f} MB free, too little for the "
                f"server's database and a run's logs ({PREFECT_HOME_MIN_FREE // 1024**2} MB at least); free space "
                f"there, or {fix}")
    return None


def seed_path() -> Path:
    """Where the migrated empty database of this Prefect version is kept."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "newsflow" / "prefect-db" / f"{importlib.metadata.version('prefect')}.db"


def _database_configured() -> bool:
    """Whether Prefect's settings name a database, rather than PREFECT_HOME/prefect.db."""
    return (any(os.environ.get(k) for k in ("PREFECT_API_DATABASE_CONNECTION_URL",
                                              "PREFECT_SERVER_DATABASE_CONNECTION_URL"))
            or _configured_in_files("DATABASE"))


def seed_database() -> tuple[Path, Path] | None:
    """Give a Prefect home without a database a copy of the seed, if there is one. Returns (database,
    seed) when the server is about to create the database and no seed exists yet: keep_seed saves it."""
    if _database_configured():
        return None
    database, seed = _prefect_home() / "prefect.db", seed_path()
    if database.exists():
        return None
    if not seed.is_file():
        return database, seed
    tmp: str | None = None
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=database.parent, prefix=".prefect.db.")
        os.close(fd)
        shutil.copyfile(seed, tmp)
        os.link(tmp, database)  # never over a database another process has just created
    except FileExistsError:
        pass
    except OSError:
        pass  # the server creates the database itself, as without a seed
    finally:
        if tmp is not None:  # a copy cut short (the disk full) must not stay to fill it
            Path(tmp).unlink(missing_ok=True)
    return None


def keep_seed(database: Path, seed: Path) -> None:
    """Save the server's newly created database as the seed (before any run has written to it). A
    cache that cannot be written only means the next fresh home migrates again."""
    tmp: str | None = None
    try:
        seed.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=seed.parent, prefix=f".{seed.name}.")
        os.close(fd)
        src, out = sqlite3.connect(database), sqlite3.connect(tmp)
        try:
            src.backup(out)  # a consistent copy while the server has the database open
        finally:
            src.close()
            out.close()
        os.replace(tmp, seed)
    except (OSError, sqlite3.Error):
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _api_configured_in_files() -> bool:
    """Whether a Prefect profile or config file may set the API URL (then Prefect decides, not us)."""
    return _configured_in_files("PREFECT_API_URL", "[api]")


def _configured_in_files(*marks: str) -> bool:
    """Whether a Prefect profile or config file mentions any of `marks` (or Prefect settings at all, in
    pyproject.toml)."""
    home = _prefect_home()
    files = [Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml"),
             Path("prefect.toml"), Path(".env"), Path("pyproject.toml")]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(mark in text for mark in marks) or "tool.prefect" in text:
            return True
    return False


def start_early_server(enabled: bool = True) -> EarlyServer | None:
    """Start the temporary server when Prefect would start one (no PREFECT_API_URL), else None."""
    if not enabled or os.environ.get("PREFECT_API_URL"):
        return None
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").lower() in ("0", "false", "no"):
        return None
    if _api_configured_in_files():
        return None
    server = EarlyServer()
    server.start()
    return server
