"""Progress of an ingest run: a rich bar on the terminal and a progress artifact in the Prefect run.

The bar counts documents and measures progress in the bytes of the discovered files as stored
(known up front, unlike the number of documents inside JSON Lines files and web archives): each
document advances it by the bytes it accounts for (`progress_bytes`: a compressed page its compressed
size, a record its share of its file, an archive's page the records read since the page before).
Prefect's console log lines are routed through the bar's console so they print above it instead of
tearing it. The artifact is updated at most every 5 seconds: each update is one API call. While a
crawl runs, the bar also shows its counts (queued / fetched / failed URLs, hosts being fetched), read
from `fetch_counts` at each refresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

ARTIFACT_EVERY_S = 5.0  # each update costs the Prefect server ~10 ms of CPU


class IngestProgress:
    """Call `advance(docs, nbytes)` as documents are skipped or loaded; `close()` at the end."""

    def __init__(self, paths: list[Path], artifact: bool = True,
                 fetch_counts: Callable[[], dict[str, int] | None] | None = None):
        self.total = max(1, sum(_size(p) for p in paths))
        self.fetch_counts = fetch_counts
        self.done_bytes = 0
        self.docs = 0
        self._artifact_id = None
        self._artifact_at = 0.0
        self._bar = None
        self._swapped: list[tuple[logging.Handler, object]] = []
        if artifact:
            self._start_artifact()
        self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console

        console = Console(stderr=True, markup=False)  # as Prefect's handler: log lines hold URLs from the input
        if not console.is_terminal:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        columns = [TextColumn("ingest"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TextColumn("{task.fields[docs]:,} docs"), TimeRemainingColumn()]
        if self.fetch_counts is not None:
            columns.append(_FetchColumn(self.fetch_counts))
        self._bar = Progress(*columns, console=console, transient=False)
        self._task = self._bar.add_task("ingest", total=self.total, docs=0)
        for handler in _prefect_console_handlers():
            self._swapped.append((handler, handler.console))
            handler.console = console
        self._bar.start()

    def _start_artifact(self) -> None:
        try:
            from prefect.artifacts import create_progress_artifact

            self._artifact_id = create_progress_artifact(progress=0.0, key="ingest-progress",
                                                         description="Share of the input bytes processed")
            self._artifact_at = time.monotonic()
        except Exception:  # outside a flow run, or the API refused: progress is a nicety
            self._artifact_id = None

    def advance(self, docs: int, nbytes: int) -> None:
        self.docs += docs
        self.done_bytes += nbytes
        if self._bar is not None:
            self._bar.update(self._task, completed=min(self.done_bytes, self.total), docs=self.docs)
        if self._artifact_id is not None and time.monotonic() - self._artifact_at >= ARTIFACT_EVERY_S:
            self._update_artifact()

    def _update_artifact(self) -> None:
        try:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self._artifact_id, progress=min(100.0, 100.0 * self.done_bytes / self.total))
        except Exception:
            self._artifact_id = None
        self._artifact_at = time.monotonic()

    def close(self, finished: bool = True) -> None:
        if finished:
            self.done_bytes = self.total
        if self._artifact_id is not None:
            self._update_artifact()
        if self._bar is not None:
            if finished:
                self._bar.update(self._task, completed=self.total, docs=self.docs)
            self._bar.stop()
            self._bar = None
        for handler, console in self._swapped:
            handler.console = console
        self._swapped.clear()


def fetch_text(counts: dict[str, int] | None) -> str:
    """"fetch: 12 queued, 340 fetched, 2 failed, 17 hosts active" (empty before the crawl starts)."""
    if not counts:
        return ""
    return (f"fetch: {counts['queued']:,} queued, {counts['fetched']:,} fetched, {counts['failed']:,} failed, "
            f"{counts['hosts']:,} hosts active")


def _FetchColumn(counts: Callable[[], dict[str, int] | None]):
    """A rich column that reads the crawl's counts each time the bar is drawn."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class FetchColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(fetch_text(counts()))

    return FetchColumn()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _prefect_console_handlers() -> list:
    try:
        from prefect.logging.handlers import PrefectConsoleHandler
    except ImportError:
        return []
    seen = []
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler) and handler not in seen:
                seen.append(handler)
    return seen
