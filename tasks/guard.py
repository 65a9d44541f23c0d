"""A per-document time limit for cleaning, so one pathological page cannot stall a batch.

Documents are cleaned in a long-lived helper process (one per worker thread or process) that streams
back one result per document. The caller waits at most the limit for each result; when a document
takes longer, or crashes the helper (a parser segfault, the memory cap), the helper is killed, that
document becomes a Rejected with the reason, and a fresh helper carries on with the rest of the batch.
A signal-based timeout would not do: Prefect and Dask may run the task outside the main thread, and a
signal cannot interrupt a long call inside lxml's C code.

Helpers are forked from a fork server (`newsflow.warmfork`): a small single-threaded process that
imported and warmed the cleaner once (`tasks.warm_cleaner`). So a helper starts warm in milliseconds,
also after a kill; forking never copies the caller's threads, locks or memory (the flow's process holds
Prefect's threads and DuckDB's caches); and the caller can be a thread of the flow's process. At exit
the helpers and the fork server are stopped and reaped, so no process is left behind and their CPU time
counts for this process. In a daemonic process (Dask's worker processes) the helper is forked from the
worker itself, after a warm-up, rather than keeping a second warm process per worker. Where fork is
unavailable the documents are cleaned inline, without a limit.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from newsflow.processes import die_with_parent
from newsflow.settings import DOCUMENT_MEMORY_LIMIT_BYTES, DOCUMENT_TIME_LIMIT_S, CleaningLimits
from newsflow.warmfork import Channel, ForkServer, ForkServerGone
from tasks.archive import pack_record
from tasks.models import Article, CleanedBatch, MachineFault, RawDocument, Rejected, machine_fault

T = TypeVar("T")
R = TypeVar("R")

# How long a fresh helper may take to warm up (imports, models) before the batch fails (and retries).
WARMUP_TIMEOUT_S = 300.0
_CAN_FORK = hasattr(os, "fork") and sys.platform.startswith("linux")
# Imported by the fork server before it forks any helper (a module whose import warms the cleaner).
FORK_SERVER_PRELOAD = ["tasks.warm_cleaner"]


class HelperFailed(RuntimeError):
    """The helper process could not start or warm up."""


def _limit_memory(extra_bytes: int) -> None:
    """Cap the helper's address space so a memory bomb fails one document, not the machine."""
    if extra_bytes <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (current + extra_bytes, resource.RLIM_INFINITY))
    except (OSError, ValueError, ImportError):
        pass


def _serve(conn: Channel | Connection, fn: Callable[[Any], Any], warmup: Callable[[], None] | None,
           memory_bytes: int = DOCUMENT_MEMORY_LIMIT_BYTES) -> None:
    """The helper's loop: receive a list of items, send back ("ok", result) or ("error", reason) each,
    or ("machine", reason) for an error of the machine (`tasks.models.machine_fault`)."""
    if warmup is not None:
        try:
            warmup()
        except Exception as exc:
            if not machine_fault(exc):
                raise
            conn.send(("machine", f"{type(exc).__name__}: {exc}"[:500]))
            return
    # What is alive now (modules, models) lives as long as the helper: keep it out of the collector's
    # full passes, which would walk it again and again and, in a helper forked warm, write to (and so
    # copy) the pages it shares with its fork server.
    gc.freeze()
    _limit_memory(memory_bytes)
    conn.send(("ready", None))
    while True:
        try:
            items = conn.recv()
        except (EOFError, OSError):
            return
        if items is None:
            return
        for item in items:
            try:
                out = ("ok", fn(item))
            except Exception as exc:  # noqa: BLE001 - reported per document, never fatal
                out = ("machine" if machine_fault(exc) else "error", f"{type(exc).__name__}: {exc}"[:500])
            try:
                conn.send(out)  # pickled whole before a byte is written
            except OSError:
                raise
            except Exception as exc:  # noqa: BLE001 - a result that does not pickle (nested past the limit)
                conn.send(("error", f"its result cannot be returned: {type(exc).__name__}: {exc}"[:500]))


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "exited"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class _ForkedChild:
    """A helper forked from this very process (a daemonic one), with the part of `multiprocessing.Process`
    that `Helper` uses. The child dies with the calling thread (Linux), and closes `parent_end`, the
    caller's end of its pipe, so that it sees the pipe close when the caller closes it."""

    def __init__(self, target: Callable[..., None], args: tuple, parent_end: Connection):
        self.exitcode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the helper
            status = 0
            try:
                die_with_parent(signal.SIGKILL)
                parent_end.close()
                target(*args)
            except BaseException:  # noqa: BLE001 - a helper must never run the parent's code
                status = 1
            finally:
                os._exit(status)

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:
                self.exitcode = 1
                return
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() >= deadline:
                return
            else:
                time.sleep(0.01)

    def kill(self) -> None:
        if self.exitcode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


