"""`newsflow serve`: a Prefect server with its UI and one scheduled deployment per configured source.

If PREFECT_API_URL is set, deployments are served against that server. Otherwise a local
`prefect server start` is launched on 127.0.0.1 (SQLite in PREFECT_HOME, or the database in
PREFECT_API_DATABASE_CONNECTION_URL, e.g. PostgreSQL) and stopped again on exit. Beside it, the news
report and the Data Docs are served over HTTP on 127.0.0.1 (tasks/fileserver.py) for the runs'
artifacts to link to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from newsflow.config import Config, Source
from newsflow.processes import ServerProcess, answers, prefect_server

SERVER_START_TIMEOUT = 90.0  # seconds; a first start migrates the SQLite database
# A run of a deployment holds its concurrency slot under a lease that its process renews. Prefect keeps
# leases in the server's memory by default: a server restarted while a run was in flight (serve stopped
# with its server) lost the lease, the slot was never given back, and every later run of that source
# waited for it for good. Kept on disk (PREFECT_HOME/concurrency_leases), the dead run's lease expires
# and the server's repossessor frees the slot. A setting in the environment wins.
LEASES_ON_DISK = {"PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem"}
# Prefect's server deletes old events (7 days) but keeps every flow run, with its task runs, states, logs
# and artifacts, for good: served sources on short schedules add thousands of runs a day to its
# database. Runs that ended more than RUN_HISTORY_DAYS ago are deleted (hourly); the warehouse's `runs`
# table keeps newsflow's own record of every run. A setting in the environment wins.
RUN_HISTORY_DAYS = 30
RUN_HISTORY = {"PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
               "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(RUN_HISTORY_DAYS * 86400)}


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when a Prefect API answers /health at api_url (e.g. http://127.0.0.1:4200/api)."""
    return answers(f"{api_url.rstrip('/')}/health", timeout=timeout)


