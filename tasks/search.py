"""Full-text search: DuckDB's fts extension (BM25 over title and body), loaded offline from PyPI.

The extension binary ships in the `duckdb-ext-fts` wheel (namespace package `duckdb_ext`, folder
`extensions/v<duckdb version>/<platform>/fts.duckdb_extension`); pointing `extension_directory` there
makes `LOAD fts` work without network. Where that package is missing, `INSTALL fts` is tried (needs
internet once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from newsflow.settings import SEARCH_SNIPPET_CHARS, WAREHOUSE_DIR

SEARCH_SQL = WAREHOUSE_DIR / "sql" / "search.sql"


class SearchUnavailable(RuntimeError):
    """The fts extension could not be loaded, or the warehouse has no search index yet."""


def extension_directory() -> Path | None:
    """Folder holding the offline DuckDB extensions from the duckdb-ext-* wheels, if installed."""
    try:
        import duckdb_ext  # namespace package installed by duckdb-ext-fts
    except ImportError:
        return None
    for base in getattr(duckdb_ext, "__path__", []):
        folder = Path(base) / "extensions"
        if folder.is_dir():
            return folder
    return None


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension: from the wheel offline, else INSTALL from DuckDB's server."""
    folder = extension_directory()
    if folder is not None:
        con.execute("set extension_directory = ?", [str(folder)])
        try:
            con.execute("load fts")
            return
        except duckdb.Error:
            pass
    try:
        con.execute("install fts")
        con.execute("load fts")
    except duckdb.Error as exc:
        raise SearchUnavailable(f"cannot load DuckDB's fts extension ({exc}); pip install duckdb-ext-fts") from None


def build_index(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build the BM25 index over articles(title, body); returns the number of articles indexed."""
    load_fts(con)
    # One thread: measured on 2,000 articles, two threads took the same wall time (3.5 s) for twice the CPU.
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    try:
        con.execute("pragma create_fts_index('articles', 'article_id', 'title', 'body', overwrite = 1)")
    finally:
        con.execute(f"set threads = {int(threads)}")
    return con.execute("select count(*) from articles").fetchone()[0]


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the BM25 index schema exists (create_fts_index makes schema fts_main_articles)."""
    return bool(con.execute(
        "select count(*) from information_schema.schemata where schema_name = 'fts_main_articles'"
    ).fetchone()[0])


@dataclass(slots=True)
class Hit:
    """One search result."""

    score: float
    article_id: str
    title: str | None
    outlet: str | None
    seen_at: datetime | None
    story_id: str | None
    snippet: str


def snippet(body: str, query: str, width: int = SEARCH_SNIPPET_CHARS) -> str:
    """A window of the body around the first query word found (prefix match, so "shells" finds "shell")."""
    words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2]
    lowered = body.lower()
    hits = [lowered.find(w[:max(4, len(w) - 2)]) for w in words]
    hits = [h for h in hits if h >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    text = " ".join(body[start:start + width].split())
    return ("…" if start > 0 else "") + text + ("…" if start + width < len(body) else "")


def search(con: duckdb.DuckDBPyConnection, query: str, limit: int = 10) -> list[Hit]:
    """Rank articles by BM25 for `query` (title and body), best first."""
    load_fts(con)
    try:
        rows = con.execute(SEARCH_SQL.read_text(encoding="utf-8"), [query, limit]).fetchall()
    except duckdb.CatalogException as exc:
        raise SearchUnavailable(f"no search index in this warehouse yet; run `newsflow ingest` ({exc})") from None
    return [Hit(score, aid, title, outlet, seen, story, snippet(body, query))
            for score, aid, title, outlet, seen, story, body in rows]