_fork_server = ForkServer(FORK_SERVER_PRELOAD)


def start_fork_server() -> bool:
    """Start the helpers' fork server now, so that it imports and warms the cleaner (~1.5 s of CPU in its
    own process) while this process does something else, e.g. waits for Prefect's API server. The first
    helper then forks warm at once. Returns whether it started (not where helpers fork otherwise)."""
    if not _CAN_FORK or multiprocessing.current_process().daemon:
        return False
    _fork_server.start()
    _stop_at_exit()
    return True


def fork_server_pid() -> int | None:
    """The pid of this process's fork server, while it runs."""
    return _fork_server.pid


def _start_process(fn: Callable[[Any], Any], warmup: Callable[[], None] | None,
                   memory_bytes: int) -> tuple[Any, Any]:
    """Start a helper running `_serve(its end, fn, warmup, memory_bytes)`: from the fork server, or
    forked from this process where it is daemonic. Returns the process and this side's end of the
    helper's connection."""
    if multiprocessing.current_process().daemon:
        parent_conn, child_conn = Pipe(duplex=True)
        try:
            return _ForkedChild(_serve, (child_conn, fn, warmup, memory_bytes), parent_conn), parent_conn
        finally:
            child_conn.close()
    try:
        return _fork_server.fork(_serve, (fn, warmup, memory_bytes))
    except ForkServerGone as exc:  # the next helper starts a new one
        raise HelperFailed(f"cleaning helper failed to start ({exc})") from None


class Helper:
    """One helper process that applies `fn` to items with a time limit per item."""

    def __init__(self, fn: Callable[[T], R], warmup: Callable[[], None] | None = None,
                 memory_bytes: int = DOCUMENT_MEMORY_LIMIT_BYTES):
        self.fn = fn
        self.warmup = warmup
        self.memory_bytes = memory_bytes  # extra address space the helper may use (0: no cap)
        self.process: Any = None  # a newsflow.warmfork.ForkedProcess, or a _ForkedChild
        self.conn: Channel | Connection | None = None  # a Connection to a _ForkedChild

    def start(self) -> None:
        if _interrupted.is_set():
            raise HelperFailed(INTERRUPTED)
        self.process, parent_conn = _start_process(self.fn, self.warmup, self.memory_bytes)
        self.conn = parent_conn
        if not parent_conn.poll(WARMUP_TIMEOUT_S):
            self.stop()
            raise HelperFailed(f"cleaning helper did not warm up within {WARMUP_TIMEOUT_S:g} s")
        try:
            status, value = parent_conn.recv()
        except (EOFError, OSError):
            exitcode = self.stop()
            raise HelperFailed(f"cleaning helper failed to start ({_describe_exit(exitcode)})") from None
        if status == "machine":
            self.stop()
            raise MachineFault(f"a cleaning process cannot work: {value}")

    def stop(self, grace: float = 0.0) -> int | None:
        """Stop the helper and reap it (after `grace` seconds to exit on its own); returns its exit code
        (negative: the signal that ended it)."""
        if self.conn is not None:
            self.conn.close()  # an idle helper exits when its pipe closes
            self.conn = None
        process, self.process = self.process, None
        if process is None:
            return None
        if grace > 0:
            process.join(grace)
        if process.exitcode is None:
            process.kill()
            process.join()
        return process.exitcode

    def run(self, items: Sequence[T], limit: float, on_fail: Callable[[T, str], R]) -> list[R]:
        """Apply fn to every item; an item slower than `limit` seconds or crashing gets on_fail(item, reason).
        If the caller's side fails part way (an exception here, in `on_fail`, or reading a result), the
        helper is stopped: the rest of its results must not be read as the next call's."""
        try:
            return self._run(items, limit, on_fail)
        except BaseException:
            self.stop()
            raise

    def _run(self, items: Sequence[T], limit: float, on_fail: Callable[[T, str], R]) -> list[R]:
        results: list[R] = []
        pending = list(items)
        while pending:
            if self.conn is None:
                self.start()
            assert self.conn is not None
            try:
                self.conn.send(pending)
            except (BrokenPipeError, OSError):  # the helper died between batches: start another
                self.stop()
                self.start()
                assert self.conn is not None
                self.conn.send(pending)
            done = 0
            failed = False
            for item in pending:
                if not self.conn.poll(limit):
                    self.stop()
                    results.append(on_fail(item, f"timed out after {limit:g} s"))
                    failed = True
                    break
                try:
                    status, value = self.conn.recv()
                except (EOFError, OSError):
                    exitcode = self.stop()
                    if _interrupted.is_set():  # stopped by `interrupt`, not by the document
                        raise HelperFailed(INTERRUPTED) from None
                    results.append(on_fail(item, f"cleaning process crashed ({_describe_exit(exitcode)})"))
                    failed = True
                    break
                if status == "machine":
                    raise MachineFault(f"a cleaning process cannot work: {value}")
                results.append(value if status == "ok" else on_fail(item, value))
                done += 1
            pending = pending[done + 1:] if failed else []
        return results


