"""The `newsflow` command line. Thin: each command parses options and calls a flow or a task."""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import re
import sys
import tempfile
import threading
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from newsflow import fastexit
from newsflow.settings import CORES, Settings, config_path, masked, shown, work_db_path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Where Prefect starts its own temporary server (NEWSFLOW_EARLY_SERVER=0), give it the early server's
# time: a home without a database runs every migration first, over Prefect's 20 s on a slow machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

app = typer.Typer(
    help="newsflow: ingest news articles, strip boilerplate, validate them and load a DuckDB warehouse.\n\n"
    "Start with `newsflow ingest` (loads the bundled samples into warehouse/news.duckdb), then query the "
    "file with DuckDB. Each command has its own --help.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
# Full lines when piped (rich would wrap at 80 columns), so messages stay greppable in logs. No markup:
# what is printed holds titles, URLs, paths and reasons from the input, where "[/b]" would be a closing
# tag (an error) and "[link=...]" a link; styles are given as Text spans instead.
console = Console(stderr=True, soft_wrap=True, markup=False)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160, markup=False)


def _error(message: str) -> None:
    """One line on stderr: "error:" in red, then `message` as it is."""
    console.print(Text.assemble(("error:", "red"), " ", message))


MAX_LISTED = 100_000  # the most results `search` or runs `runs` lists: far past it, DuckDB's integers overflow

DbOption = Annotated[  # text, not Path: a URL given by mistake reaches the settings' check whole
    Optional[str],
    typer.Option("--db", metavar="PATH", show_default=False,
                 help="Warehouse file analysts query. Default: $NEWSFLOW_DB or warehouse/news.duckdb."),
]

WarehouseOption = Annotated[
    Optional[str],
    typer.Option("--warehouse", help="A DuckDB file (the default: --db) or a DuckLake catalog, "
                 "'ducklake:postgres:dbname=news host=...' with NEWSFLOW_LAKE_DATA_PATH (docs/lake.md). "
                 "Default: $NEWSFLOW_WAREHOUSE.", show_default=False),
]


class Runner(str, Enum):
    thread = "thread"
    process = "process"
    dask = "dask"


SourcesArgument = Annotated[Optional[list[str]], typer.Argument(
    help="Default: the bundled sample articles. Files, folders (recursive) or globs of .txt, .html/.htm, "
    ".json or .jsonl articles (each also gzip-compressed: .html.gz) or of web archives (.warc, .warc.gz, .arc, .arc.gz: their HTML responses), or "
    "http(s) URLs of pages, RSS/Atom feeds or sitemaps (which one is detected).",
    show_default=False)]
SourceOption = Annotated[Optional[str], typer.Option(
    "--source", help="Ingest the source with this name in newsflow.toml instead of SOURCES.")]
ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", help="Sources config. Default: $NEWSFLOW_CONFIG, ./newsflow.toml, else the repository's.")]
BatchSizeOption = Annotated[Optional[int], typer.Option(
    help="Documents per batch (one task run, one transaction; small batches cleaned by the time the "
    "writer reaches them load together, up to this many documents). Default: $NEWSFLOW_BATCH_SIZE or 400.",
    show_default=False)]
RunnerOption = Annotated[Runner, typer.Option(
    help="Where cleaning batches run. thread: task runs in threads of this process, each feeding one "
    "cleaning process (forked warm from a fork server); process: a pool of worker processes, each with its "
    "cleaning process; dask: a Dask cluster.")]
WorkersOption = Annotated[Optional[int], typer.Option(
    min=1, help="Batches cleaned at once (threads, worker processes or local Dask workers). Default: one per core.")]
