"""Read and save what the fetcher remembers (tables of warehouse/migrations/002_fetch_state.sql).

Read before a source run, saved after its documents are loaded: if a run dies in between, nothing
is remembered and the next run fetches the same content again rather than losing it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from tasks.discover import FetchState, Harvest, UrlState
from tasks.sql import transaction


def load_fetch_state(con: duckdb.DuckDBPyConnection, source: str) -> FetchState:
    """ETag / Last-Modified / body hash of every known URL, and the items this source has seen."""
    urls = {url: UrlState(etag, last_modified, sha)
            for url, etag, last_modified, sha in con.execute(
                "select url, etag, last_modified, content_sha256 from fetch_state").fetchall()}
    seen = {u for (u,) in con.execute("select item_url from seen_items where source = ?", [source]).fetchall()}
    return FetchState(urls, seen)


def save_fetch_state(con: duckdb.DuckDBPyConnection, source: str, harvest: Harvest) -> None:
    """Upsert one fetch_state row per request and insert the newly seen items, in one transaction."""
    now = datetime.now(timezone.utc)
    with transaction(con):
        if harvest.records:
            con.executemany(
                "insert or replace into fetch_state (url, source, final_url, etag, last_modified, content_sha256, "
                "last_status, last_error, fetched_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[r.url, source, r.final_url, r.etag, r.last_modified, r.content_sha256, r.status, r.error,
                  r.fetched_at] for r in harvest.records])
        if harvest.seen_items:
            con.executemany(
                "insert into seen_items (source, item_url, first_seen_at) values (?, ?, ?) on conflict do nothing",
                [[source, url, now] for url in dict.fromkeys(harvest.seen_items)])
