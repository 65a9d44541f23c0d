"""When each host may next be asked: the politeness record shared by every crawler thread and run.

A run reserves a host's next request slot before sending it: the slot starts at the later of now and
the host's next-allowed time, and the host's next-allowed time moves one interval past it. With a
folder, the record is one small file per host holding that time, read and written under an exclusive
`flock`, so threads of one run and runs in other processes (other deployments, other warehouses)
share it and together never ask a host more often than its interval. Without a folder the record
lives in this process only (tests, one-off library use).

A Retry-After or a backoff `defer`s the host: nobody asks it again before then.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


def host_file_name(host: str) -> str:
    """A file name for a host (and port): "127.0.0.2:8080" -> "127.0.0.2_8080"."""
    return _UNSAFE.sub("_", host.lower())[:200] or "_"


class HostClock:
    """Reserve request slots per host; see the module docstring.

    Args:
        folder: where the per-host files live; None keeps the record in this process.
    """

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder else None
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OSError(f"cannot create {self.folder} for the per-host politeness record ({exc.strerror}); "
                              "set NEWSFLOW_FETCH_HOSTS_DIR to a writable folder") from exc
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str, interval: float, latest: float | None = None) -> float:
        """The wall-clock time (time.time()) at which this caller may send its request to `host`.

        With `latest`, a slot starting after it is not taken (the host's record is left as it was):
        the caller gives up instead of holding a slot it cannot use."""
        def take(stored: float, now: float) -> tuple[float, float]:
            start = max(now, stored)
            return start, (stored if latest is not None and start > latest else start + interval)

        return self._update(host, take)

    def defer(self, host: str, until: float) -> None:
        """Nobody asks `host` before the wall-clock time `until` (Retry-After, backoff)."""
        self._update(host, lambda stored, now: (until, max(stored, until)))

    def next_allowed(self, host: str) -> float:
        """The host's next-allowed time as recorded (0 when never asked)."""
        return self._update(host, lambda stored, now: (stored, stored))

    def _update(self, host: str, change) -> float:
        now = time.time()
        if self.folder is None:
            with self._lock:
                result, self._next[host] = change(self._next.get(host, 0.0), now)
            return result
        fd = os.open(self.folder / host_file_name(host), os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes
            raw = os.pread(fd, 64, 0)
            try:
                stored = float(raw.decode("ascii").strip() or 0)
            except ValueError:  # a torn or foreign file: start afresh rather than fail the run
                stored = 0.0
            result, new = change(stored, now)
            if new != stored:
                data = f"{new:.6f}\n".encode("ascii")
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            return result
        finally:
            os.close(fd)