DaskAddressOption = Annotated[Optional[str], typer.Option(
    help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --task-runner dask).")]


def _since(value: str) -> datetime:
    """An ISO 8601 date or time (2026-11-01, 2026-11-01T06:00, 2026-11-01 06:00+02:00), in UTC unless it
    carries an offset. A bare number is refused: read as a Unix timestamp, `--since 2026` (the year)
    would mean 1970 and quietly select everything."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date or time; write it as 2026-11-01 or 2026-11-01T06:00 "
                                 "(UTC unless it has an offset such as +02:00).") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def since_option(help_text: str):
    return Annotated[Optional[datetime], typer.Option(parser=_since, metavar="DATE", show_default=False,
                                                      help=help_text)]


def _task_runner(kind: Runner, workers: int | None, dask_address: str | None):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    if kind is Runner.thread:
        return ThreadPoolTaskRunner(max_workers=workers or CORES)
    if kind is Runner.dask:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers or CORES,
                                              "threads_per_worker": 1, "processes": True})
    from tasks.workers import init_worker

    return ProcessPoolTaskRunner(max_workers=workers or CORES, initializer=init_worker)


def _import_what_the_run_needs() -> None:
    """Import now what every run imports after the API server answers: Prefect's flow and task engines
    and what they import on each call (FastAPI's encoder for the flow's parameters, the visualization
    tracker), pandas, which DuckDB's Python binding loads on the first query with parameters, and Arrow's
    compute functions. ~0.4 s of a rerun's critical path."""
    import fastapi.encoders  # noqa: F401
    import pandas  # noqa: F401
    import prefect.flow_engine  # noqa: F401
    import prefect.task_engine  # noqa: F401
    import prefect.utilities.visualization  # noqa: F401
    import pyarrow.compute  # noqa: F401


def _cleaning_ahead(files: list[Path], urls: bool, db: Path) -> bool:
    """Whether the run will likely clean documents: it fetches URLs, or a file is not stored in the
    warehouse as it is now (a rerun over unchanged files cleans nothing). A guess for warming up early:
    the flow decides what it reads (JSON records already stored, say, are skipped there)."""
    if urls:
        return True
    from tasks.sources import needs_reading

    work = work_db_path(db)
    if not work.exists():
        return bool(files)
    import duckdb

    from tasks.load import stored_files

    try:
        con = duckdb.connect(str(work), read_only=True)
    except duckdb.Error:  # e.g. another run writes it: assume there is work
        return True
    try:
        stored = stored_files(con)
    except duckdb.Error:
        return True
    finally:
        con.close()
    return any(needs_reading(f, stored) for f in files)


def _warm_up_cleaning(runner: Runner) -> threading.Thread:
    """While the API server boots: start the cleaning helpers' fork server (it imports and warms the
    cleaner in its own process; thread runner only, the others start theirs in their workers) and
    import Great Expectations in the background. The first batch then neither waits for the one nor
    its validation for the other: ~1-2 s of a small run's wall time, on a core that would sit idle."""
    from tasks.validate import preload

    if runner is Runner.thread:
        from tasks.guard import start_fork_server

        start_fork_server()
    return preload()


def _open_warehouse(settings: Settings) -> None:
    """Open (and migrate) the run's warehouse while the server boots: the flow, in this process, finds
    its writer open (tasks/warehouse.py keeps one per warehouse and process). A failure here is the
    flow's to report: it opens the warehouse again and says what is wrong."""
    from tasks.warehouse import Warehouse

    try:
        Warehouse.open(settings.db_path, settings).con  # noqa: B018 - opened for its side effect
    except Exception:  # noqa: BLE001
        pass


def _freeze_imports(importing: threading.Thread | None = None) -> None:
    """Move what the imports created (Prefect, pydantic models, DuckDB, pandas: hundreds of thousands of
    objects that live until exit) out of the garbage collector's reach, and turn it back on. With the
    collector on, each of its full passes during the imports walked everything imported so far, and
    each during the run walked it all again. The CLI runs one flow and exits: what little cyclic
    garbage the imports left is kept until then. `importing`: a thread still importing (Great
    Expectations, ~2 s of CPU, ~0.3 s more with the collector on); then this happens once it is done,
    while the flow starts."""
    def freeze() -> None:
        if importing is not None:
            importing.join()
        gc.freeze()
        gc.enable()

    if importing is not None and importing.is_alive():
        threading.Thread(target=freeze, name="freeze-imports", daemon=True).start()
    else:
        freeze()


def _no_heartbeats():
    """No flow-run heartbeats against the run's own temporary server.

    Heartbeats let a long-lived server mark a vanished run as crashed; the temporary server ends with
    this process, so they tell nobody anything, and their thread costs up to 1 s at exit (it sleeps in
    1 s steps and the flow joins it).
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@app.command()
def ingest(
    sources: SourcesArgument = None,
    source: SourceOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    warehouse: WarehouseOption = None,
    batch_size: BatchSizeOption = None,
    task_runner: RunnerOption = Runner.thread,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the Prefect flow `ingest`: read, clean, validate and load articles; print what happened.

    Runs use Prefect's ephemeral mode, or the server at PREFECT_API_URL when set (they then show in its UI).
    A second run over the same input loads nothing twice: files and records already loaded count as
    unchanged; URLs are asked "changed since?" (ETag / Last-Modified), and a page not modified or feed
    or sitemap items seen before are not fetched again (the fetch counts say so, not "unchanged").
    URLs on private networks are refused unless NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true.
    """
    from newsflow.config import ConfigError, plan_run
    from newsflow.ephemeral import start_early_server
    from tasks.sources import SourceError, discover

    _refuse_empty(source=source, dask_address=dask_address)
    _check_ingest_arguments(sources, task_runner, dask_address)
    gc.disable()  # until the flow starts: see _freeze_imports
    settings = _settings(db=db, config=config, batch_size=batch_size, warehouse=warehouse)
    _refuse_other_files(settings, "ingest", open_file=False)  # its first bytes: no server for a text file
    _check_prefect_home()
    server = start_early_server(settings.early_server)  # boots while the checks and imports below run
    try:  # fail fast, before the flow starts, on a SOURCE that names nothing or a bad config
        plan = plan_run(settings, sources, source)
        files = discover(list(plan.paths), unmatched_ok=plan.configured) if plan.paths else []
    except SourceError as exc:
        _error(f"{exc}. Give a file, a folder, a quoted glob such as 'data/*.jsonl' "
               "or an http(s) URL.")
        raise typer.Exit(2) from None
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    _refuse_other_files(settings, "ingest")  # its tables: ~10 ms, while the server boots
    with _warehouse_turn(settings, "newsflow ingest"):
        from flows.ingest import ingest as ingest_flow

        flow = ingest_flow.with_options(task_runner=_task_runner(task_runner, workers, dask_address))
        importing = None
        if server is not None:
            _import_what_the_run_needs()  # on this process's core while the server boots on the other
            if _cleaning_ahead(files, bool(plan.urls or plan.opml_files), settings.db_path):
                importing = _warm_up_cleaning(task_runner)
            _open_warehouse(settings)
            _wait_for(server)
        _freeze_imports(importing)
        with _no_heartbeats() if server is not None else contextlib.nullcontext(), _run_fault("ingest", settings):
            summary = flow(sources=sources, db=str(settings.db_path), batch_size=batch_size, source=source,
                           config=str(config) if config else None, warehouse=_flow_warehouse(warehouse))
    print_summary(summary)


def _check_ingest_arguments(sources: list[str] | None, task_runner: Runner, dask_address: str | None) -> None:
    """Exit with one line on arguments no run can take."""
    if dask_address and task_runner is not Runner.dask:  # the run would clean here, ignoring the cluster
        _error(f"--dask-address is for --task-runner dask (this run's is {task_runner.value}); add "
               "--task-runner dask")
        raise typer.Exit(2)
    if dask_address and (unfit := _dask_address_unfit(dask_address)):
        _error(unfit)
        raise typer.Exit(2)
    if unfit := _sources_unfit(sources):
        _error(unfit)
        raise typer.Exit(2)


def _dask_address_unfit(address: str) -> str | None:
    """Why no Dask scheduler can be at `address`, or None: a malformed address failed once the run had
    started, and a closed port after Dask's 30 s connect timeout. A TCP address is tried (2 s at most)."""
    import socket
    from urllib.parse import urlsplit

    example = "e.g. tcp://10.0.0.5:8786 (what `dask scheduler` prints as its address)"
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls", "ws", "wss", "ucx") or not host or port is None or parts.path not in ("", "/"):
        return f"--dask-address {address!r} is not a Dask scheduler's address: {example}"
    if parts.scheme == "ucx":  # not a TCP port to try
        return None
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return (f"no Dask scheduler answers at {address} ({exc.strerror or exc}): start one there "
                f"(`dask scheduler --host {host} --port {port}`) or give its address, {example}")
    return None


@contextlib.contextmanager
def _on_early_server(server, warm: bool = False):
    """Run a flow on the early server (reclean, maintain; ingest arranges more): import what the run
    needs while it boots (and, with `warm`, start the cleaning helpers and the GX import), wait until it
    answers, keep heartbeats off. Without a server (NEWSFLOW_EARLY_SERVER=0, PREFECT_API_URL), as is."""
    if server is None:
        yield
        return
    _import_what_the_run_needs()
    if warm:  # the thread runner's helpers: what reclean's flow cleans in
        _warm_up_cleaning(Runner.thread)
    _wait_for(server)
    with _no_heartbeats():
        yield


def _wait_for(server) -> None:
    """Wait until the temporary Prefect server answers; exit with one line if it cannot start (its own
    output, above that line, says why)."""
    from newsflow.processes import ServerError

    try:
        server.wait()
    except ServerError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None


def _sources_unfit(sources: list[str] | None) -> str | None:
    """Why the SOURCES cannot be the flow's parameters, with what to do; None when they can. Parameters
    travel to the Prefect API as JSON, which has no place for the bytes of a file name that are not
    UTF-8 (Python keeps them as lone surrogates), and which the server caps (512 KB by default):
    thousands of files a shell expanded from an unquoted glob exceed it."""
    for text in sources or []:
        if shown(text) != text:
            return (f"{shown(text)}: the name is not UTF-8 (bytes shown as \\xNN); rename it (convmv converts "
                    "names), or give the folder that holds it, whose files are read whatever their names")
    size = len(json.dumps(sources or []))
    if size < 64 * 1024:  # far under any cap: Prefect (~0.8 s to import) is left to load while its server boots
        return None
    from prefect.settings import get_current_settings

    cap = get_current_settings().server.api.max_parameter_size
    if cap <= 0 or size <= cap - 4096:  # room for the other parameters
        return None
    too_many = f"{len(sources):,} SOURCES are too many for one run's parameters (Prefect takes {cap:,} bytes)"
    paths = [Path(t) for t in sources if "://" not in t]
    if not paths:
        return f"{too_many}: list the URLs as a source's locations in newsflow.toml and run it with --source"
    folder = os.path.commonpath([p.absolute() for p in paths])
    suffixes = {p.suffix for p in paths}
    pattern = f"{folder}/*{suffixes.pop() if len(suffixes) == 1 else ''}"
    return f"{too_many}: quote a pattern so that newsflow expands it, e.g. '{pattern}', or give the folder ({folder})"


def _flow_warehouse(warehouse: str | None) -> str | None:
    """--warehouse as the flow's parameter, which the Prefect API stores and its UI shows: a catalog
    with a password goes to the flow through this process's environment instead (the flow runs here)."""
    if warehouse and masked(warehouse) != warehouse:
        os.environ["NEWSFLOW_WAREHOUSE"] = warehouse
        return None
    return warehouse


def _refuse_other_files(settings: Settings, command: str, open_file: bool = True) -> None:
    """Exit 2 when --db names a file that is not a newsflow warehouse (tasks/dbfile.py): a run swaps
    its analyst copy onto that path, replacing whatever is there. With `open_file` False only the
    file's first bytes are read. On a lake --db is no run's target: nothing to check. A raw store
    folder that is a file is refused too, before the run has cleaned anything it could not store."""
    if settings.archive_path.exists() and not settings.archive_path.is_dir():
        _error(f"the raw store's folder {settings.archive_path} is a file; set NEWSFLOW_ARCHIVE_DIR (or archive_dir "
               "in newsflow.toml's [settings]) to a folder, or unset it for <db name>.archive/ beside the warehouse")
        raise typer.Exit(2)
    if settings.lake:
        return
    from tasks.dbfile import NotAWarehouse, check_duckdb_file, check_warehouse_file

    try:
        (check_warehouse_file if open_file else check_duckdb_file)(settings.db_path)
    except NotAWarehouse as exc:
        _error(f"{exc}; `newsflow {command}` would replace it with a warehouse: "
               "choose another --db, or move the file")
        raise typer.Exit(2) from None


def _check_prefect_home() -> None:
    """Exit with one line when the Prefect server a run starts could not write its database."""
    from newsflow.ephemeral import prefect_home_problem

    problem = prefect_home_problem()
    if problem:
        _error(problem)
        raise typer.Exit(2)


def _refuse_empty(**options: object) -> None:
    """Exit 2 when an option is given as empty text, as `--source "$NAME"` with NAME unset is: read as
    not given, it would fall back to a default (the bundled samples, another warehouse)."""
    for name, value in options.items():
        if isinstance(value, str) and not value.strip():
            _error(f"an empty --{name.replace('_', '-')} names nothing (an unset shell variable?); give a value "
                   "or leave the option out")
            raise typer.Exit(2)


def _settings(**flags) -> Settings:
    """The run's settings (newsflow.config.resolve_settings); an invalid one is one line, exit 2."""
    from newsflow.config import ConfigError, resolve_settings

    _refuse_empty(db=flags.get("db"), warehouse=flags.get("warehouse"))
    try:
        settings = resolve_settings(**flags)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    _check_reachable(settings.db_path)
    return settings


def _check_reachable(path: Path) -> None:
    """Exit with one line when `path` (the --db) cannot be looked at: a folder on its way this user may
    not enter, a loop of symbolic links, a name too long. An absent file is fine here."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        advice = {errno.EACCES: "this user may not enter a folder on its way: ask for access, or choose "
                                "another --db",
                  errno.ELOOP: "it is a loop of symbolic links: give the file's own path",
                  errno.ENAMETOOLONG: "a name in it is longer than the file system allows: choose a "
                                      "shorter --db"}.get(exc.errno, "choose another --db")
        _error(f"cannot reach {shown(path)}: {exc.strerror}; {advice}")
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _warehouse_turn(settings: Settings, command: str):
    """Wait for another run on this warehouse to finish (tasks/runlock.py), then hold it; a refusal
    is one line and exit status 3, with nothing loaded. A lake takes several runs at once: no turn."""
    from tasks import runlock

    if settings.lake:
        yield
        return

    say = lambda line: console.print(line, highlight=False)  # noqa: E731
    try:
        with runlock.hold(settings.db_path, command, settings.warehouse_wait, say):
            yield
    except runlock.WarehouseBusy as exc:
        _error(str(exc))
        raise typer.Exit(3) from None
    except runlock.WarehouseUnwritable as exc:
        _error(str(exc))
        raise typer.Exit(2) from None


class _WithoutTraceback(logging.Formatter):
    """Formats log records as `inner` does, leaving out tracebacks (the Prefect UI keeps them)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info:
            return self.inner.format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved


def _console_without_tracebacks() -> None:
    """Log lines on the terminal without tracebacks: the root logger's stream handlers (Prefect's
    console handler) format through _WithoutTraceback; the records keep their traceback for the API."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, _WithoutTraceback):
            handler.setFormatter(_WithoutTraceback(handler.formatter or logging.Formatter()))


@contextlib.contextmanager
def _run_fault(command: str, settings: Settings):
    """A run that fails as a whole (the warehouse cannot be opened, say) ends with one line and exit
    status 1, one stopped with Ctrl-C with one line and 130; NEWSFLOW_DEBUG=1 shows the traceback instead."""
    debug = settings.debug
    if not debug:
        _console_without_tracebacks()
    try:
        yield
    except KeyboardInterrupt:
        if debug:
            raise
        _stopped(command)
    except Exception as exc:  # noqa: BLE001 - the run's own boundary
        if debug:
            raise
        from tasks.pipeline import interrupted

        if interrupted():  # a Ctrl-C that became another error on the way (DuckDB's "Query interrupted")
            _stopped(command)
        # DuckDB's fatal errors end in a native stack trace (mangled symbols, for its developers), and its
        # errors in a statement point into it (LINE 1: ... ^): newsflow's SQL, not the operator's
        text = re.split(r"Stack Trace:|\n\s*LINE \d+:", str(exc))[0]
        text = masked(" ".join(text.split())[:500]) or type(exc).__name__
        hint = _no_space_hint(exc, settings) + _catalog_hint(exc, settings)  # each begins ". "
        if hint and text.endswith((".", "?")):
            hint = hint[1:]
        _error(f"the {command} run failed: {type(exc).__name__}: {text}{hint} (NEWSFLOW_DEBUG=1 shows the traceback)")
        raise typer.Exit(1) from None


def _stopped(command: str) -> NoReturn:
    _error(f"the {command} run was stopped (Ctrl-C) and recorded cancelled: the batches it loaded are kept "
           "and published; run it again to do the rest")
    raise typer.Exit(130) from None


def _catalog_hint(exc: Exception, settings: Settings) -> str:
    """That the lake's catalog stopped answering mid-run, and that a rerun is safe; "" otherwise."""
    if not settings.lake:
        return ""
    from tasks.lake import catalog_lost

    if not catalog_lost(str(exc)):
        return ""
    return (". The lake's PostgreSQL catalog stopped answering; once it answers again, run it again: it "
            "completes what this run left undone")


def _no_space_hint(exc: Exception, settings: Settings) -> str:
    """Where to free space when the disk filled up (the archive's errors name no file), and that a rerun
    is safe; "" for any other failure."""
    if not (getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)):
        return ""
    where = settings.lake_data_path if settings.lake else settings.db_path.parent
    return (f". Free space where the warehouse ({where}), its raw store ({settings.archive_path}) and the "
            f"temporary folder ({tempfile.gettempdir()}, TMPDIR) live, then run it again: it completes what "
            "this run left undone")


