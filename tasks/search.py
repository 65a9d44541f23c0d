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


FTS_SCHEMA = "fts_main_articles"  # where create_fts_index('articles', ...) keeps the index
# Besides the space, what the tokenize macro's '\s+' splits on (RE2's \s: ASCII only, no vertical tab).
_RE2_SPACE = "\t\n\f\r"


def build_index(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build the BM25 index over articles(title, body) from scratch; returns the number indexed.

    Also records each article's content hash in the index (`docs.content_hash`), which is how
    `index_articles` knows what to update later."""
    load_fts(con)
    # One thread: measured on 2,000 articles, two threads took the same wall time (3.5 s) for twice the CPU.
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    try:
        con.execute("pragma create_fts_index('articles', 'article_id', 'title', 'body', overwrite = 1)")
    finally:
        con.execute(f"set threads = {int(threads)}")
    con.execute(f"alter table {FTS_SCHEMA}.docs add column content_hash varchar")
    con.execute(f"update {FTS_SCHEMA}.docs d set content_hash = a.content_hash from articles a "
                f"where a.article_id = d.name")
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


def index_is_maintained(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index exists and records content hashes, i.e. each load keeps it up to date."""
    return has_index(con) and _tracks_hashes(con)


def ensure_index(con: duckdb.DuckDBPyConnection) -> None:
    """Build the index where it is missing or predates content hashes; otherwise each load keeps it
    current (`index_articles` in `tasks.load.load_batch`), so there is nothing to do."""
    if not index_is_maintained(con):
        build_index(con)


def index_articles(con: duckdb.DuckDBPyConnection, ids: list[str] | None = None) -> int:
    """Bring the BM25 index up to date with the articles table; returns the number of articles (re)indexed.

    Only articles added, changed (by content hash) or deleted since they were indexed are touched:
    among `ids` when given (a batch, inside its load transaction), else among all articles. The
    postings are made exactly as create_fts_index makes them (its tokenize macro, stopwords and porter
    stemmer), and the document frequencies and statistics are adjusted, so scores equal those of a full
    rebuild (tests/test_search_index.py); the cost is that of the changed articles, not of the
    warehouse. Without an index, or with one built before hashes were recorded, it builds from scratch.
    """
    load_fts(con)
    if not index_is_maintained(con):
        return build_index(con)
    f = FTS_SCHEMA
    # list_contains, not `in (select unnest(...))`: it filters inside the table scans (~2.5x faster here)
    only = "and list_contains($ids, a.article_id)" if ids is not None else ""
    only_docs = "and list_contains($ids, d.name)" if ids is not None else ""
    params = {"ids": ids} if ids is not None else {}
    con.execute(f"""
        create or replace temp table fts_stale as
        select d.docid from {f}.docs d left join articles a on a.article_id = d.name
        where (a.article_id is null or a.content_hash is distinct from d.content_hash) {only_docs}
    """, params)
    con.execute(f"""
        create or replace temp table fts_fresh as
        select (select coalesce(max(docid), -1) from {f}.docs) + row_number() over (order by a.article_id) as docid,
               a.article_id as name, a.content_hash, a.title, a.body
        from articles a left join {f}.docs d on d.name = a.article_id
        where (d.name is null or d.content_hash is distinct from a.content_hash) {only}
    """, params)
    stale, fresh = (con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("fts_stale", "fts_fresh"))
    try:
        if stale:  # an article's old postings leave the index, and its terms' document frequencies drop
            con.execute(f"""
                update {f}.dict set df = {f}.dict.df - gone.n
                from (select termid, count(distinct docid) as n from {f}.terms
                      where docid in (select docid from fts_stale) group by termid) gone
                where {f}.dict.termid = gone.termid
            """)
            con.execute(f"delete from {f}.terms where docid in (select docid from fts_stale)")
            con.execute(f"delete from {f}.docs where docid in (select docid from fts_stale)")
        if fresh:
            # The index's tokenize macro (strip accents, lower-case, split on punctuation and spaces),
            # stopwords and stemmer, applied once per distinct whitespace-separated piece rather than to
            # every word: a piece gives the same words alone as inside its text, since whitespace always
            # ends a word, and a batch repeats its pieces ("the", "said,") thousands of times (2.5x faster).
            # The pieces are cut at the characters of the macro's '\s' (RE2: tab, newline, form feed,
            # carriage return, space) with `translate` and `string_split`, not with a regex (~40% of the
            # statement): runs of them leave empty pieces, which hold no word.
            con.execute(f"""
                create or replace temp table fts_postings as
                with texts as (
                    select docid, (select fieldid from {f}.fields where field = 'title') as fieldid, title as text
                    from fts_fresh
                    union all
                    select docid, (select fieldid from {f}.fields where field = 'body') as fieldid, body as text
                    from fts_fresh
                ),
                pieces as (select docid, fieldid, unnest(string_split(translate(text, $ws, '    '), ' ')) as piece
                           from texts),
                words as (select piece, unnest({f}.tokenize(piece)) as w from (select distinct piece from pieces)),
                terms as (select piece, stem(w, 'porter') as term from words
                          where w is not null and len(w) > 0 and w not in (select sw from {f}.stopwords))
                select t.term, p.docid, p.fieldid from pieces p join terms t using (piece)
            """, {"ws": _RE2_SPACE})
            con.execute(f"""
                insert into {f}.dict (termid, term, df)
                select (select coalesce(max(termid), -1) from {f}.dict) + row_number() over (order by term), term, 0
                from (select distinct term from fts_postings where term not in (select term from {f}.dict))
            """)
            con.execute(f"""
                update {f}.dict set df = {f}.dict.df + added.n
                from (select term, count(distinct docid) as n from fts_postings group by term) added
                where {f}.dict.term = added.term
            """)
            con.execute(f"""
                insert into {f}.terms (docid, fieldid, termid)
                select p.docid, p.fieldid, d.termid from fts_postings p join {f}.dict d on d.term = p.term
            """)
            con.execute(f"""
                insert into {f}.docs (docid, name, len, content_hash)
                select n.docid, n.name, coalesce(c.len, 0), n.content_hash
                from fts_fresh n left join (select docid, count(*) as len from fts_postings group by docid) c
                     using (docid)
            """)
        if stale or fresh:
            con.execute(f"update {f}.stats set num_docs = (select count(*) from {f}.docs), "
                        f"avgdl = (select sum(len) / count(len) from {f}.docs)")
    finally:
        for table in ("fts_stale", "fts_fresh", "fts_postings"):
            con.execute(f"drop table if exists {table}")
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
