"""The temporary Prefect API server the CLI starts: it answers, and it goes when the CLI goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from pathlib import Path

import psutil
import pytest

from disk_helpers import small_tmpfs

REPO = Path(__file__).resolve().parent.parent

# Starts the server as the CLI does, waits for it, prints its pid and url, then ends as told.
SCRIPT = """
import os, signal, sys
from newsflow import fastexit
from newsflow.ephemeral import start_early_server
fastexit.install()
server = start_early_server()
server.wait()
print(server.proc.pid, server.url, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
fastexit.set_status(0)
"""


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:  # exited; nobody reaped it yet
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_the_temporary_server_stops_when_the_cli_ends(how: str):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # the session's Prefect home
    proc = subprocess.run([sys.executable, "-c", SCRIPT, how], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == (-signal.SIGKILL if how == "kill" else 0), proc.stderr
    pid, url = proc.stdout.split()
    # It answered while the CLI ran; it stops after (SIGTERM at exit, or on the parent's death).
    assert _gone(int(pid), within_s=15), f"server {pid} still running after the CLI ended ({how})"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/health", timeout=2)


# Prints the background services a Prefect server app would run: "ephemeral" as Prefect's own temporary
# server marks its app, or "started" as `prefect server start` runs it, under this process's settings.
SERVICES = """
import sys
from prefect.server.api import background_workers  # noqa: F401 - registers the perpetual services
from prefect.server.services.base import RunInEphemeralServers, Service
from prefect.server.services.perpetual_services import get_enabled_perpetual_services
from prefect.settings import get_current_settings

ephemeral = sys.argv[1] == "ephemeral"
services = [s.__name__ for s in (RunInEphemeralServers if ephemeral else Service).enabled_services()]
services += [c.function.__name__ for c in get_enabled_perpetual_services(ephemeral=ephemeral)]
print(" ".join(sorted(services)), "ui" if get_current_settings().server.ui.enabled else "no-ui")
"""


def test_the_temporary_server_runs_what_prefects_own_temporary_server_runs():
    # EPHEMERAL_SETTINGS make `prefect server start` run the services Prefect's temporary server runs,
    # through public settings; a Prefect upgrade that adds a service to the full server fails here.
    from newsflow.ephemeral import EPHEMERAL_SETTINGS

    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

    def services(mode: str, extra: dict[str, str]) -> list[str]:
        proc = subprocess.run([sys.executable, "-c", SERVICES, mode], env={**env, **extra}, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    prefects = services("ephemeral", {})
    ours = services("started", EPHEMERAL_SETTINGS)
    assert ours[:-1] == prefects[:-1] and "TaskRunRecorder" in ours
    assert ours[-1] == "no-ui"


def test_a_fresh_prefect_home_starts_from_the_seeded_database(tmp_path: Path):
    """The first server in a Prefect home without a database creates it (every migration) and leaves a
    seed; the next fresh home gets a copy of the seed before its server starts."""
    import sqlite3

    base = {k: v for k, v in os.environ.items()
            if k not in ("PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
                         "PREFECT_SERVER_DATABASE_CONNECTION_URL")}
    base["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    def serve(home: str) -> None:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, "exit"], cwd=REPO, timeout=120, text=True,
                              env={**base, "PREFECT_HOME": str(tmp_path / home)}, capture_output=True)
        assert proc.returncode == 0, proc.stderr

    serve("first")
    seeds = list((tmp_path / "cache" / "newsflow" / "prefect-db").glob("*.db"))
    assert len(seeds) == 1
    with sqlite3.connect(seeds[0]) as con:  # migrated, and nothing of a run in it
        assert con.execute("select count(*) from alembic_version").fetchone()[0] == 1
        assert con.execute("select count(*) from flow_run").fetchone()[0] == 0
        con.execute("create table newsflow_seed_mark (x integer)")  # to recognise copies of it
    con.close()
    serve("second")
    with sqlite3.connect(tmp_path / "second" / "prefect.db") as con:
        tables = {t for (t,) in con.execute("select name from sqlite_master where type = 'table'")}
    con.close()
    assert {"newsflow_seed_mark", "flow_run"} <= tables


@pytest.mark.parametrize("command", [["ingest"], ["reclean"]])
def test_a_prefect_home_that_cannot_hold_the_database_is_one_line(tmp_path: Path, command: list[str]):
    """A PREFECT_HOME that is a file (or a folder the user cannot write) let the server fail with
    hundreds of lines of tracebacks (reclean: thousands, after 97 s), and left files beside --db."""
    blocked = tmp_path / "home"
    blocked.write_text("not a folder", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    db = tmp_path / "wh" / "news.duckdb"
    if command == ["reclean"]:  # reclean needs a warehouse to reclean
        from tasks.load import connect

        db.parent.mkdir()
        connect(db).close()
    before = sorted(tmp_path.rglob("*"))
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", *command, "--db", str(db)], cwd=REPO, timeout=120,
                          text=True, capture_output=True, env={**env, "PREFECT_HOME": str(blocked / "sub")})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") <= 3 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{blocked} is a file" in proc.stderr and "set PREFECT_HOME to a folder" in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before


def test_a_seed_copy_cut_short_by_a_full_disk_is_not_left_behind(tmp_path: Path, monkeypatch):
    """A Prefect home on a full disk: the seed's copy failed part way, and the partial `.prefect.db.*`
    file stayed, holding the little space there was."""
    from newsflow.ephemeral import seed_database, seed_path

    with small_tmpfs(tmp_path / "home", "64k") as home:
        monkeypatch.setenv("PREFECT_HOME", str(home))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        for key in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
            monkeypatch.delenv(key, raising=False)
        seed_path().parent.mkdir(parents=True)
        seed_path().write_bytes(b"\0" * 256 * 1024)  # more than the home holds
        assert seed_database() is None
        assert list(home.iterdir()) == []


def test_a_prefect_home_on_a_full_disk_is_one_line(tmp_path: Path):
    """A Prefect home with a few KB free let the server fail with some 200 lines of its tracebacks and
    "the temporary Prefect server exited with code 3", the full disk named nowhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    with small_tmpfs(tmp_path / "home", "512k") as home:
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", "--db", str(tmp_path / "news.duckdb")],
                              cwd=REPO, timeout=120, text=True, capture_output=True,
                              env={**env, "PREFECT_HOME": str(home)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") <= 3 and "Traceback" not in proc.stderr, proc.stderr
    assert f"the Prefect home {home} (PREFECT_HOME) has 0.5 MB free" in " ".join(proc.stderr.split()), proc.stderr