def _fetch_line(hosts: dict, failures: dict[str, int], kinds: int = 5) -> str:
    """The hosts asked, the requests answered and not, then what was quarantined (fetch failures and
    responses that held no document: a 404, a listing that is not one), by kind."""
    answered, unanswered = sum(int(h[1]) for h in hosts.values()), sum(int(h[2]) for h in hosts.values())
    line = f"Fetched from {len(hosts)} host(s): {answered} URLs answered, {unanswered} unanswered"
    ranked = sorted(failures.items(), key=lambda kv: -kv[1])
    if ranked:
        line += f"; quarantined {sum(failures.values())}: " + "; ".join(f"{n} {reason}" for reason, n in ranked[:kinds])
        line += f"; and {len(ranked) - kinds} more kind(s)" if len(ranked) > kinds else ""
    return line


def print_summary(s: dict, command: str = "ingest") -> None:
    from tasks.pipeline import still_quarantined_note

    table = Table(title=f"newsflow {command} -> {s['db']}", show_header=True)
    for col in ("documents seen", "new", "updated", "unchanged", "quarantined", "segments removed", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(*(str(s[k]) for k in ("documents_seen", "articles_new", "articles_updated", "articles_unchanged",
                                         "quarantined", "segments_removed", "seconds")))
    out.print(table)
    if s.get("still_quarantined"):
        out.print(Text(still_quarantined_note(s["still_quarantined"]), "yellow"))
    if s.get("data_docs"):
        out.print(f"Validation report (Great Expectations Data Docs): {s['data_docs']}")
    if s.get("report"):
        out.print(f"News report{' (refreshed)' if s.get('report_refreshed') else ''}: {s['report']}")
    if s.get("fetch_hosts"):
        out.print(_fetch_line(s["fetch_hosts"], s.get("fetch_failures", {})), highlight=False)
    if limited := (s.get("fetch") or {}).get("skipped_limit"):
        out.print(f"{limited:,} item(s) or sitemap(s) over the run's limit (the source's max_items, 50 sitemaps): "
                  "left for the next runs", highlight=False)
    if s.get("warc"):
        counts = sorted(s["warc"].items(), key=lambda kv: -kv[1])
        out.print("Web archives: " + ", ".join(f"{name} {n:,}" for name, n in counts), highlight=False)
    if s.get("skipped"):
        out.print(Text.assemble((f"{len(s['skipped'])} skipped", "yellow"), " (nothing stored or changed for them):"))
        for item, reason in s["skipped"][:20]:
            out.print(f"  {shown(item)}: {shown(reason)}", highlight=False)
        if len(s["skipped"]) > 20:
            out.print(f"  ... and {len(s['skipped']) - 20} more")
    if s["quarantine"]:
        out.print(Text.assemble((f"{len(s['quarantine'])} quarantined", "yellow"), " (see the quarantine table):"))
        for source, reasons in s["quarantine"][:20]:
            out.print(f"  {shown(source)}: {shown('; '.join(reasons))}")
        if len(s["quarantine"]) > 20:
            out.print(f"  ... and {len(s['quarantine']) - 20} more")


@app.command()
def extract(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs to clean; - reads one document "
                                               "from standard input, printed first (HTML when it starts "
                                               "with '<', else text; gzip-compressed or not).")],
    url: Annotated[Optional[str], typer.Option(help="With -: the page's URL, against which its links and "
                                               "the date in its URL are read (e.g. curl -s URL | newsflow "
                                               "extract - --url URL).", show_default=False)] = None,
) -> None:
    """Clean documents and print one JSON object per document on stdout; writes no warehouse.

    Fields: source_uri, title, body, published_at, author, language, removed: [{text, rule}], or
    error with the reasons when a document cannot be cleaned. Each document is cleaned within the
    limits `ingest` uses (document_time_limit, document_memory_limit: `newsflow settings`); what the
    folders pass over is listed on stderr.
    """
    import itertools

    from newsflow.config import ConfigError, resolve_settings
    from newsflow.urls import BadURL, check_url
    from tasks.guard import clean_batch_guarded, start_fork_server
    from tasks.sources import SourceError, discover, read_all, read_stream

    skipped: list[tuple[str, str]] = []
    files = [p for p in paths if p != "-"]
    if url is not None and len(files) == len(paths):
        _error("--url names the page read from standard input: give - among the PATHS")
        raise typer.Exit(2)
    try:
        settings = resolve_settings()
        if url is not None:
            url = check_url(url)
        files = discover(files, skipped) if files else []
    except BadURL as exc:
        _error(f"--url: {exc}")
        raise typer.Exit(2) from None
    except (SourceError, ConfigError) as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    for item, reason in skipped:
        console.print(f"skipped {item}: {reason}", highlight=False)
    limits = settings.cleaning_limits
    start_fork_server()
    docs = read_all(files)
    if "-" in paths:  # read before the files: stdin may be a terminal waiting for its end
        docs = itertools.chain([read_stream(sys.stdin.buffer, settings.max_document_bytes, url)], docs)
    while chunk := list(itertools.islice(docs, 50)):  # a few at a time: output flows as documents are cleaned
        for result, _seconds in clean_batch_guarded(chunk, limits.seconds, limits.memory_bytes):
            _print_extracted(result)


