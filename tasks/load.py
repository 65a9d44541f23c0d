"""Load: the only code that writes the DuckDB warehouse.

Each batch loads in one transaction through DuckDB's bulk path (Arrow tables registered as views),
upserting on the stable ids, so a rerun over the same input adds nothing twice and a crash mid-batch
leaves no partial batch behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from newsflow.settings import MIGRATIONS_DIR, archive_dir_for
from tasks.schema import apply_views
from tasks.enrich import analysis_of, enrich_batch
from tasks import archive as A
from tasks.fetch_state import save_fetch_rows
from tasks.publish import compact, worth_compacting
from tasks.models import Article, RawDocument, Rejected
from tasks.search import index_articles, prepare_index
from tasks.sql import registered, statement, transaction

_MIGRATION_NAME = re.compile(r"^(\d{3})_[\w-]+\.sql$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def connect(path: Path | str, *, read_only: bool = False, archive: A.ArchiveConfig | None = None,
            prepared: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating its folder) and bring its schema up to date (migration 009 moves raw
    pages to `archive`, default `<name>.archive/` beside the file). A file at least half free space is
    rewritten without it first (tasks.publish.compact), so no copy of it carries what was freed.
    `prepared`: this writer did all that since it began holding the file (a reopen within a run)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only and not prepared:
        migrate(con, archive=archive)
        apply_views(con)
        if path.is_file() and worth_compacting(con):  # half the file freed (009 moved the raw pages out)
            con.close()
            compact(path)
            con = duckdb.connect(str(path))
    return con


def migrations(folder: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    found = []
    for p in sorted(folder.glob("*.sql")):
        m = _MIGRATION_NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return found


class WarehouseTooNew(RuntimeError):
    """The warehouse records migrations this code does not have: a newer newsflow wrote it."""


def refuse_newer(con: duckdb.DuckDBPyConnection, done: set[int], folder: Path = MIGRATIONS_DIR) -> None:
    """Raise WarehouseTooNew when `done` (the versions schema_migrations records) holds one past this
    code's migrations: writing that warehouse with older code fails part way or quietly does less."""
    known = max((v for v, _ in migrations(folder)), default=0)
    if newer := sorted(v for v in done if v > known):
        names = [n for (n,) in con.execute("select name from schema_migrations where version in (select unnest(?)) "
                                           "order by version", [newer]).fetchall()]
        raise WarehouseTooNew(f"this warehouse was migrated by a newer newsflow ({', '.join(names)}; this one "
                              f"knows up to {known:03d}): update newsflow (git pull, then make run) to write it")


def _move_raw_to_archive(con: duckdb.DuckDBPyConnection, archive: A.ArchiveConfig | None) -> None:
    """Migration 009's step: raw pages still in `documents.raw` move to the archive (when there are any:
    a new or in-memory warehouse has none, and no archive folder to find)."""
    if con.execute(statement("raw_to_archive"), [1]).fetchone() is not None:
        A.move_raw_to_archive(con, archive or archive_config_of(con))


# Migrations with a step in Python, run after the file's SQL and before the version is recorded (so a
# run killed during the step runs it again: each step is re-runnable).
_PYTHON_STEPS = {9: _move_raw_to_archive}


def migrate(con: duckdb.DuckDBPyConnection, folder: Path = MIGRATIONS_DIR,
            archive: A.ArchiveConfig | None = None) -> list[str]:
    """Apply the numbered migrations not yet recorded in schema_migrations, each in a transaction
    (those with a Python step, `_PYTHON_STEPS`, record themselves after it). `archive` is where
    migration 009 moves raw pages to (default: `<name>.archive/` beside the file)."""
    con.execute(
        "create table if not exists schema_migrations (version integer primary key, name varchar not null, "
        "applied_at timestamptz not null)"
    )
    done = {v for (v,) in con.execute("select version from schema_migrations").fetchall()}
    refuse_newer(con, done, folder)
    applied = []
    for version, path in migrations(folder):
        if version in done:
            continue
        step = _PYTHON_STEPS.get(version)
        with transaction(con):
            con.execute(path.read_text(encoding="utf-8"))
            if step is None:
                con.execute("insert into schema_migrations values (?, ?, ?)", [version, path.name, utcnow()])
        if step is not None:
            step(con, archive)
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, path.name, utcnow()])
        applied.append(path.name)
    return applied


