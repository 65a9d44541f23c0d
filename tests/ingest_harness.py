"""Helpers for the tests that run `newsflow ingest` as a real subprocess (Dask, crash, fuzz).

Each test module gets its own Prefect home and one temporary Prefect API server (the same server the
CLI would start), so runs do not share the developer's ~/.prefect database and do not pay the server
start-up once per run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from newsflow.ephemeral import EarlyServer
from newsflow.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from corpus import CorpusBuilder  # noqa: E402

NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


class PrefectServer:
    """A temporary Prefect API server in its own Prefect home, for the subprocess runs of one module."""

    def __init__(self, home: Path):
        self.home = home
        self.server = EarlyServer()

    def __enter__(self) -> "PrefectServer":
        self.server.start(env=self.base_env(), export=False)
        self.server.wait()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
        env.update(PREFECT_HOME=str(self.home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                   PYTHONUNBUFFERED="1", COLUMNS="200")
        return env

    def env(self, **extra: str) -> dict[str, str]:
        assert self.server.url is not None
        return {**self.base_env(), "PREFECT_API_URL": self.server.url, **extra}


def flow_run_state(server: PrefectServer, flow_run_id: str) -> str:
    """The state type of a flow run on `server` (RUNNING, COMPLETED, CRASHED, ...), read over its API."""
    import httpx

    response = httpx.get(f"{server.server.url}/flow_runs/{flow_run_id}", timeout=30)
    response.raise_for_status()
    return response.json()["state"]["type"]


def ingest_cmd(source: Path, db: Path, *options: str) -> list[str]:
    return [NEWSFLOW, "ingest", str(source), "--db", str(db), *options]


def run_ingest(server: PrefectServer, source: Path, db: Path, *options: str, timeout: float = 600,
               **env: str) -> subprocess.CompletedProcess:
    """Run `newsflow ingest` to completion; fail the test with its output if it does not exit 0."""
    proc = subprocess.run(ingest_cmd(source, db, *options), env=server.env(**env), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"newsflow ingest failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-5000:]}"
    return proc


def write_corpus(folder: Path, n: int, seed: int = 7) -> list[Path]:
    """n small, distinct HTML news pages (the bundled samples in a news-page skeleton)."""
    return CorpusBuilder(seed=seed, use_wcxb=False).write(folder, n)


def warehouse_contents(db: Path) -> dict[str, list[tuple]]:
    """The warehouse as sorted rows, without run ids and timestamps: what two equivalent runs share."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = contents_of(con)
        found["archived"] = archived(con, db)
        return found
    finally:
        con.close()


def contents_of(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """`warehouse_contents` of an open warehouse (a DuckDB file or a lake)."""
    queries = {
        "documents": "select document_id, source_uri, media_type, raw_sha256, size_bytes, raw is null "
                     "from documents",
        "articles": "select article_id, document_id, source_uri, url, title, body, published_at, author, "
                    "language, sitename, section, canonical_url, flags, word_count, content_hash, "
                    "cleaner_version from articles",
        "removed_segments": "select article_id, position, text, rule from removed_segments",
        "quarantine": "select document_id, source_uri, stage, reasons from quarantine",
    }
    return {name: sorted((_hashable(row) for row in con.execute(q).fetchall()), key=repr)
            for name, q in queries.items()}
def archived(con, db: Path) -> list[tuple]:
    """Per stored document with bytes: whether its archive record reads back to exactly those bytes (a
    reference to a partial or missing record fails here)."""
    from newsflow.settings import archive_dir_for
    from tasks.archive import ArchiveRef, read_payload
    from tasks.models import sha256_hex

    rows = con.execute("select document_id, raw_sha256, archive_file, archive_offset, archive_length, archive_digest "
                       "from documents where archive_file is not null").fetchall()
    return sorted((doc, sha256_hex(read_payload(archive_dir_for(db), ArchiveRef(*ref))) == sha)
                  for doc, sha, *ref in rows)


def _hashable(row: tuple) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in row)