_local = threading.local()
_all_helpers: list[Helper] = []


def _helper(fn: Callable[[Any], Any], warmup: Callable[[], None] | None, memory_bytes: int) -> Helper:
    helpers: dict = _local.__dict__.setdefault("helpers", {})
    key = (fn, warmup, memory_bytes, os.getpid())  # a forked process must not reuse its parent's helper
    if key not in helpers:
        helpers[key] = Helper(fn, warmup, memory_bytes)
        _stop_at_exit()
        _all_helpers.append(helpers[key])
    return helpers[key]


_exit_hook_pid: int | None = None  # the process that registered `_stop_all` (a forked child registers again)


def _stop_at_exit() -> None:
    global _exit_hook_pid
    if _exit_hook_pid != os.getpid():
        _exit_hook_pid = os.getpid()
        atexit.register(_stop_all)


INTERRUPTED = "cleaning stopped: the run was interrupted"
_interrupted = threading.Event()


def interrupt() -> None:
    """The run was interrupted (Ctrl-C, a cancel): end every helper of this process now, so the batches
    being cleaned fail at once (their threads then start no other) instead of being cleaned to the end.
    Each helper's own thread reaps it."""
    _interrupted.set()
    for helper in list(_all_helpers):
        process = helper.process
        if process is not None:
            try:
                process.kill()
            except OSError:  # reaped meanwhile
                pass


def _stop_all() -> None:
    """At exit: let the helpers finish, then stop the fork server and reap it, so no process is left
    behind and the cleaning CPU time counts for this process (`getrusage`, which `make bench` reads)."""
    for helper in _all_helpers:
        if helper.process is not None:
            helper.stop(grace=2.0)
    _fork_server.stop()


def run_guarded(items: Sequence[T], fn: Callable[[T], R], on_fail: Callable[[T, str], R],
                limit: float = DOCUMENT_TIME_LIMIT_S, warmup: Callable[[], None] | None = None,
                memory_bytes: int = DOCUMENT_MEMORY_LIMIT_BYTES) -> list[R]:
    """`[fn(x) for x in items]` with at most `limit` seconds per item (in a helper process).

    An item that times out or crashes the helper gets `on_fail(item, reason)` instead; an exception
    raised by `fn` also goes to `on_fail` with its message. `fn`, `on_fail` and `warmup` must be
    module-level functions (the helper is reused across calls).
    """
    if not _CAN_FORK or limit <= 0:
        out: list[R] = []
        for item in items:
            try:
                out.append(fn(item))
            except Exception as exc:  # noqa: BLE001
                out.append(on_fail(item, f"{type(exc).__name__}: {exc}"))
        return out
    return _helper(fn, warmup, memory_bytes).run(items, limit, on_fail)


# ------------------------------------------------------------------------- the cleaning stage
_WARMUP_PAGE = (
    b"<html><head><title>Warm-up page</title><meta name='author' content='Jane Doe'>"
    b"<meta property='article:published_time' content='2024-01-02T03:04:05Z'></head><body><nav>Home</nav>"
    b"<article><h1>Warm-up page</h1><p>This paragraph exists so the extractor, the date parser and the "
    b"language model are loaded before any real document is timed. It is long enough to be an article "
    b"body and says nothing at all.</p><p>Published on 2 January 2024 by Jane Doe.</p></article></body></html>"
)


def _warm_cleaner() -> None:
    from tasks.models import sha256_hex

    _clean_one(RawDocument("file:///warm-up.html", "html", _WARMUP_PAGE, sha256_hex(_WARMUP_PAGE), len(_WARMUP_PAGE)))


def _clean_one(doc: RawDocument) -> tuple[Article | Rejected, float]:
    """Clean one document and analyze its text (entities, citations, story signature, leak check), so
    the single writer only validates and writes."""
    from tasks.clean import clean_document
    from tasks.enrich import analysis_of

    started = time.perf_counter()
    result = clean_document(doc)
    if isinstance(result, Article):
        analysis_of(result)
    return result, time.perf_counter() - started