def stored_files(con: duckdb.DuckDBPyConnection, earlier: set[str] | None = None) -> set[tuple[str, int, int]]:
    """(source_uri, size, mtime_ns) of the .txt/.html files behind stored documents (see read_path),
    but not of earlier versions (`earlier`, default `earlier_versions`): a file restored with its old
    time is read."""
    if earlier is None:
        earlier = earlier_versions(con)
    rows = con.execute("select document_id, source_uri, size_bytes, source_mtime_ns from documents "
                       f"where source_mtime_ns is not null and {_RAW_KEPT} and document_id not in "
                       "(select document_id from quarantine)").fetchall()  # read: counted as such
    return {(uri, size, mtime) for document_id, uri, size, mtime in rows if document_id not in earlier}


# A document whose raw-store file was recorded lost is received again as new: its bytes go to the store.
_RAW_KEPT = "(archive_file is null or archive_file not in (select name from archive_files where lost_at is not null))"


def known_document_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Ids of every raw document already received (loaded or quarantined) and kept: reruns skip
    these. One whose raw-store file was recorded lost is not: received again, it is stored again."""
    return {d for (d,) in con.execute(f"select document_id from documents where {_RAW_KEPT}").fetchall()}


def dated_articles(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Of these article ids, those stored with a date: their current document id and title."""
    if not article_ids:
        return {}
    rows = con.execute("select article_id, document_id, title from articles where published_at is not null "
                       "and article_id in (select unnest(?))", [article_ids]).fetchall()
    return {aid: (doc, title) for aid, doc, title in rows}


def quarantined_document_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Ids of the documents in quarantine (a rerun that skips one counts it still quarantined)."""
    return {d for (d,) in con.execute("select distinct document_id from quarantine").fetchall()}


def earlier_versions(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Ids of documents received before whose source has since loaded another version (a file edited,
    then edited back): received again, they are the source's current version and load again."""
    return {d for (d,) in con.execute(statement("documents_earlier")).fetchall()}


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow_run_id: str | None, sources: str,
              cleaner_version: str) -> None:
    """Record the run as running; a run started again under its id (Prefect's Retry) is running again."""
    con.execute("update runs set status = 'running', finished_at = null where run_id = ? and status <> 'running'",
                [run_id])
    con.execute(
        "insert into runs (run_id, flow_run_id, started_at, status, sources, cleaner_version) "
        "values (?, ?, ?, 'running', ?, ?) on conflict do nothing",
        [run_id, flow_run_id, utcnow(), sources, cleaner_version],
    )


@dataclass
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    segments_removed: int = 0
    # Of the unchanged: documents rejected again that were in quarantine already (reclean's, a fetch
    # failing as before): counted so, a run's seen documents add up.
    still_quarantined: int = 0
    quarantine_reasons: list[tuple[str, list[str]]] = field(default_factory=list)
    # A change the counts do not show (rows out of quarantine, a fetch failing anew, the search index
    # built): recorded as runs.quiet_change, it makes the run publish (tasks/publish.py).
    quiet: bool = False

    def add(self, other: "BatchCounts") -> None:
        self.quiet = self.quiet or other.quiet
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.segments_removed += other.segments_removed
        self.still_quarantined += other.still_quarantined
        self.quarantine_reasons.extend(other.quarantine_reasons)


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, seen: int, counts: BatchCounts,
               expectations: dict[str, tuple[int, int]] | None = None) -> None:
    """Record how the run ended and, when given, its validation results per expectation
    (name -> rows passed, failed), in one transaction."""
    with transaction(con):
        con.execute(
            "update runs set finished_at = ?, status = ?, documents_seen = ?, articles_new = ?, articles_updated = ?,"
            " articles_unchanged = ?, quarantined = ?, segments_removed = ?, quiet_change = ? where run_id = ?",
            [utcnow(), status, seen, counts.new, counts.updated, counts.unchanged, counts.quarantined,
             counts.segments_removed, counts.quiet, run_id],
        )
        if expectations:
            con.executemany(
                "insert or replace into validation_results (run_id, expectation, passed, failed) values (?, ?, ?, ?)",
                [[run_id, name, int(ok), int(bad)] for name, (ok, bad) in expectations.items()],
            )


def _strings(values: list[str | None]) -> pa.Array:
    """A string column. Every column of a batch's tables has its type stated: a column without values
    (a batch whose documents were all quarantined has no articles) would otherwise be typed null, and
    DuckDB may then bind it as an integer against the warehouse's columns."""
    return pa.array(values, type=pa.string())