def _print_extracted(result) -> None:
    """One `extract` result (an Article or a Rejected) as a JSON line on stdout."""
    from tasks.models import Rejected

    if isinstance(result, Rejected):
        obj = {"source_uri": result.source_uri, "error": result.reasons, "stage": result.stage}
    else:
        obj = {
            "source_uri": result.source_uri, "url": result.url, "title": result.title, "body": result.body,
            "published_at": result.published_at, "author": result.author, "language": result.language,
            "section": result.section, "flags": result.flags, "extraction": result.extraction,
            "extraction_confidence": result.extraction_confidence,
            "removed": [{"text": s.text, "rule": s.rule} for s in result.removed],
        }
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@app.command()
def serve(
    config: ConfigOption = None,
    db: DbOption = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the Prefect server started when "
                                      "PREFECT_API_URL is not set.")] = 4200,
    report_port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 serving the news report "
                                             "and the Data Docs, where the runs' artifacts link.")] = 4201,
) -> None:
    """Serve one scheduled Prefect deployment per source in newsflow.toml, until Ctrl-C.

    Starts a local Prefect server with its UI (http://127.0.0.1:4200; SQLite, or PostgreSQL when
    PREFECT_API_DATABASE_CONNECTION_URL says so) unless PREFECT_API_URL points at one. Runs appear in the
    UI and can be triggered there ("Run" on a deployment); each source runs at most once at a time.
    The news report and the Data Docs are served on http://127.0.0.1:4201, where each run's summary
    artifact links. Ctrl-C or SIGTERM (docker stop) lets the runs in flight record their end first
    (up to 120 s; a second one stops at once).
    """
    from flows.serve import serve_sources
    from newsflow.config import ConfigError, load_config

    settings = _settings(db=db, config=config)
    try:
        cfg = load_config(settings.config)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    if not cfg.sources:
        _error(f"{cfg.path}: no [[sources]] to serve; add one (the repository's newsflow.toml shows each kind), "
               "or give the file that has them with --config")
        raise typer.Exit(2)
    _refuse_other_files(settings, "serve")
    _check_prefect_home()
    try:
        serve_sources(cfg, db=str(settings.db_path), port=port, echo=console.print, report_port=report_port,
                      maintain_every=settings.lake_maintain_interval if settings.lake else None)
    except RuntimeError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words to look for, e.g. "armored train".')],
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LISTED,
                                       help="How many results.")] = 10,
    warehouse: WarehouseOption = None,
) -> None:
    """Full-text search (BM25 over title and body) in the analyst copy; prints ranked titles, outlets,
    dates and a snippet. Reads only: safe while an ingest runs. On a lake, a local index beside --db
    (`<name>.lake-search.duckdb`) takes in the articles changed since the last search first."""
    from tasks.search import SearchUnavailable, indexed_words, search as run_search

    if not any(c.isalnum() for c in query):
        _error(f'{query!r} holds no word to search for; give one or more, e.g. newsflow search "armored train"')
        raise typer.Exit(2)
    settings = _settings(db=db, warehouse=warehouse)
    con = _search_connection(settings)
    try:
        with contextlib.nullcontext() if settings.lake else _reading(settings.db_path):
            hits = run_search(con, query, limit)
            unindexed = not hits and not indexed_words(con, query)
    except SearchUnavailable as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    finally:
        con.close()
    if not hits:
        shown_query = query if len(query) <= 200 else f"{query[:200]}..."  # a pasted article, say
        out.print(f"no matches for {shown_query!r}")
        from tasks.segments import UNSPACED_SCRIPT

        if UNSPACED_SCRIPT.search(query):
            out.print("Words are split at spaces and punctuation: in Chinese, Japanese or Thai text, written "
                      "without spaces, search for a whole phrase between two punctuation marks.")
        elif unindexed:
            out.print("Numbers and common English words (the, who, of, ...) are not indexed, and the query holds "
                      "no other word: add one, e.g. a name (\"Boeing 737\", not \"737\").")
        return
    for rank, h in enumerate(hits, 1):
        when = h.seen_at.astimezone(timezone.utc).date().isoformat() if h.seen_at else "-"  # days are UTC's
        out.print(Text.assemble((f"{rank}. {h.title or '(untitled)'}", "bold"), "  ",
                                (f"{h.outlet} · {when} · score {h.score:.3f}", "dim")))
        out.print(f"   {h.snippet}", highlight=False)


