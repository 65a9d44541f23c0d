"""Re-clean: rebuild articles from the raw documents stored in the warehouse, without refetching.

When the cleaning rules change (CLEANER_VERSION), the documents behind current articles and quarantined
documents are cleaned and validated again and loaded through the normal `load_batch` (idempotent upsert
on article_id; cleaner_version is recorded on every article it touches). Articles loaded before the
enrichment tables existed are enriched here too (backfill).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from tasks.archive import ArchiveError, ArchiveRef, read_record
from tasks.enrich import analyze, enrich_batch
from tasks.load import archive_config_of, utcnow
from tasks.models import RawDocument, unpack_raw
from tasks.sql import transaction

_STORED_DOCUMENT_IDS = """
    select document_id
    from documents
    where (archive_file is not null or raw is not null)
      and (document_id in (select document_id from articles) or document_id in (select document_id from quarantine))
      and (cast(? as timestamptz) is null or received_at >= cast(? as timestamptz))
    order by received_at, document_id
"""
_DUE_DOCUMENTS = """
    select q.document_id, d.source_uri
    from quarantine q join documents d using (document_id)
    where q.retry_at <= cast(? as timestamptz)
      and (d.archive_file is not null or d.raw is not null)
      and not exists (select 1 from documents later
                      where later.source_uri = d.source_uri and later.received_at > d.received_at)
    order by d.received_at, q.document_id
"""
_DOCUMENTS_BY_ID = """
    select source_uri, media_type, raw, raw_codec, raw_sha256, size_bytes, fields,
           archive_file, archive_offset, archive_length, archive_digest
    from documents where document_id in (select unnest(?)) order by received_at, document_id
"""


def stored_documents(con: duckdb.DuckDBPyConnection, since: datetime | None = None,
                     batch_size: int = 200, archive: Path | None = None,
                     unreadable: list[tuple[str, str]] | None = None,
                     reconnect: Callable[[], duckdb.DuckDBPyConnection] | None = None) -> Iterator[list[RawDocument]]:
    """Batches of the raw documents behind current articles and quarantine rows, received since `since`,
    read back from the archive (tasks/archive.py; `archive` is its folder, default beside the file).

    The ids are listed first and each batch's bytes read when it is needed, so memory holds the batches
    in flight, not the warehouse, and the caller may write to the warehouse between batches.

    Args:
        con: Warehouse connection.
        since: Only documents received at or after this time (None: all).
        batch_size: Documents per batch.
        archive: The archive folder.
        unreadable: Where a document whose record cannot be read (its file missing, cut short or
            damaged) is listed as (source, reason) and left out, its article as it is; None: such a
            document raises the ArchiveError.
        reconnect: The connection to read each batch through, when the caller's may be closed and
            opened again between batches (the writer's is, after a load that failed).
    """
    ids = [d for (d,) in con.execute(_STORED_DOCUMENT_IDS, [since, since]).fetchall()]
    return documents_by_id(con, ids, batch_size, archive, unreadable, reconnect)


def due_documents(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, str]:
    """The quarantined documents whose only fault was a date in the future that has now come
    (`quarantine.retry_at`), each the latest document of its source (an older version of a file or
    page is not brought back over a newer one), oldest first: document id -> source URI."""
    return dict(con.execute(_DUE_DOCUMENTS, [now]).fetchall())


def documents_by_id(con: duckdb.DuckDBPyConnection, ids: list[str], batch_size: int = 200,
                    archive: Path | None = None, unreadable: list[tuple[str, str]] | None = None,
                    reconnect: Callable[[], duckdb.DuckDBPyConnection] | None = None
                    ) -> Iterator[list[RawDocument]]:
    """Batches of the stored raw documents `ids`, read back from the archive as `stored_documents` reads
    them (same `archive`, `unreadable` and `reconnect`)."""
    folder = archive or archive_config_of(con).folder
    for start in range(0, len(ids), batch_size):
        rows = (reconnect() if reconnect else con).execute(_DOCUMENTS_BY_ID, [ids[start:start + batch_size]]).fetchall()
        batch = []
        for row in rows:
            try:
                batch.append(_stored(folder, row))
            except ArchiveError as exc:
                if unreadable is None:
                    raise
                unreadable.append((row[0], f"raw record unreadable, not recleaned: {exc}"))
        if batch:
            yield batch


def _stored(folder: Path, row: tuple) -> RawDocument:
    uri, media, raw, codec, sha, size, fields, file, offset, length, digest = row
    headers = None
    if file is not None:
        data, headers = read_record(folder, ArchiveRef(file, offset, length, digest))
    else:  # a row from before migration 009 that was never moved (read-only copies)
        data = unpack_raw(bytes(raw), codec)
    return RawDocument(uri, media, data, sha, size, json.loads(fields) if fields else {}, headers=headers,
                       stored=True)


def backfill_enrichment(con: duckdb.DuckDBPyConnection, batch_size: int = 500) -> int:
    """Enrich articles that have no story yet (loaded before migration 003); returns how many."""
    done = 0
    while True:
        rows = con.execute(
            "select a.article_id, a.title, a.body, a.language from articles a "
            "anti join story_articles s using (article_id) "
            "order by a.ingested_at, a.article_id limit ?", [batch_size]).fetchall()
        if not rows:
            return done
        removed: dict[str, list[str]] = {}
        for aid, text in con.execute(
            "select article_id, text from removed_segments where article_id in (select unnest(?)) order by position",
            [[r[0] for r in rows]]).fetchall():
            removed.setdefault(aid, []).append(text)
        with transaction(con):
            enrich_batch(con, [(aid, title, analyze(title, body, removed.get(aid, []), language))
                               for aid, title, body, language in rows], utcnow())
        done += len(rows)
