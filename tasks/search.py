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

from newsflow.settings import SEARCH_SNIPPET_CHARS
from tasks.sql import statement


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


# Where create_fts_index('articles', ...) keeps the index. The index is only ever built on `articles`,
# so the name never varies: the warehouse/sql/fts_*.sql files spell it out, and it is passed as a
# value where a query only compares it (information_schema).
FTS_SCHEMA = "fts_main_articles"


# What the index's tokenizer replaces by a space before it splits at spaces: DuckDB's default (ASCII
# punctuation and digits) and every Unicode punctuation mark and symbol (RE2's \p{P}, \p{S}). With the
# default alone, "Trump’s", "“modest”", "budget…" and "«Газпром»" were tokens of their own, which a
# search for trump, modest, budget or газпром never matched.
IGNORE = r"""[0-9!@#$%^&*()_+={}\[\]:;<>,.?~\\/|'"`\-\p{P}\p{S}]+"""


def build_index(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build the BM25 index over articles(title, body) from scratch; returns the number indexed.

    Also records each article's content hash in the index (`docs.content_hash`), which is how
    `index_articles` knows what to update later. A build from scratch costs about twice the CPU per
    article of `index_articles`, so articles should enter an index built while they were not there yet
    (`prepare_index`)."""
    load_fts(con)
    # One thread: a second one does not make the build faster, it only doubles the CPU it takes.
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    try:
        con.execute("pragma create_fts_index('articles', 'article_id', 'title', 'body', overwrite = 1, "
                    f"ignore = '{IGNORE.replace(chr(39), chr(39) * 2)}')")
    finally:
        con.execute("set threads = ?", [threads])
    con.execute(statement("fts_record_hashes"))
    return con.execute("select count(*) from articles").fetchone()[0]


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the BM25 index schema exists (create_fts_index makes schema fts_main_articles)."""
    return bool(con.execute(
        "select count(*) from information_schema.schemata where schema_name = ?", [FTS_SCHEMA]
    ).fetchone()[0])


def _tracks_hashes(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = 'docs' "
        "and column_name = 'content_hash'", [FTS_SCHEMA]).fetchone()[0])


def _splits_at_all_punctuation(con: duckdb.DuckDBPyConnection) -> bool:
    """Asked of the index's tokenizer itself (~2 ms, where reading its definition from duckdb_functions()
    took ~18 ms at every batch's load): only IGNORE splits at a curly apostrophe and keeps Cyrillic
    (DuckDB's default drops every letter outside a-z; an ASCII list keeps the apostrophe)."""
    return con.execute(f"select {FTS_SCHEMA}.tokenize('газпром’s')").fetchone()[0] == ["газпром", "s"]


def index_is_maintained(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index exists, records content hashes (each load keeps it up to date) and splits words
    at every punctuation mark (`IGNORE`); an index made before either is rebuilt once."""
    return has_index(con) and _tracks_hashes(con) and _splits_at_all_punctuation(con)


def prepare_index(con: duckdb.DuckDBPyConnection) -> None:
    """Make sure the index exists before articles enter the table, so they enter it through
    `index_articles`: on a new warehouse (or lake search mirror) the index is built over no articles,
    in ~0.05 s. Nothing on a lake, whose tables the fts extension cannot index."""
    if not on_lake(con):
        ensure_index(con)


def ensure_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Build the index where it is missing or made before (`index_is_maintained`); otherwise each load
    keeps it current (`index_articles` in `tasks.load.load_batch`), so there is nothing to do. Whether
    it was built."""
    if index_is_maintained(con):
        return False
    build_index(con)
    return True


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` works in a DuckLake catalog, whose tables the fts extension cannot index."""
    return con.execute("select type from duckdb_databases() where database_name = current_database()"
                       ).fetchone()[0] == "ducklake"


# Articles whose postings one statement makes: bounds the memory of a large indexing, such as a lake's
# first search (20,000 articles: 1.3 GB at most, against 3.1 GB in one go), at no cost to a batch.
INDEX_CHUNK_ARTICLES = 2_000


def index_articles(con: duckdb.DuckDBPyConnection, ids: list[str] | None = None,
                   chunk: int = INDEX_CHUNK_ARTICLES) -> int:
    """Bring the BM25 index up to date with the articles table; returns the number of articles (re)indexed.

    Only articles added, changed (by content hash) or deleted since they were indexed are touched:
    among `ids` when given (a batch, inside its load transaction), else among all articles. The
    postings are made exactly as create_fts_index makes them (its tokenize macro, stopwords and porter
    stemmer), and the document frequencies and statistics are adjusted, so scores equal those of a full
    rebuild (tests/test_search_index.py); the cost is that of the changed articles, not of the
    warehouse. The postings of `chunk` articles are made at a time. Without an index, or with one built
    before hashes were recorded, it builds from scratch. The statements are warehouse/sql/fts_*.sql;
    they edit the tables create_fts_index made.
    """
    if on_lake(con):
        return 0
    load_fts(con)
    if not index_is_maintained(con):
        return build_index(con)
    con.execute(statement("fts_stale"), {"ids": ids})
    con.execute(statement("fts_fresh"), {"ids": ids})
    stale, fresh, first = con.execute(
        "select (select count(*) from fts_stale), count(*), min(docid) from fts_fresh").fetchone()
    try:
        if stale:
            con.execute(statement("fts_remove_stale"))
        for start in range(first or 0, (first or 0) + fresh, chunk):  # `chunk` articles at a time
            con.execute(statement("fts_chunk"), {"first": start, "size": chunk})
            con.execute(statement("fts_add_fresh"))
        if stale or fresh:
            con.execute(statement("fts_stats"))
    finally:
        con.execute(statement("fts_drop_work_tables"))
    return fresh


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
        rows = con.execute(statement("search"), [query, limit]).fetchall()
    except duckdb.CatalogException as exc:
        raise SearchUnavailable(f"no search index in this warehouse yet; run `newsflow ingest` ({exc})") from None
    return [Hit(score, aid, title, outlet, seen, story, snippet(body, query))
            for score, aid, title, outlet, seen, story, body in rows]


def indexed_words(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """The words of `query` the index can hold: none when it is only digits and stop words ("the"),
    which are never indexed. Needs the index (`search` raises when there is none)."""
    return [w for (w,) in con.execute(statement("search_words"), [query]).fetchall()]