def _search_connection(settings: Settings):
    """The analyst copy read-only, or on a lake its local search index brought up to date."""
    import duckdb

    path = settings.db_path
    if settings.lake:
        from tasks.lake import LakeUnavailable, lake_search_index

        try:
            return lake_search_index(str(settings.warehouse), path.with_name(f"{path.stem}.lake-search.duckdb"),
                                     lambda line: console.print(line, highlight=False))
        except LakeUnavailable as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
    return _analyst_connection(path)


def _no_warehouse(path: Path | str) -> NoReturn:
    """Exit 2 saying there is no warehouse at `path` and what makes one."""
    if isinstance(path, Path) and work_db_path(path).exists():  # a first run loads it, or stopped before publishing
        _error(f"no warehouse at {path} yet: a first run is loading {work_db_path(path).name} and publishes it "
               "when it ends (if no run is going on, the last one stopped first: `newsflow ingest` again)")
    else:
        _error(f"no warehouse at {path}; run `newsflow ingest` first.")
    raise typer.Exit(2)


def _analyst_connection(path: Path):
    """The analyst copy at `path`, read-only, for the commands that read it; exit 2 with one line
    saying what to do when there is none, or when the file is not a newsflow warehouse."""
    import duckdb

    from tasks.dbfile import NotAWarehouse, open_warehouse_file

    if not path.exists():
        _no_warehouse(path)
    try:
        return open_warehouse_file(path)
    except NotAWarehouse as exc:
        _error(f"{exc}: give the --db of a newsflow warehouse (`newsflow ingest "
               "--db NEW_FILE` makes one)")
    except duckdb.Error as exc:
        _error(f"cannot open {path}: {' '.join(str(exc).split())}")
    raise typer.Exit(2)