def start_server(port: int, log_file: Path, host: str = "127.0.0.1",
                 timeout: float = SERVER_START_TIMEOUT, env: dict[str, str] | None = None
                 ) -> tuple[ServerProcess, str]:
    """Start `prefect server start` (with its UI) and wait until its API is healthy.

    Returns:
        The server and its API URL.

    Raises:
        RuntimeError: it exited or did not become healthy in time (the log file says why).
    """
    api_url = f"http://{host}:{port}/api"
    env = {**LEASES_ON_DISK, **RUN_HISTORY, **os.environ, **(env or {}), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_API_URL": api_url}
    env.pop("PREFECT_API_URL", None)
    server = prefect_server(host, port, env=env, log_file=log_file, name="prefect server", hint=f"see {log_file}")
    server.start().wait(timeout, interval=0.5)
    return server, api_url


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on host:port now (as uvicorn binds: reusing a port in TIME_WAIT)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def stop_server(server: ServerProcess) -> None:
    """Stop a server started by start_server (SIGTERM, then SIGKILL after 15 s)."""
    server.stop(timeout=15)


def deployment_for(source: Source, config: Config, db: str | None):
    """The RunnerDeployment of one source: its schedule, at most one run at a time. A run that comes due
    while the last one still runs is cancelled: the next one due fetches what it would have (queued,
    runs slower than their interval piled up without end, each waiting as a process)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from flows.ingest import ingest

    return ingest.to_deployment(
        name=source.name,
        cron=source.cron,
        interval=source.interval_seconds,
        parameters={"source": source.name, "config": str(config.path) if config.path else None, "db": db},
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        description=f"newsflow source '{source.name}' ({source.kind}: {_listed(source.locations)}); "
                    f"{source.schedule_text}",
        tags=["newsflow", source.kind],
    )


def _listed(locations: list[str], shown: int = 3) -> str:
    """The first few locations and how many more: a source may list hundreds of feeds."""
    more = f" and {len(locations) - shown:,} more" if len(locations) > shown else ""
    return ", ".join(locations[:shown]) + more


REPORT_PORT = 4201  # report.html and data_docs/ over HTTP (tasks/fileserver.py)


def serve_sources(config: Config, db: str | None = None, port: int = 4200,
                  echo: Callable[[str], object] = print, report_port: int = REPORT_PORT,
                  maintain_every: float | None = None) -> None:
    """Serve every source of `config` as a deployment until interrupted (see module docstring), and
    the warehouse's report.html and data_docs/ on http://127.0.0.1:<report_port>, where the runs'
    summary artifacts link (a browser does not follow file:// links from the UI). With
    `maintain_every` (seconds; a lake), the `maintain` flow is served on that interval too."""
    from newsflow.settings import db_path
    from tasks.fileserver import FileServer

    if not config.sources:
        raise ValueError(f"{config.path}: no [[sources]] to serve")
    folder = db_path(db).parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files = FileServer(db_path(db), report_port).start()
    except OSError as exc:
        raise RuntimeError(f"cannot serve the report on 127.0.0.1:{report_port} ({exc.strerror or exc}); "
                           "pick another port with --report-port") from None
    os.environ["NEWSFLOW_REPORT_URL"] = files.url  # flow-run subprocesses inherit it: their artifacts link here
    echo(f"News report and Data Docs: {files.report_url}, {files.docs_url} (from {folder})")
    try:
        _serve(config, db, port, echo, maintain_every)
    finally:
        files.stop()


def deployments(config: Config, db: str | None, maintain_every: float | None) -> list:
    """One ingest deployment per source, and the lake's `maintain` on its interval when asked."""
    deployments = [deployment_for(s, config, db) for s in config.sources]
    if maintain_every:
        from flows.maintain import maintain

        deployments.append(maintain.to_deployment(name="lake", interval=maintain_every, concurrency_limit=1,
                                                  description="merge small files, expire old snapshots"))
    return deployments


def _serve(config: Config, db: str | None, port: int, echo: Callable[[str], object],
           maintain_every: float | None = None) -> None:
    """Start (or find) the Prefect server and serve the deployments until interrupted."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = None
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        api_url = f"http://127.0.0.1:{port}/api"
        if api_healthy(api_url):
            echo(f"Using the Prefect server already running at {api_url}")
        elif not port_free(port):
            raise RuntimeError(f"127.0.0.1:{port} is in use by something that is not a Prefect server; pick "
                               "another port with --port, or set PREFECT_API_URL to a running Prefect server")
        else:
            home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
            echo(f"Starting a Prefect server on 127.0.0.1:{port} (log: {home / 'newsflow-server.log'}) ...")
            server, api_url = start_server(port, home / "newsflow-server.log")
    ui = api_url.removesuffix("/api")
    echo(f"Prefect UI: {ui}  (Deployments -> a source -> Run; Flow runs -> a run -> Artifacts)")
    for s in config.sources:
        echo(f"  deployment ingest/{s.name}: {s.kind}, {s.schedule_text}")
    if maintain_every:
        echo(f"  deployment maintain/lake: every {maintain_every:g} s")
    os.environ["PREFECT_API_URL"] = api_url  # flow-run subprocesses inherit it
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}), \
                _runs_end_first(echo, keep={server.proc.pid} if server is not None and server.proc else set()) \
                as on_sigterm:
            _run_deployments(deployments(config, db, maintain_every), on_sigterm)
    finally:
        if server is not None:
            echo("Stopping the Prefect server ...")
            stop_server(server)


RUNS_END_WAIT_S = 120.0  # Ctrl-C or SIGTERM: how long serve waits for its runs in flight to record their end


def _run_deployments(deployments: list, on_sigterm: Callable[[], None]) -> None:
    """Serve `deployments` as `prefect.serve` does (its runner, schedules paused on shutdown), until
    Ctrl-C; a SIGTERM calls `on_sigterm`. Prefect's runner answers SIGTERM by stopping at once,
    killing its flow runs: systemd and `docker stop` would end every run in flight that way."""
    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    class ServeRunner(Runner):
        def handle_sigterm(self, *args, **kwargs) -> None:
            on_sigterm()

    runner = ServeRunner(pause_on_shutdown=True)
    for deployment in deployments:
        runner.add_deployment(deployment)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        pass


@contextlib.contextmanager
def _runs_end_first(echo: Callable[[str], object], keep: set[int]) -> Iterator[Callable[[], None]]:
    """On Ctrl-C, wait (up to RUNS_END_WAIT_S; a second Ctrl-C stops at once) for the flow runs in
    flight, which the terminal's Ctrl-C reached too, to record their end and publish, and only then
    let Prefect's runner shut down: it kills its flow-run processes as it does, which left a run
    `running` and unpublished until the source's next run. `keep`: this process's children that are
    no flow run (its Prefect server). Yields the SIGTERM handler for the runner: a SIGTERM (systemd,
    `docker stop`) stops serve as a Ctrl-C in its terminal does, the runs in flight told with a SIGINT."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # Prefect's runner takes SIGTERM in the main thread only
        return
    stopping = threading.Event()

    def stop_when_ended(runs: set[int]) -> None:
        deadline = time.monotonic() + RUNS_END_WAIT_S
        while runs & set(_children()) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)  # on_sigint again: now it stops

    def on_sigint(signum, frame) -> None:
        runs = set(_children()) - keep
        if stopping.is_set() or not runs:
            raise KeyboardInterrupt
        stopping.set()
        again = "SIGTERM or Ctrl-C again" if signum == signal.SIGTERM else "Ctrl-C again"
        echo(f"Stopping: waiting up to {RUNS_END_WAIT_S:.0f} s for {len(runs)} run(s) in flight to record "
             f"their end ({again} stops at once) ...")
        threading.Thread(target=stop_when_ended, args=(runs,), name="runs-end-first", daemon=True).start()

    def on_sigterm() -> None:
        if not stopping.is_set():
            for pid in set(_children()) - keep:  # what the terminal's Ctrl-C does
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
        on_sigint(signal.SIGTERM, None)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield on_sigterm
    finally:
        signal.signal(signal.SIGINT, previous)


def _children() -> list[int]:
    """The live child processes of this process (from /proc; a zombie has ended)."""
    me, found = os.getpid(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return found