def _documents_table(docs: list[RawDocument], run_id: str, now: datetime,
                     refs: list[A.ArchiveRef | None]) -> pa.Table:
    return pa.table({
        "document_id": _strings([d.document_id for d in docs]),
        "source_uri": _strings([d.source_uri for d in docs]),
        "media_type": _strings([d.media_type for d in docs]),
        "raw_sha256": _strings([d.raw_sha256 for d in docs]),
        "size_bytes": pa.array([d.size_bytes for d in docs], type=pa.int64()),
        "fields": _strings([json.dumps(d.fields, default=str) if d.fields else None for d in docs]),
        "run_id": _strings([run_id] * len(docs)),
        "received_at": pa.array([now] * len(docs), type=pa.timestamp("us", tz="UTC")),
        "source_mtime_ns": pa.array([d.mtime_ns for d in docs], type=pa.int64()),
        "archive_file": pa.array([r and r.file for r in refs], type=pa.string()),
        "archive_offset": pa.array([r and r.offset for r in refs], type=pa.int64()),
        "archive_length": pa.array([r and r.length for r in refs], type=pa.int64()),
        "archive_digest": pa.array([r and r.digest for r in refs], type=pa.string()),
    })


def _articles_table(articles: list[Article], run_id: str, version: str, now: datetime) -> pa.Table:
    return pa.table({
        "article_id": _strings([a.article_id for a in articles]),
        "document_id": _strings([a.document_id for a in articles]),
        "source_uri": _strings([a.source_uri for a in articles]),
        "url": pa.array([a.url for a in articles], type=pa.string()),
        "title": pa.array([a.title for a in articles], type=pa.string()),
        "body": _strings([a.body for a in articles]),
        "published_at": pa.array([a.published_at for a in articles], type=pa.string()),
        "author": pa.array([a.author for a in articles], type=pa.string()),
        "language": pa.array([a.language for a in articles], type=pa.string()),
        "sitename": pa.array([a.sitename for a in articles], type=pa.string()),
        "section": pa.array([a.section for a in articles], type=pa.string()),
        "canonical_url": pa.array([a.canonical_url for a in articles], type=pa.string()),
        "flags": pa.array([a.flags for a in articles], type=pa.list_(pa.string())),
        "extra": pa.array([json.dumps(a.extra, default=str) if a.extra else None for a in articles], type=pa.string()),
        "word_count": pa.array([a.word_count for a in articles], type=pa.int32()),
        "content_hash": _strings([a.content_hash for a in articles]),
        "cleaner_version": _strings([version] * len(articles)),
        "extraction": pa.array([a.extraction for a in articles], type=pa.string()),
        "extraction_confidence": pa.array([a.extraction_confidence for a in articles], type=pa.float64()),
        "run_id": _strings([run_id] * len(articles)),
        "now": pa.array([now] * len(articles), type=pa.timestamp("us", tz="UTC")),
    })


def _segments_table(articles: list[Article]) -> pa.Table:
    rows = [(a.article_id, s.position, s.text, s.rule) for a in articles for s in a.removed]
    return pa.table({
        "article_id": pa.array([r[0] for r in rows], type=pa.string()),
        "position": pa.array([r[1] for r in rows], type=pa.int32()),
        "text": pa.array([r[2] for r in rows], type=pa.string()),
        "rule": pa.array([r[3] for r in rows], type=pa.string()),
    })


def _quarantine_table(rejected: list[Rejected], run_id: str, now: datetime) -> pa.Table:
    return pa.table({
        "document_id": _strings([r.document_id for r in rejected]),
        "source_uri": _strings([r.source_uri for r in rejected]),
        "stage": _strings([r.stage for r in rejected]),
        "reasons": pa.array([r.reasons for r in rejected], type=pa.list_(pa.string())),
        "run_id": _strings([run_id] * len(rejected)),
        "quarantined_at": pa.array([now] * len(rejected), type=pa.timestamp("us", tz="UTC")),
        "retry_at": pa.array([r.retry_at for r in rejected], type=pa.timestamp("us", tz="UTC")),
    })


@dataclass
class FetchRows:
    """The fetch state that belongs to a batch's documents (tasks/fetch_state.py save_fetch_rows)."""

    source: str
    records: list = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter((self.source, self.records, self.seen))


def archive_config_of(con: duckdb.DuckDBPyConnection) -> A.ArchiveConfig:
    """The default archive of the warehouse file `con` has open: `<name>.archive/` beside it."""
    path, kind = con.execute(
        "select path, type from duckdb_databases() where database_name = current_database()").fetchone()
    if not path or kind != "duckdb":
        raise ValueError("a warehouse that is not a DuckDB file (one in memory, a lake) has no archive folder "
                         "beside it: pass an ArchiveConfig")
    return A.ArchiveConfig(archive_dir_for(path))