def _reject(doc: RawDocument, reason: str, limit: float = DOCUMENT_TIME_LIMIT_S) -> tuple[Rejected, float]:
    seconds = limit if reason.startswith("timed out") else 0.0
    return Rejected(doc.document_id, doc.source_uri, "extract", [reason]), seconds


def clean_batch_guarded(docs: list[RawDocument], limit: float = DOCUMENT_TIME_LIMIT_S,
                        memory_bytes: int = DOCUMENT_MEMORY_LIMIT_BYTES) -> list[tuple[Article | Rejected, float]]:
    """Clean a batch with a per-document time limit: (result, seconds) per document, in order.

    A document over the limit is quarantined with the reason "timed out after N s" (N = `limit`,
    setting document_time_limit); one that crashes the cleaning process (memory cap: `memory_bytes`,
    setting document_memory_limit) says so.
    """
    return run_guarded(docs, _clean_one, partial(_reject, limit=limit), limit, _warm_cleaner, memory_bytes)


def clean_batch_for_load(docs: list[RawDocument] | SharedBatch,
                         limits: CleaningLimits = CleaningLimits()) -> CleanedBatch:
    """A worker's whole share of a batch: clean and analyze each document within the limits
    (`clean_batch_guarded`), and pack the raw bytes as WARC records for the raw store. A SharedBatch is
    cleaned together with any thread that helps with it (`help_clean`)."""
    if isinstance(docs, SharedBatch):
        results = docs.clean(limits)
        docs = docs.docs
    else:
        results = clean_batch_guarded(docs, limits.seconds, limits.memory_bytes)
    return CleanedBatch(results, [pack_record(d) for d in docs])


def help_clean(shared: SharedBatch, limits: CleaningLimits = CleaningLimits()) -> int:
    """Clean what is left of another thread's batch alongside it; returns how many documents this
    thread cleaned."""
    return shared.work(limits, owner=False)


# Documents a thread takes from a shared batch at a time, at least: each take is a round trip to its
# cleaning process.
MIN_SHARE = 4


class SharedBatch:
    """A batch that several threads of the flow's process may clean together, each through its own
    cleaning process: each takes half of what is left (at least MIN_SHARE documents) until nothing is.

    A run's batches are loaded in order, so at its end the oldest unfinished batch holds back every
    younger one: a thread that has cleaned its own batches helps with it instead of idling. A take
    whose thread fails goes back to the batch; the owner cleans what no helper finishes, and returns
    the results in the batch's order."""

    def __init__(self, docs: list[RawDocument]):
        self.docs = docs
        self._results: list[Any] = [None] * len(docs)
        self._next = 0
        self._returned: list[tuple[int, int]] = []  # (start, end) taken by a thread that failed
        self._left = len(docs)
        self._signal = threading.Condition()

    def __getstate__(self) -> dict:  # another process (a process pool, Dask) gets its own copy
        return {"docs": self.docs}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["docs"])

    def _take(self) -> tuple[int, int] | None:
        with self._signal:
            if self._returned:
                return self._returned.pop()
            if self._next >= len(self.docs):
                return None
            start = self._next
            self._next = min(len(self.docs), start + max(MIN_SHARE, -(-(len(self.docs) - start) // 2)))
            return start, self._next

    def clean(self, limits: CleaningLimits) -> list[tuple[Article | Rejected, float]]:
        """The owner's part: clean shares until none is left, wait for the helpers' shares (cleaning
        any a failed helper gave back), and return every result in the batch's order."""
        while True:
            self.work(limits, owner=True)
            with self._signal:
                self._signal.wait_for(lambda: self._left == 0 or bool(self._returned))
                if self._left == 0:
                    results, self._results = self._results, []  # held no longer than the caller
                    return results

    def work(self, limits: CleaningLimits, owner: bool) -> int:
        """Take and clean shares until none is left to take; returns how many documents this thread
        cleaned. A helper whose cleaning fails gives its share back and stops; the owner's error
        propagates (its task run retries)."""
        done = 0
        while (span := self._take()) is not None:
            start, end = span
            try:
                results = clean_batch_guarded(self.docs[start:end], limits.seconds, limits.memory_bytes)
            except BaseException as exc:
                with self._signal:
                    self._returned.append(span)
                    self._signal.notify_all()
                if owner or not isinstance(exc, Exception):
                    raise
                return done  # the owner cleans the share this helper could not
            with self._signal:
                self._results[start:end] = results
                self._left -= end - start
                self._signal.notify_all()
            done += end - start
        return done
