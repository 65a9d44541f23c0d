"""Runs on one warehouse take turns: a lock file beside the analyst path, held for the whole run.

DuckDB lets one process write a file; a second run that opened it anyway would die on "Conflicting
lock is held" part-way through. Instead every run (ingest, reclean; from the CLI or a deployment)
first takes an exclusive `flock` on `<warehouse>.lock`, waiting up to a bound for the run before it,
and names that run while it waits. The kernel drops the lock when its process ends, SIGKILL included,
so a killed run never blocks the next one. Holding is re-entrant within a process: the CLI takes the
lock before it starts the flow (so a refusal is one line, not a failed flow run) and the flow's own
`hold` then costs nothing.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

POLL_S = 0.2


class WarehouseBusy(RuntimeError):
    """Another run held the warehouse for longer than this run would wait."""


class WarehouseUnwritable(RuntimeError):
    """The warehouse's folder cannot take its run lock (read-only, not this user's, not a folder)."""


class _Held:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.depth = 0


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    """`warehouse/news.duckdb` -> `warehouse/news.duckdb.lock`."""
    return Path(warehouse).with_name(Path(warehouse).name + ".lock")


def describe_holder(path: Path) -> str:
    """Who holds the lock file at `path`, from what it wrote there ("another run" if unknown)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another run"
    return f"run {info.get('run', '?')} (pid {info.get('pid', '?')}, started {info.get('started', '?')})"


@contextmanager
def hold(warehouse: Path, run: str, wait_s: float, say: Callable[[str], object] = print) -> Iterator[None]:
    """Hold the warehouse's run lock for the body; wait at most `wait_s` seconds for it.

    Args:
        warehouse: the analyst path (`--db`); the lock file sits beside it.
        run: what to call this run in the lock file (a flow run id, or the command).
        wait_s: how long to wait for another run before giving up.
        say: called once with a line saying which run this one waits for.

    Raises:
        WarehouseBusy: the other run still held it after `wait_s`; nothing was written.
        WarehouseUnwritable: the lock file cannot be created beside the warehouse.
    """
    path = lock_path(warehouse)
    key = str(path.resolve())
    with _guard:
        held = _held.get(key)
        if held is None:
            held = _held[key] = _Held(_acquire(path, run, wait_s, say))
        held.depth += 1
    try:
        yield
    finally:
        with _guard:
            held.depth -= 1
            if held.depth == 0:
                del _held[key]
                os.close(held.fd)  # releases the flock


def _owner(path: Path) -> str:
    try:
        return path.owner()
    except (KeyError, OSError):  # a uid with no name here
        return f"uid {path.stat().st_uid}"


def _acquire(path: Path, run: str, wait_s: float, say: Callable[[str], object]) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask: a team's shared folder shares it
    except OSError as exc:
        if exc.errno == errno.EACCES and path.exists():
            raise WarehouseUnwritable(
                f"cannot open {path}, the warehouse's run lock: {exc.strerror} (it belongs to "
                f"{_owner(path)}, mode {path.stat().st_mode & 0o777:o}); let this user write it "
                f"(chmod g+w or o+w {path}), or remove it when no run holds it") from exc
        raise WarehouseUnwritable(
            f"cannot create {path}, the warehouse's run lock: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename and Path(exc.filename) in path.parents else ''}; the warehouse "
            f"{path.with_suffix('')} needs a folder this user can write: choose another --db") from exc
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = describe_holder(path)
            if time.monotonic() >= deadline:
                os.close(fd)
                raise WarehouseBusy(
                    f"{path.with_suffix('')} is in use by {holder}, which did not finish within "
                    f"{wait_s:g} s; nothing was loaded by this run: run it again later, or wait longer "
                    "with NEWSFLOW_WAREHOUSE_WAIT=SECONDS") from None
            if not told:
                say(f"waiting for {holder} to finish with {path.with_suffix('')} "
                    f"(up to {wait_s:g} s, NEWSFLOW_WAREHOUSE_WAIT)")
                told = True
            time.sleep(POLL_S)
        except BaseException:
            os.close(fd)
            raise
    info = {"run": run, "pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500]}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    return fd


def note_run(warehouse: Path, run: str) -> None:
    """Record the run id in a lock this process holds (the CLI takes it before the flow run has an id)."""
    held = _held.get(str(lock_path(warehouse).resolve()))
    if held is None:
        return
    try:
        info = json.loads(os.pread(held.fd, 65536, 0) or b"{}")
    except ValueError:
        info = {}
    info["run"] = run
    data = json.dumps(info).encode()
    os.ftruncate(held.fd, 0)
    os.pwrite(held.fd, data, 0)