def _records_to_append(con: duckdb.DuckDBPyConnection, docs: list[RawDocument],
                       packed: list | None) -> list[A.PackedRecord | None]:
    """Each document's packed record, None for those already stored (or seen earlier in the batch)."""
    packed = [A.pack_record(d) for d in docs] if packed is None else list(packed)
    ids = [d.document_id for d, p in zip(docs, packed) if p is not None]
    stored = {i for (i,) in con.execute(statement("documents_stored"), [ids]).fetchall()} if ids else set()
    for i, d in enumerate(docs):
        if packed[i] is not None and d.document_id in stored:
            packed[i] = None
        stored.add(d.document_id)
    return packed


def load_batch(con: duckdb.DuckDBPyConnection, run_id: str, cleaner_version: str, docs: list[RawDocument],
               articles: list[Article], rejected: list[Rejected], packed: list | None = None,
               archive: A.ArchiveConfig | None = None, fetch: FetchRows | None = None) -> BatchCounts:
    """Write one batch: the raw bytes of its new documents to the archive (tasks/archive.py, fsynced
    first), then in one transaction the documents with their archive references, upserted articles,
    their removed segments, enrichment, search postings, quarantine rows and the fetch state of the
    batch's fetched pages (`fetch`: source, fetch_state records, seen items). Returns what changed.

    `packed` is each document's WARC record packed with `tasks.archive.pack_record` (workers do it in
    parallel); without it they are packed here. `archive` defaults to `<name>.archive/` beside the file."""
    now = utcnow()
    held = _later_captures(con, docs, articles)
    if held:  # stored as received; their articles stay on the later capture they hold
        articles = [a for a in articles if a.article_id not in held]
    # When the transaction fails, what was appended stays until the next append cuts it (tasks/archive.py).
    appended, refs = A.append(con, archive or archive_config_of(con), _records_to_append(con, docs, packed))
    counts = _load_in_transaction(con, run_id, cleaner_version, docs, articles, rejected, refs, appended, now,
                                  fetch)
    counts.unchanged += len(held)
    return counts


def _later_captures(con: duckdb.DuckDBPyConnection, docs: list[RawDocument], articles: list[Article]) -> set[str]:
    """Ids of the articles that a web archive's capture in this batch would set back: the warehouse's
    article holds a capture of the page made after it (a backfill read after live fetching, or archives
    read newest first). Captures without a WARC-Date, and files, compare with nothing."""
    taken = {d.document_id: when for d in docs if (when := d.captured_at) is not None}
    incoming = {a.article_id: taken[a.document_id] for a in articles if a.document_id in taken}
    if not incoming:
        return set()
    held = con.execute(statement("article_captured_at"), [list(incoming)]).fetchall()
    return {article_id for article_id, when in held if when is not None and incoming[article_id] < when}


def _drop_superseded(cur: duckdb.DuckDBPyConnection, reread: list[str]) -> list[str]:
    """Delete the articles that documents cleaned again into an article of this batch (`reread`: read
    back from the raw store, by reclean or a retry) made before under another id, with their segments
    and enrichment, and return their ids (for the search index). A document rejected now keeps its
    article. An article's id comes from its URL, and a cleaner that reads a
    page's canonical URL otherwise gives the same document another id: the old article stayed beside
    the new one, a duplicate in every view and search."""
    if not reread:
        return []
    superseded = [a for (a,) in cur.execute(
        "select article_id from articles where document_id in (select unnest(?)) "
        "and article_id not in (select article_id from b_articles)", [reread]).fetchall()]
    if not superseded:
        return []
    stories = [s for (s,) in cur.execute("select distinct story_id from story_articles where article_id in "
                                         "(select unnest(?))", [superseded]).fetchall()]
    for table in ("articles", "removed_segments", "mentions", "citations", "story_articles", "story_bands"):
        cur.execute(f"delete from {table} where article_id in (select unnest(?))", [superseded])
    if stories:  # a story left without articles goes too
        cur.execute("delete from stories where story_id in (select unnest(?)) and story_id not in "
                    "(select story_id from story_articles where story_id in (select unnest(?)))", [stories, stories])
    return superseded


def _insert_documents(cur: duckdb.DuckDBPyConnection) -> bool:
    """The batch's new documents; those received again after their raw-store file was recorded lost
    point to their new records (that statement joins `documents`: it runs only where a file was lost).
    Whether any did: a change the run's counts do not show."""
    cur.execute("insert into documents by name select * from b_documents on conflict do nothing")
    if cur.execute("select 1 from archive_files where lost_at is not null limit 1").fetchone():
        return cur.execute(statement("documents_rearchived")).fetchone()[0] > 0
    return False


