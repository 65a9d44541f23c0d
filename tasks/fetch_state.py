"""Read and save what the fetcher remembers (warehouse/migrations/002_fetch_state.sql, 008_frontier.sql,
018_fetch_state_skipped_under.sql).

Read before a source run. A fetched page's state (its fetch_state row, its seen item) is saved in
the transaction that loads its document (`save_fetch_rows`, called by tasks/load.py), so a run killed
at any moment has saved the state of exactly the pages it loaded; the rest (feeds and sitemaps,
unchanged pages) is saved after the run's documents are loaded: if a run dies before, the next one
asks again rather than skipping what was never loaded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tasks.discover import FetchRecord, FetchState, Harvest, UrlState
from tasks.sql import statement, transaction


class KnownUrls(Mapping[str, UrlState]):
    """fetch_state's rows by URL, kept as Arrow columns: a row becomes a UrlState only when the run
    asks for it. A run meets a few hundred URLs; the table holds every URL the warehouse ever fetched
    (a million after months of hundreds of feeds: 7-8 s a run to read as Python rows)."""

    FIELDS = ("etag", "last_modified", "content_sha256", "failures", "fetched_at", "skipped_under")

    def __init__(self, table: pa.Table) -> None:
        urls = table.column("url").to_pylist()
        self._row = dict(zip(urls, range(len(urls))))
        self._columns = [table.column(name) for name in self.FIELDS]

    def __getitem__(self, url: str) -> UrlState:
        row = self._row[url]
        return UrlState(*(column[row].as_py() for column in self._columns))

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


def load_fetch_state(con: duckdb.DuckDBPyConnection, source: str) -> FetchState:
    """ETag / Last-Modified / body hash of every known URL, the items this source has seen, and its
    failed items due for another attempt or still waiting."""
    table = con.execute(statement("fetch_state_known"), {"source": source}).fetch_arrow_table()
    urls, retry = table.column("url"), table.column("retry")
    state = FetchState(urls=KnownUrls(table))
    state.due = urls.filter(pc.equal(retry, "due")).to_pylist()
    state.waiting = set(urls.filter(pc.equal(retry, "waiting")).to_pylist())
    state.seen_items = set(con.execute("select item_url from seen_items where source = ?", [source]
                                       ).fetch_arrow_table().column(0).to_pylist())
    return state


def save_fetch_rows(con: duckdb.DuckDBPyConnection, source: str, records: list[FetchRecord],
                    seen: list[str]) -> bool:
    """Upsert the fetch_state rows and insert the seen items, in the caller's transaction. A URL read
    without error leaves quarantine's rows of its failed fetches: a feed or sitemap loads no article
    that would take it out (a page does, as its document loads). True when that took a row out, or a
    URL failed anew or otherwise than before (another reason, one more failure in a row): changes the
    run's counts do not show, for which the analyst copy is published all the same."""
    changed = False
    if failed := [r for r in records if r.error is not None]:
        changed = con.execute(statement("fetch_state_failed_anew"), [
            [r.url for r in failed], [r.error for r in failed], [r.failures or 0 for r in failed]]).fetchone()[0] > 0
    if records:
        con.executemany(statement("fetch_state_save"), [
            [r.url, source, r.final_url, r.etag, r.last_modified, r.content_sha256, r.status, r.error,
             r.fetched_at, r.failure, r.failures, r.next_attempt_at, r.skipped_under] for r in records])
        if read := [r.url for r in records if r.error is None]:
            (resolved,) = con.execute("delete from quarantine where stage = 'fetch' and source_uri in "
                                      "(select unnest(?))", [read]).fetchone()
            changed = changed or resolved > 0
    if seen:
        now = datetime.now(timezone.utc)
        con.executemany(statement("seen_items_add"), [[source, url, now] for url in dict.fromkeys(seen)])
    return changed


def save_fetch_state(con: duckdb.DuckDBPyConnection, source: str, harvest: Harvest,
                     held: tuple[list[FetchRecord], list[str]] = ([], [])) -> bool:
    """Save the harvest's records and seen items, and `held` ones no loaded batch took, in one transaction;
    True as `save_fetch_rows` tells."""
    with transaction(con):
        return save_fetch_rows(con, source, harvest.records + held[0], harvest.seen_items + held[1])
