"""Read and save what the fetcher remembers (warehouse/migrations/002_fetch_state.sql, 008_frontier.sql).

Read before a source run. A fetched page's state (its fetch_state row, its seen item) is saved in
the transaction that loads its document (`save_fetch_rows`, called by tasks/load.py), so a run killed
at any moment has saved the state of exactly the pages it loaded; the rest (feeds and sitemaps,
unchanged pages) is saved after the run's documents are loaded: if a run dies before, the next one
asks again rather than skipping what was never loaded.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from tasks.discover import FetchRecord, FetchState, Harvest, UrlState
from tasks.sql import statement, transaction


def load_fetch_state(con: duckdb.DuckDBPyConnection, source: str) -> FetchState:
    """ETag / Last-Modified / body hash of every known URL, the items this source has seen, and its
    failed items due for another attempt or still waiting."""
    state = FetchState()
    for url, etag, last_modified, sha, failures, fetched_at, retry in con.execute(
            statement("fetch_state_known"), {"source": source}).fetchall():
        state.urls[url] = UrlState(etag, last_modified, sha, failures, fetched_at)
        if retry == "due":
            state.due.append(url)
        elif retry == "waiting":
            state.waiting.add(url)
    state.seen_items = {u for (u,) in con.execute("select item_url from seen_items where source = ?",
                                                  [source]).fetchall()}
    return state


def save_fetch_rows(con: duckdb.DuckDBPyConnection, source: str, records: list[FetchRecord],
                    seen: list[str]) -> None:
    """Upsert the fetch_state rows and insert the seen items, in the caller's transaction. A URL read
    without error leaves quarantine's rows of its failed fetches: a feed or sitemap loads no article
    that would take it out (a page does, as its document loads)."""
    if records:
        con.executemany(statement("fetch_state_save"), [
            [r.url, source, r.final_url, r.etag, r.last_modified, r.content_sha256, r.status, r.error,
             r.fetched_at, r.failure, r.failures, r.next_attempt_at] for r in records])
        if read := [r.url for r in records if r.error is None]:
            con.execute("delete from quarantine where stage = 'fetch' and source_uri in (select unnest(?))", [read])
    if seen:
        now = datetime.now(timezone.utc)
        con.executemany(statement("seen_items_add"), [[source, url, now] for url in dict.fromkeys(seen)])


def save_fetch_state(con: duckdb.DuckDBPyConnection, source: str, harvest: Harvest,
                     held: tuple[list[FetchRecord], list[str]] = ([], [])) -> None:
    """Save the harvest's records and seen items, and `held` ones no loaded batch took, in one transaction."""
    with transaction(con):
        save_fetch_rows(con, source, harvest.records + held[0], harvest.seen_items + held[1])
