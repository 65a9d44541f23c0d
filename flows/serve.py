"""`newsflow serve`: a Prefect server with its UI and one scheduled deployment per configured source.

If PREFECT_API_URL is set, deployments are served against that server. Otherwise a local
`prefect server start` is launched on 127.0.0.1 (SQLite in PREFECT_HOME, or the database in
PREFECT_API_DATABASE_CONNECTION_URL, e.g. PostgreSQL) and stopped again on exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from newsflow.config import Config, Source

SERVER_START_TIMEOUT = 90.0  # seconds; a first start migrates the SQLite database


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when a Prefect API answers /health at api_url (e.g. http://127.0.0.1:4200/api)."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(port: int, log_file: Path, host: str = "127.0.0.1",
                 timeout: float = SERVER_START_TIMEOUT, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """Start `prefect server start` and wait until its API is healthy.

    Returns:
        The server process and its API URL.

    Raises:
        RuntimeError: it exited or did not become healthy in time (the log file says why).
    """
    api_url = f"http://{host}:{port}/api"
    env = {**os.environ, **(env or {}), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": api_url}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).with_name("prefect")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen([str(prefect), "server", "start", "--host", host, "--port", str(port),
                                 "--analytics-off"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {proc.returncode}; see {log_file}")
        if api_healthy(api_url, timeout=1.0):
            return proc, api_url
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"prefect server did not answer at {api_url} within {timeout:g} s; see {log_file}")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate a server started by start_server (SIGTERM, then SIGKILL after 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def deployment_for(source: Source, config: Config, db: str | None):
    """The RunnerDeployment of one source: its schedule, at most one run at a time."""
    from flows.ingest import ingest

    return ingest.to_deployment(
        name=source.name,
        cron=source.cron,
        interval=source.interval_seconds,
        parameters={"source": source.name, "config": str(config.path) if config.path else None, "db": db},
        concurrency_limit=1,
        description=f"newsflow source '{source.name}' ({source.kind}: {', '.join(source.locations)}); "
                    f"{source.schedule_text}",
        tags=["newsflow", source.kind],
    )


def serve_sources(config: Config, db: str | None = None, port: int = 4200,
                  echo: Callable[[str], object] = print) -> None:
    """Serve every source of `config` as a deployment until interrupted (see module docstring)."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if not config.sources:
        raise ValueError(f"{config.path}: no [[sources]] to serve")
    proc = None
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        api_url = f"http://127.0.0.1:{port}/api"
        if api_healthy(api_url):
            echo(f"Using the Prefect server already running at {api_url}")
        else:
            home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
            echo(f"Starting a Prefect server on 127.0.0.1:{port} (log: {home / 'newsflow-server.log'}) ...")
            proc, api_url = start_server(port, home / "newsflow-server.log")
    ui = api_url.removesuffix("/api")
    echo(f"Prefect UI: {ui}  (Deployments -> a source -> Run; Flow runs -> a run -> Artifacts)")
    for s in config.sources:
        echo(f"  deployment ingest/{s.name}: {s.kind}, {s.schedule_text}")
    os.environ["PREFECT_API_URL"] = api_url  # flow-run subprocesses inherit it
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            serve(*(deployment_for(s, config, db) for s in config.sources), print_starting_message=False)
    finally:
        if proc is not None:
            echo("Stopping the Prefect server ...")
            stop_server(proc)