@contextlib.contextmanager
def _reading(path: Path):
    """Damage DuckDB finds in the analyst copy at `path` while a query reads it (a block whose checksum
    fails) is one line and exit status 2, as when it is found at open, not a traceback."""
    import duckdb

    try:
        yield
    except duckdb.IOException as exc:
        _error(f"cannot read {path}: {' '.join(str(exc).split())}")
        raise typer.Exit(2) from None


RUNS_COLUMNS = ("run", "status", "started (UTC)", "seconds", "seen", "new", "updated", "unchanged", "quarantined")


@app.command()
def runs(
    db: DbOption = None,
    warehouse: WarehouseOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LISTED,
                                       help="How many runs, newest first.")] = 20,
) -> None:
    """The runs, newest first: how each ended, what it changed. On a DuckDB file, from the analyst copy
    (a run shows once published: a run that changed nothing is not copied, and shows with the next
    run that changes something); on a lake, with the snapshots its commits made: `from articles at
    (version => LAST)` is the warehouse as that run left it (docs/lake.md)."""
    from tasks.sql import statement

    settings = _settings(db=db, warehouse=warehouse)
    if not settings.lake:
        con = _analyst_connection(settings.db_path)
        columns = RUNS_COLUMNS
        with _reading(settings.db_path):
            rows = con.execute(statement("file_runs"), [limit]).fetchall()
        title = f"runs in {settings.db_path}"
    else:
        from tasks.lake import lake_runs

        con = _lake_reader(settings)
        columns = (*RUNS_COLUMNS, "first snapshot", "last snapshot", "commits")
        rows = lake_runs(con, limit)
        title = f"runs in {masked(settings.warehouse)}"
    con.close()
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    out.print(table)


def _lake_reader(settings: Settings):
    """A session with the lake attached read-only; exit 2 with one line saying what to check when it
    cannot be attached."""
    from tasks.lake import LakeUnavailable, open_lake

    try:
        return open_lake(str(settings.warehouse), read_only=True)
    except LakeUnavailable as exc:
        _error(str(exc))
        raise typer.Exit(2) from None


def _cell(value) -> str:
    """A `runs` value as shown: a time in UTC to the second, anything else whole (a run id to look up)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@app.command()
def maintain(
    warehouse: Annotated[Optional[str], typer.Option(
        "--warehouse", help="The lake's catalog, 'ducklake:postgres:dbname=news host=...' with "
        "NEWSFLOW_LAKE_DATA_PATH (docs/lake.md). Default: $NEWSFLOW_WAREHOUSE.", show_default=False)] = None,
    retention_hours: Annotated[Optional[float], typer.Option(help="Expire snapshots older than this. Default: "
                                                             "$NEWSFLOW_LAKE_SNAPSHOT_RETENTION or 168.",
                                                             show_default=False)] = None,
) -> None:
    """Run the `maintain` flow once on a lake: merge small files, expire old snapshots, delete files no
    snapshot needs (`newsflow serve` runs it on a schedule)."""
    settings = _settings(warehouse=warehouse, lake_snapshot_retention=retention_hours)
    if not settings.lake:
        _error("`newsflow maintain` looks after a lake: give --warehouse "
               "ducklake:postgres:... (a DuckDB file needs none: runs checkpoint it, and compact it "
               "once half of it is free)")
        raise typer.Exit(2)
    _check_prefect_home()
    from newsflow.ephemeral import start_early_server

    server = start_early_server(settings.early_server)
    from flows.maintain import maintain as maintain_flow

    with _on_early_server(server), _run_fault("maintain", settings):
        done = maintain_flow(warehouse=_flow_warehouse(warehouse), retention_hours=retention_hours)
    out.print(done)


@app.command()
def report(
    db: DbOption = None,
    since: since_option("Only articles seen, runs started and documents quarantined at or after this time "
                        "(e.g. 2026-11-01 or 2026-11-01T06:00; UTC unless it has an offset).") = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write the page (- for "
                                                "stdout). Default: report.html beside the warehouse file "
                                                "(<name>.report.html for a file not named news.duckdb), what "
                                                "`newsflow serve` serves.", show_default=False)] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write the news report: one self-contained HTML page of charts (coverage, entities, pipeline
    health) that opens offline in any browser. Reads the analyst copy only: safe while an ingest runs.
    On a lake (--warehouse), reads the lake read-only and writes the page beside --db."""
    settings = _settings(db=db, warehouse=warehouse)
    path = settings.db_path
    if not settings.lake:
        _analyst_connection(path).close()  # exit 2 unless a warehouse is there; write_report opens its own
        with _reading(path):
            _write_report(path, path, out_file, since)
        return
    from tasks.lake import LakeUnavailable

    try:
        _write_report(str(settings.warehouse), path, out_file, since)
    except LakeUnavailable as exc:
        _error(str(exc))
        raise typer.Exit(2) from None


