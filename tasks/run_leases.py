"""Which lake runs are alive: each lake writer holds a PostgreSQL advisory lock named after its run.

A lake has many writers, so a run row still marked `running` may belong to a live writer on another
machine. While it runs, a writer holds a session-level advisory lock on the catalog's PostgreSQL
server, in a connection of its own (`RunLease`). The server drops the lock when that session ends,
however the writer ended: at once when the process dies (SIGKILL, OOM), within about two minutes when
its machine vanishes (the session's TCP keepalives, set below). A writer starting a run tries the lock
of every run still marked running (`dead_runs`): a lock it can take has no writer, and that run is
marked `interrupted`.

Only a catalog on PostgreSQL has such locks (`ducklake:postgres:...`); with any other catalog no run
is marked. Keys are two 32-bit integers: a fixed first one for newsflow (`LOCK_CLASS`) and the first
four bytes of the run id's SHA-256, so they name nothing else on a shared server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg

POSTGRES_PREFIX = "ducklake:postgres:"
LOCK_CLASS = 0x6E66  # "nf": the first key of every newsflow run lock
CONNECT_TIMEOUT_S = 10
# The server's keepalives for the lease's session: a vanished machine's lock goes within ~2 minutes.
KEEPALIVES = "-c tcp_keepalives_idle=60 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=6"


def catalog_conninfo(url: str) -> str | None:
    """The libpq connection string of a `ducklake:postgres:` warehouse URL; None for other catalogs."""
    return url[len(POSTGRES_PREFIX):] if url.startswith(POSTGRES_PREFIX) else None


def lock_key(run_id: str) -> int:
    """The second advisory-lock key of `run_id`: a signed 32-bit integer."""
    return int.from_bytes(hashlib.sha256(run_id.encode("utf-8")).digest()[:4], "big", signed=True)


def _connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, options=KEEPALIVES,
                           application_name="newsflow run lease")


class RunLease:
    """The advisory lock that says a run's writer is alive, held from `hold` until `release`."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._con: psycopg.Connection | None = None

    def hold(self, run_id: str) -> None:
        """Take `run_id`'s lock in a session kept open until `release` (or this process's end)."""
        self.release()
        self._con = _connect(self.conninfo)
        self._con.execute("select pg_advisory_lock(%s, %s)", [LOCK_CLASS, lock_key(run_id)])

    def release(self) -> None:
        if self._con is not None:
            self._con.close()  # ending the session drops its locks
            self._con = None


@contextmanager
def exclusive(conninfo: str, name: str) -> Iterator[bool]:
    """Hold the advisory lock named `name` for the block when no other session holds it: yields whether
    this one took it (work that two processes must not do at once, such as maintaining a lake)."""
    with _connect(conninfo) as con:
        taken = con.execute("select pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, lock_key(f"newsflow {name}")]
                            ).fetchone()[0]
        yield taken  # the session's end gives the lock back


def dead_runs(conninfo: str, run_ids: Iterable[str]) -> list[str]:
    """Those of `run_ids` whose lock no session holds: their writers are gone. Each lock taken to find
    out is given back at once (in a session of its own, so this process's own lease never counts)."""
    run_ids = list(run_ids)
    if not run_ids:
        return []
    dead = []
    with _connect(conninfo) as con:
        for run_id in run_ids:
            key = [LOCK_CLASS, lock_key(run_id)]
            if con.execute("select pg_try_advisory_lock(%s, %s)", key).fetchone()[0]:
                con.execute("select pg_advisory_unlock(%s, %s)", key)
                dead.append(run_id)
    return dead