def _quarantine(cur: duckdb.DuckDBPyConnection, rejected: list[Rejected], counts: BatchCounts) -> None:
    """The batch's quarantine rows (`b_quarantine`) in, and out those of sources that loaded now.

    An accepted article takes its source out of quarantine: the same document re-cleaned, a new
    version of its file or page, or its whole file (unreadable before, a record of it now loads).
    Rejected documents enter it once; one that was waiting for its date (`retry_at`) and is rejected
    again enters it anew, with this run's reasons. The run reports as quarantined the documents it put
    there, so that its list agrees with its count; those rejected again that were there already (what
    reclean finds rejected again) count as unchanged and still in quarantine."""
    cur.execute(statement("resolve_quarantine"))
    cur.execute("delete from quarantine where retry_at is not null "
                "and document_id in (select document_id from b_quarantine)")
    entering = {d for (d,) in cur.execute("select document_id from b_quarantine where document_id not in "
                                          "(select document_id from quarantine)").fetchall()} if rejected else set()
    counts.quarantined = cur.execute(
        "insert into quarantine by name select * from b_quarantine on conflict do nothing").fetchone()[0]
    counts.quarantine_reasons = [(r.source_uri, r.reasons) for r in rejected if r.document_id in entering]
    counts.still_quarantined = len({r.document_id for r in rejected} - entering)
    counts.unchanged += counts.still_quarantined


def _load_in_transaction(con: duckdb.DuckDBPyConnection, run_id: str, cleaner_version: str,
                         docs: list[RawDocument], articles: list[Article], rejected: list[Rejected],
                         refs: list[A.ArchiveRef | None], appended: A.Appended, now: datetime,
                         fetch: FetchRows | None = None) -> BatchCounts:
    counts = BatchCounts()
    tables = {"b_documents": _documents_table(docs, run_id, now, refs),
              "b_articles": _articles_table(articles, run_id, cleaner_version, now),
              "b_segments": _segments_table(articles),
              "b_quarantine": _quarantine_table(rejected, run_id, now)}
    # Left in reverse order: commit (or roll back), unregister the batch's tables, close the cursor.
    with con.cursor() as cur, registered(cur, **tables), transaction(cur):
        status = dict(cur.execute(statement("article_status"), {"ids": [a.article_id for a in articles]}
                                  ).fetchall())
        changed = [aid for aid, s in status.items() if s != "unchanged"]
        changed_set = set(changed)
        # Only these have rows to replace: each delete scans a table that grows with the warehouse.
        updated = {aid for aid, s in status.items() if s == "updated"}
        counts.updated = len(updated)
        counts.new = len(changed) - counts.updated
        counts.unchanged = len(status) - len(changed)
        counts.quiet = _insert_documents(cur)
        A.record_appended(cur, appended, now)
        if changed:
            prepare_index(cur)  # before the articles enter: on a new warehouse they all go in incrementally
        cur.execute(statement("upsert_articles"))
        stored = {d.document_id for d in docs if d.stored}
        superseded = _drop_superseded(cur, [a.document_id for a in articles if a.document_id in stored])
        if changed:
            if updated:
                cur.execute("delete from removed_segments where article_id in (select unnest(?))", [list(updated)])
            cur.execute("insert into removed_segments select * from b_segments where article_id in (select unnest(?))",
                        [changed])
            counts.segments_removed = sum(len(a.removed) for a in articles if a.article_id in changed_set)
            enrich_batch(cur, [(a.article_id, a.title, analysis_of(a)) for a in articles
                               if a.article_id in changed_set], now, stored=updated)
            index_articles(cur, changed + superseded)  # the index changes with the articles, in this transaction
        _quarantine(cur, rejected, counts)
        if fetch is not None:
            counts.quiet = save_fetch_rows(cur, *fetch) or counts.quiet
        # The run's counts grow with each batch it commits: a run killed part way shows what it loaded.
        cur.execute("update runs set documents_seen = documents_seen + ?, articles_new = articles_new + ?, "
                    "articles_updated = articles_updated + ?, articles_unchanged = articles_unchanged + ?, "
                    "quarantined = quarantined + ?, segments_removed = segments_removed + ? where run_id = ?",
                    [len(docs), counts.new, counts.updated, counts.unchanged, counts.quarantined,
                     counts.segments_removed, run_id])
    return counts