def _write_report(source: Path | str, path: Path, out_file: Path | None, since: datetime | None) -> None:
    """`newsflow report`'s page from `source` (the analyst copy, or a lake's URL) to `out_file` (- for
    stdout), by default beside `path`."""
    from tasks.report import data_docs_link, report_page, report_path, write_report

    if str(out_file) == "-":
        page, articles = report_page(source, since)
        sys.stdout.write(page)
        console.print(f"wrote the report to stdout ({len(page.encode('utf-8')) / 1024:,.0f} KB, {articles:,} "
                      "articles)", highlight=False)
        return
    target = (out_file or report_path(path)).expanduser().resolve()
    with _writing(target, "--out"):
        written = write_report(source, target, since, links=data_docs_link(path, target))
    out.print(f"wrote {written.path} ({written.bytes / 1024:,.0f} KB, {written.articles:,} articles, "
              f"{written.seconds:.1f} s); open it in a browser: {written.path.as_uri()}", highlight=False)


@app.command()
def sql(
    db: DbOption = None,
    command: Annotated[Optional[str], typer.Option("--command", "-c", help="Run this SQL (one or more "
                                                   "statements) and print the result as a table, then exit.",
                                                   show_default=False)] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """An interactive SQL shell (the DuckDB CLI) on the analyst copy, read-only, with the views and
    full-text search ready: `fts_main_articles.match_bm25(article_id, 'words')`. With -c, runs one
    statement and prints a table. On a lake (--warehouse), the lake attached read-only as `lake`."""
    from tasks.search import extension_directory
    from tasks.shell import ShellUnavailable, greeting, shell_command

    if command is not None and not command.replace(";", " ").strip():
        _error("-c needs SQL to run, e.g. -c 'select outlet, count(*) from v_articles group by all'; "
               "without -c the interactive shell opens")
        raise typer.Exit(2)
    settings = _settings(db=db, warehouse=warehouse)
    path = settings.db_path
    if settings.lake:
        path = settings.warehouse
        _lake_reader(settings).close()  # exit 2 unless the lake attaches: the CLI would open an empty database
    else:
        _analyst_connection(path).close()  # exit 2 unless a warehouse is there
    try:
        argv, env = shell_command(path, command)
    except ShellUnavailable as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    if command is None:
        console.print(greeting(path, extension_directory() is not None), highlight=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)  # the shell takes over this process (and its terminal)


@app.command()
def reclean(
    db: DbOption = None,
    since: since_option("Only documents received at or after this time (e.g. 2026-11-01 or "
                        "2026-11-01T12:00:00; UTC unless it has an offset).") = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Documents per batch. Default: $NEWSFLOW_BATCH_SIZE "
                                                      "or 400.", show_default=False)] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Clean and validate the stored raw documents again with the current rules (no refetch), load the
    changes idempotently, record the cleaner version on each article, then publish the analyst copy."""
    settings = _settings(db=db, batch_size=batch_size, warehouse=warehouse)
    if not settings.lake and not (settings.db_path.exists() or work_db_path(settings.db_path).exists()):
        # a mistyped --db would otherwise get a new, empty warehouse and a report of nothing
        _no_warehouse(settings.db_path)
    _refuse_other_files(settings, "reclean")
    _check_prefect_home()
    from newsflow.ephemeral import start_early_server

    server = start_early_server(settings.early_server)  # as for ingest: it boots while this process imports
    with _warehouse_turn(settings, "newsflow reclean"):
        from flows.reclean import reclean as reclean_flow

        with _on_early_server(server, warm=True), _run_fault("reclean", settings):
            summary = reclean_flow(db=str(settings.db_path), since=since, batch_size=batch_size,
                                   warehouse=_flow_warehouse(warehouse))
    print_summary(summary, "reclean")


@app.command("raw-store-lost")
def raw_store_lost(
    name: Annotated[str, typer.Argument(help="The file's name, as the error printed it (newsflow-....warc.gz).",
                                        show_default=False)],
    db: DbOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Record that a file of the raw store is lost for good (no backup to restore), so that runs start a
    new file instead of failing "archive file missing". Its documents' articles stay; reclean lists them
    as skipped until the originals are ingested again, which stores them again. Check first that
    NEWSFLOW_ARCHIVE_DIR names the right folder."""
    settings = _settings(db=db, warehouse=warehouse)
    if not settings.lake and not (settings.db_path.exists() or work_db_path(settings.db_path).exists()):
        _no_warehouse(settings.db_path)
    _refuse_other_files(settings, "raw-store-lost")
    from tasks.archive import ArchiveError, mark_lost
    from tasks.warehouse import Warehouse

    with _warehouse_turn(settings, "newsflow raw-store-lost"):
        writer = Warehouse.open(settings.db_path, settings)
        try:
            documents = mark_lost(writer.con, writer.archive.folder, Path(name).name)
            if writer.publishes:  # the analyst copy (what a nightly backup holds) records it too
                writer.publish()
        except ArchiveError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
        finally:
            writer.close()
    out.print(f"{Path(name).name} is recorded as lost: {documents:,} document{'s' if documents != 1 else ''} "
              f"had {'its' if documents == 1 else 'their'} raw page in it (articles stay; reclean skips those "
              f"documents until the originals are ingested again, which stores them again). The next run "
              f"starts a new file in {writer.archive.folder}.", highlight=False)


@app.command()
def schema(
    db: DbOption = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Write markdown (tables, columns, comments).")] = True,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write; '-' for stdout.")] = Path(
        "docs/schema.md"),
    readme: Annotated[Optional[Path], typer.Option(help="Also refresh the schema section of this README "
                                                   "(between the schema markers).")] = None,
) -> None:
    """Document the warehouse schema from its COMMENT ON statements: docs/schema.md (every column) and,
    with --readme README.md, the README's schema section. Run it after adding a migration."""
    import duckdb

    from tasks.load import migrate
    from tasks.schema import apply_views, replace_section, schema_markdown, schema_summary

    path = _settings(db=db).db_path
    if path.exists():
        con = _analyst_connection(path)
    else:  # no warehouse yet: describe the schema the migrations would create
        con = duckdb.connect(":memory:")
        migrate(con)
        apply_views(con)
    try:
        text = schema_markdown(con)
        summary = schema_summary(con)
    finally:
        con.close()
    if readme is not None:
        with _writing(readme, "--readme"):
            try:
                updated = replace_section(readme.read_text(encoding="utf-8"), summary)
            except (ValueError, UnicodeDecodeError) as exc:  # not a README with the section: left as it is
                _error(f"{readme}: {exc}")
                raise typer.Exit(2) from None
            readme.write_text(updated, encoding="utf-8")
        console.print(f"updated the schema section of {readme}")
    if str(output) == "-":
        sys.stdout.write(text + "\n")
    else:
        with _writing(output, "--output"):
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")


