"""Crawling many hosts at once: per-host lanes of work, and the stream from the crawl into the batches.

`Lanes` runs the jobs of a crawl (fetch a feed, fetch a page) keyed by host: each host's jobs run in
order in one lane (`host_connections` lanes per host, default one), and lanes of different hosts run
in parallel threads. A lane sleeps while its host's interval runs (tasks/hostclock.py), holding a
thread but not a connection: the fetcher lets at most `max_connections` requests be open at once.
So hundreds of hosts proceed together while each one is asked no faster than its manners allow.

`CrawlStream` runs a whole crawl in a background thread and hands its documents to the flow as they
arrive, through a bounded queue (a full queue makes the crawl wait: memory holds what is in flight,
not the run). With each document come the fetch_state rows and seen items that belong to it, kept
in a ledger until the batch holding the document is loaded, in that batch's transaction.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tasks.models import FLUSH, RawDocument

LANES_PER_CONNECTION = 4  # a lane mostly sleeps through its host's interval, so lanes outnumber connections


class Lanes:
    """Run jobs per host: at most `per_host` at once for one host, up to `max_lanes` hosts in parallel.

    `submit` may be called from inside a job (a feed queues its items). `wait` returns once every
    job submitted, including those submitted meanwhile, has run. Jobs guard their own failures; one
    that raises anyway stops the crawl and is kept in `failure`."""

    def __init__(self, max_lanes: int, per_host: int = 1) -> None:
        self.per_host = max(1, per_host)
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_lanes), thread_name_prefix="crawl")
        self._queues: dict[str, deque] = defaultdict(deque)
        self._running: Counter[str] = Counter()
        self._pending = 0
        self._stopped = False
        self._cond = threading.Condition()
        self.failure: BaseException | None = None  # what stopped the crawl, if anything did

    def submit(self, host: str, job: Callable[..., object], *args: Any) -> None:
        with self._cond:
            if self._stopped:
                return
            self._queues[host].append((job, args))
            self._pending += 1
            if self._running[host] < self.per_host:
                self._running[host] += 1
                self._pool.submit(self._lane, host)

    def _lane(self, host: str) -> None:
        while True:
            with self._cond:
                jobs = self._queues.get(host)
                if not jobs:
                    self._queues.pop(host, None)
                    self._running[host] -= 1
                    if self._running[host] <= 0:
                        del self._running[host]
                    self._cond.notify_all()
                    return
                job, args = jobs.popleft()
            try:
                job(*args)
            except BaseException as exc:  # noqa: BLE001 - jobs guard themselves; this one stops the crawl
                self.failure = self.failure or exc
                self.stop()
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def wait(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending == 0)

    def stop(self) -> None:
        """Drop the jobs not started; the running ones finish."""
        with self._cond:
            self._stopped = True
            for jobs in self._queues.values():
                self._pending -= len(jobs)
                jobs.clear()
            self._cond.notify_all()

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=True)

    @property
    def hosts_active(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def queued(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())


class CrawlStopped(Exception):
    """The flow stopped reading (it failed): the crawl gives up its remaining work."""


class CrawlStream:
    """A crawl in a background thread whose documents are read by iterating over this object.

    Args:
        crawl: runs the crawl, calling the `emit` it is given once per document; returns its result
            (a Harvest). Run in a copy of the caller's context, so a Prefect task called inside it
            belongs to the caller's flow run.
        size: documents waiting in the queue at most.
        flush_s: every this many seconds iteration yields FLUSH (the batch gathered so far goes on).
    """

    def __init__(self, crawl: Callable[[Callable], Any], size: int, flush_s: float) -> None:
        self.crawl = crawl
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self.flush_s = flush_s
        self.ledger: dict[str, tuple[list, list[str]]] = {}  # document_id -> (fetch records, seen items)
        self.result: Any = None
        self.error: BaseException | None = None
        self.received = 0
        self.counts: Callable[[], dict[str, int]] | None = None  # the crawl's progress, once it started
        self._stop = threading.Event()
        self._done = object()
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._work,), name="crawl-stream", daemon=True)

    def start(self) -> CrawlStream:
        self._thread.start()
        return self

    def _work(self) -> None:
        try:
            self.result = self.crawl(self.emit)
        except BaseException as exc:  # noqa: BLE001 - handed to the flow's thread by finish()
            self.error = exc
        finally:
            self._put(self._done, force=True)

    def emit(self, doc: RawDocument, records: list, seen: list[str]) -> None:
        """Called by crawl threads: queue one document with its fetch state; waits while the queue is full."""
        if not self._put((doc, records, seen)):
            raise CrawlStopped("the run stopped reading fetched documents")

    def _put(self, item: object, force: bool = False) -> bool:
        while not self._stop.is_set() or force:
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                if force and self._stop.is_set():
                    return False
        return False

    def __iter__(self) -> Iterator[RawDocument | object]:
        """The documents as they arrive, and a FLUSH every `flush_s` seconds, so the batch gathered so
        far goes to cleaning while the crawl goes on (cleaning keeps pace with fetching)."""
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=max(0.05, self.flush_s - (time.monotonic() - last)))
            except queue.Empty:
                item = None
            if time.monotonic() - last >= self.flush_s:
                last = time.monotonic()
                yield FLUSH
            if item is None:
                continue
            if item is self._done:
                return
            doc, records, seen = item
            self.received += 1
            if records or seen:
                held = self.ledger.setdefault(doc.document_id, ([], []))
                held[0].extend(records)
                held[1].extend(seen)
            yield doc

    def progress(self) -> dict[str, int] | None:
        """Queued, fetched and failed URLs and hosts active (None before the crawl starts)."""
        return self.counts() if self.counts is not None else None

    def take(self, document_ids: list[str]) -> tuple[list, list[str]]:
        """The fetch records and seen items of these documents, removed from the ledger."""
        records: list = []
        seen: list[str] = []
        for doc_id in document_ids:
            held = self.ledger.pop(doc_id, None)
            if held:
                records.extend(held[0])
                seen.extend(held[1])
        return records, seen

    def finish(self) -> Any:
        """Wait for the crawl; its result, or raise what it raised. The ledger keeps what no batch took."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self) -> None:
        """The flow failed: make the crawl threads give up, then wait for the crawl to end."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()