@contextlib.contextmanager
def _writing(target: Path, option: str):
    """A file that cannot be written (read-only folder, a folder where the file would go, no such
    folder) is one line and exit status 2 that name it and the option to change, not a traceback."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) in target.parents else ""
        _error(f"cannot write {target}: {exc.strerror or exc}{where}; choose another "
               f"{option}")
        raise typer.Exit(2) from None


@app.command("settings")
def settings_(
    config: Annotated[Optional[Path], typer.Option("--config", help="Sources config whose [settings] table "
                                                   "applies. Default: $NEWSFLOW_CONFIG, ./newsflow.toml, "
                                                   "else the repository's.")] = None,
) -> None:
    """Show every setting with its value for a run started here, its environment variable and what
    it does. Values come from newsflow.toml's [settings] table, then NEWSFLOW_* variables; a command's
    flags (ingest's --db, --batch-size, --config) override them for its run."""
    settings = _settings(config=config)
    table = Table(show_header=True, title="newsflow settings (file, then environment, then flags)")
    for col in ("setting", "value", "environment variable", "what it does"):
        table.add_column(col, overflow="fold")  # a long path whole, over lines, never cut with "…"
    config_file = config_path(settings.config)  # the file a run reads, also when none is named
    if settings.config and not config_file.exists():  # a run stops there: say so here too
        _error(f"{config_file}: no such config file (pass --config or set NEWSFLOW_CONFIG)")
        raise typer.Exit(2)
    for name, info in Settings.model_fields.items():
        value = config_file if name == "config" else getattr(settings, name)
        table.add_row(name, masked(str(value)), f"NEWSFLOW_{name.upper()}", info.description or "")
    out.print(table)


@app.command("import-opml")
def import_opml(
    opml: Annotated[Path, typer.Argument(help="An OPML file (what feed readers export).")],
    name: Annotated[str, typer.Option("--name", help="The new source's name.")] = "feeds",
    interval: Annotated[Optional[str], typer.Option("--interval", help="Schedule, e.g. 1h.")] = None,
) -> None:
    """Print a newsflow.toml [[sources]] entry (kind "feed") listing every feed of an OPML file; add
    it to newsflow.toml. (A source of kind "opml" reads the file at each run instead.)"""
    from newsflow.config import ConfigError, parse_config
    from newsflow.urls import BadURL, check_url
    from tasks.discover import DiscoveryError, parse_opml

    try:
        listed = parse_opml(opml.read_bytes())
    except (OSError, DiscoveryError) as exc:
        _error(f"cannot read {opml}: {exc}")
        raise typer.Exit(2) from None
    feeds = []
    for url in listed:  # as the config will hold them: checked, in canonical form, each once
        try:
            feeds.append(check_url(url))
        except BadURL as exc:
            console.print(f"skipped {exc}", highlight=False, markup=False)
    feeds = list(dict.fromkeys(feeds))
    if not feeds:
        _error(f"{opml}: no http(s) feed URL to import")
        raise typer.Exit(2)
    try:  # what is printed must load: the name's and the interval's rules are the config's
        parse_config({"sources": [{"name": name, "kind": "feed", "locations": feeds,
                                   **({"interval": interval} if interval else {})}]})
    except ConfigError as exc:
        _error(f"the entry would not load (mend --name or --interval): {str(exc).removeprefix('config: ')}")
        raise typer.Exit(2) from None
    lines = ["[[sources]]", f"name = {_toml_string(name)}", 'kind = "feed"']
    if interval:
        lines.append(f"interval = {_toml_string(interval)}")
    lines += ["locations = [", *(f"    {_toml_string(url)}," for url in feeds), "]"]
    print("\n".join(lines))
    console.print(f"{len(feeds)} feed(s) from {opml}", highlight=False)


def _toml_string(value: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but not its surrogate pairs (an emoji in a URL would
    be "\\ud83d\\ude00", which TOML refuses): characters stay as they are, bar DEL, which TOML escapes."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


@app.command("eval")
def eval_(
    dataset: Annotated[Path, typer.Argument(help="Folder with `html/<id>.html[.gz]` and `ground-truth/<id>.json` (WCXB layout).")],
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N pages.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    system: Annotated[
        Optional[list[str]],
        typer.Option("--system", help="Systems to compare (repeatable). Default: newsflow, trafilatura "
                     "(default) and trafilatura (newsflow options)."),
    ] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the summary rows as JSON here.")] = None,
) -> None:
    """Score the cleaner against pages with ground truth, side by side with plain trafilatura.

    Prints precision, recall and F1 (lower-cased word tokens, mean over pages), the share of the
    ground truth's `without` snippets left in the output, pages with a boilerplate-looking line,
    docs/s per core, and metadata accuracy (title, author, date).
    """
    from dataclasses import asdict

    from tasks.evaluate import DEFAULT_SYSTEMS, DatasetError, evaluate, in_sample_note, render_table

    try:
        report = evaluate(dataset, system or DEFAULT_SYSTEMS, workers=workers, limit=limit)
    except (DatasetError, KeyError) as exc:
        _error(f"{exc.args[0] if exc.args else exc}")
        raise typer.Exit(2) from None
    out.print(render_table(report))
    if note := in_sample_note(report):
        out.print(note, highlight=False)
    if json_out:
        json_out.write_text(json.dumps([asdict(s) for s in report.summaries], indent=2), encoding="utf-8")


def main() -> None:
    """The `newsflow` command: the app, then an exit without the interpreter's teardown (see fastexit)."""
    fastexit.install()
    try:
        app()
    except SystemExit as exc:
        fastexit.set_status(exc.code)
        raise
    fastexit.set_status(0)


if __name__ == "__main__":
    main()
