"""The raw store: every document's bytes as received, in rotating WARC/1.1 files beside the warehouse.

Each stored document is one WARC record, compressed as its own gzip member (what lets a reader seek
to it): a fetched page is a `response` record (its HTTP status line and headers, then the body as
newsflow decoded it) preceded by the `request` record newsflow sent (linked by WARC-Concurrent-To); a
page read from a web archive is a `response` record with the archive's headers and WARC-Date; a local
file or JSON record is a `resource` record. `documents` keeps the file name, offset, length and
WARC-Payload-Digest (archive_file, archive_offset, archive_length, archive_digest), so the warehouse,
and the analyst copy published from it, holds no raw bytes. The files are standard: any WARC tool
(warcio, the wayback machine, CDX indexers) reads them.

Crash safety: a batch's records are appended and fsynced *before* the DuckDB transaction that refers
to them commits, and that transaction also records each file's committed length (`archive_files`).
Bytes past it were written by a batch that never committed (a killed run): the next append truncates
them first, so no document ever points at a partial record and a rerun archives the batch again.

Compression happens in the cleaning workers (`pack_record`); the writer only appends.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from isal import igzip

from tasks.models import RawDocument, sha256_hex

if TYPE_CHECKING:  # the cleaning workers import this module for pack_record: no DuckDB there
    import duckdb

# Each record is gzipped by ISA-L (python-isal's igzip, standard gzip members that any reader reads) at
# its level 1: a 170 KB news page in ~0.4 ms to 0.24 of its size, where zlib's level 1 took ~1.7 ms
# (to 0.245) and its default (6) ~4.3 ms (to 0.21), a cost the cleaning stage feels.
ARCHIVE_GZIP_LEVEL = 1
_FILE_NAME = re.compile(r"^newsflow-(?:[0-9a-f]{12}-(?:[0-9a-f]{6}-)?)?(\d{8}T\d{6}Z)-(\d{5})\.warc\.gz$")
# Headers describing bytes on the wire rather than the body stored: kept under this prefix (Common
# Crawl's convention), and Content-Length set to the stored body.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_MEDIA_CONTENT_TYPES = {"html": "text/html", "text": "text/plain; charset=utf-8", "record": "application/json"}


class ArchiveError(RuntimeError):
    """The archive cannot be written, or disagrees with the warehouse (a file missing, shorter than
    recorded or damaged)."""


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """Where a warehouse's archive lives and when its files rotate (Settings.archive_dir / archive_file_bytes)."""

    folder: Path
    max_file_bytes: int = 1024**3
    # Several writers sharing one folder (a lake's) each append to their own files, named
    # newsflow-<writer>...; the file warehouse has one writer at a time and names none.
    writer: str = ""


@dataclass(slots=True)
class PackedRecord:
    """A document's record(s), compressed and ready to append: `data` is one gzip member per record,
    the document's own record at `offset` (within `data`) for `length` bytes."""

    data: bytes
    offset: int
    length: int
    digest: str  # WARC-Payload-Digest of the document's record


@dataclass(frozen=True, slots=True)
class ArchiveRef:
    file: str
    offset: int
    length: int
    digest: str


def http_exchange(response_headers: dict[str, str], request_headers: dict[str, str]) -> dict:
    """The RawDocument fields of a fetched page that its WARC records keep: the response's headers, when
    it was received (now), and the request's headers (besides Host). Pass them as keyword arguments."""
    return {"headers": list(response_headers.items()), "request_headers": dict(request_headers),
            "fetched_at": datetime.now(timezone.utc).isoformat()}


def _warc_date(iso: str | None) -> str:
    from warcio.timeutils import datetime_to_iso_date

    when = None
    if iso:
        try:
            when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            when = None
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    return datetime_to_iso_date(when, use_micros=True)


def _http_headers(doc: RawDocument):
    from warcio.statusandheaders import StatusAndHeaders

    status = int(doc.fields.get("http_status") or 200)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = [(k, v) for k, v in (doc.headers or []) if k.lower() not in _WIRE_HEADERS]
    headers += [(f"X-Crawler-{k}", v) for k, v in (doc.headers or []) if k.lower() in _WIRE_HEADERS]
    headers.append(("Content-Length", str(len(doc.raw))))
    return StatusAndHeaders(f"{status} {phrase}", headers, protocol="HTTP/1.1")


def _request_headers(doc: RawDocument, url: str):
    from warcio.statusandheaders import StatusAndHeaders

    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc), *(doc.request_headers or {}).items()]
    return StatusAndHeaders(f"GET {path} HTTP/1.1", headers, protocol="", is_http_request=True)


def _member(writer, buffer: io.BytesIO, record) -> bytes:
    buffer.seek(0)
    buffer.truncate()
    writer.write_record(record)
    return igzip.compress(buffer.getvalue(), compresslevel=ARCHIVE_GZIP_LEVEL, mtime=0)


def pack_record(doc: RawDocument) -> PackedRecord | None:
    """The WARC record(s) of one document, each gzipped on its own; None when there are no bytes to keep
    (an unreadable input) or the document is already archived (`doc.stored`)."""
    if doc.raw is None or doc.stored:
        return None
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False, warc_version="1.1")
    url = str(doc.fields.get("url") or doc.source_uri) if doc.headers is not None else doc.source_uri
    date = _warc_date(doc.fetched_at)
    if doc.headers is None:  # a local file or JSON record
        ctype = _MEDIA_CONTENT_TYPES.get(doc.media_type, "application/octet-stream")
        record = writer.create_warc_record(doc.source_uri, "resource", payload=io.BytesIO(doc.raw),
                                           length=len(doc.raw), warc_content_type=ctype,
                                           warc_headers_dict={"WARC-Date": date})
        data = _member(writer, buffer, record)
        return PackedRecord(data, 0, len(data), record.rec_headers.get_header("WARC-Payload-Digest"))
    response = writer.create_warc_record(url, "response", payload=io.BytesIO(doc.raw), length=len(doc.raw),
                                         http_headers=_http_headers(doc), warc_headers_dict={"WARC-Date": date})
    digest = response.rec_headers.get_header("WARC-Payload-Digest")
    if doc.request_headers is None:  # read from a web archive: the response alone
        data = _member(writer, buffer, response)
        return PackedRecord(data, 0, len(data), digest)
    request = writer.create_warc_record(url, "request", http_headers=_request_headers(doc, url),
                                        warc_headers_dict={"WARC-Date": date})
    request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
    first, second = _member(writer, buffer, request), _member(writer, buffer, response)
    return PackedRecord(first + second, len(first), len(second), digest)


# ---------------------------------------------------------------------------------------------------
# Appending (the single writer) and reading back


@dataclass(slots=True)
class Appended:
    """What one `append` wrote: record it in the batch's transaction (`record_appended`). Nothing undoes
    an append whose transaction fails: the next append cuts what no commit refers to (`_settle`)."""

    folder: Path
    file: str | None = None
    start: int = 0
    end: int = 0
    new_file: bool = False


def _current_file(con: duckdb.DuckDBPyConnection, prefix: str, migrating: bool) -> tuple[str, int] | None:
    from tasks.sql import statement

    # migration 009's step appends before migration 019 adds the column that marks a file lost
    name = "archive_current_file_009" if migrating else "archive_current_file"
    return con.execute(statement(name), [prefix]).fetchone()


def _settle(folder: Path, name: str, committed: int) -> None:
    """Cut what a batch that never committed left after `committed` bytes."""
    path = folder / name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if committed == 0:
            return
        raise ArchiveError(f"{path}: archive file missing ({committed:,} bytes recorded); restore it from a "
                           "backup, or set NEWSFLOW_ARCHIVE_DIR to the folder that holds it; if it is lost for "
                           f"good, `newsflow raw-store-lost {name}` lets runs go on without it") from None
    if size < committed:
        raise ArchiveError(f"{path}: {size:,} bytes, but the warehouse recorded {committed:,}; the file was "
                           "truncated or replaced: restore it from a backup; if it is lost for good, "
                           f"`newsflow raw-store-lost {name}` lets runs go on without it")
    if size > committed:
        os.truncate(path, committed)


def mark_lost(con: duckdb.DuckDBPyConnection, folder: Path, name: str) -> int:
    """Record the raw store's file `name` as lost for good, so that runs start a new file instead of
    failing on it; return how many documents had their record in it (their articles stay, reclean skips
    them). A file that is in `folder` whole is refused."""
    row = con.execute("select bytes from archive_files where name = ?", [name]).fetchone()
    if row is None:
        raise ArchiveError(f"{name} is not a file of this warehouse's raw store; give the name the error "
                           "printed (newsflow-....warc.gz), and the warehouse it came from (--db or --warehouse)")
    path = folder / name
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size >= row[0]:
            raise ArchiveError(f"{path} is there and whole ({row[0]:,} bytes recorded): nothing is lost")
    con.execute("update archive_files set lost_at = coalesce(lost_at, ?) where name = ?",
                [datetime.now(timezone.utc), name])
    return con.execute("select count(*) from documents where archive_file = ?", [name]).fetchone()[0]


def _warehouse_part(con: duckdb.DuckDBPyConnection) -> str:
    """A file warehouse's part of its files' names: its id (migration 016) and where it is written from
    (a digest of the host's name and the working file's path), so that warehouses sharing an archive
    folder never take each other's files for their own: a copy of one too, which has its id and
    appended to its files, cutting back what the other wrote (a lake's writers name theirs). A warehouse
    moved, or run in a new container, starts a file of its own. Empty while migration 009 moves raw
    pages out, before 016 has run."""
    if not con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                       "and table_name = 'warehouse_identity'").fetchone()[0]:
        return ""
    row = con.execute("select min(id) from warehouse_identity").fetchone()
    if not (row and row[0]):
        return ""
    (path,) = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    place = sha256_hex(socket.gethostname() + "\0" + os.path.realpath(path or ""))[:6]
    return f"{row[0]}-{place}-"


def _new_file(folder: Path, count: int, prefix: str) -> str:
    n = count + 1
    for orphan in folder.glob(f"{prefix}*-{n:05d}.warc.gz"):  # created by a batch that never committed
        orphan.unlink()
    return f"{prefix}{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{n:05d}.warc.gz"


def append(con: duckdb.DuckDBPyConnection, config: ArchiveConfig, packed: list[PackedRecord | None],
           migrating: bool = False) -> tuple[Appended, list[ArchiveRef | None]]:
    """Append the records to the archive's current file (a new one past `max_file_bytes`) and fsync it.

    Call before the transaction that stores the references; in it, `record_appended`. `migrating`: for
    migration 009's step, which runs before later migrations."""
    done = Appended(config.folder)
    if not any(packed):
        return done, [None] * len(packed)
    try:
        config.folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is there" if isinstance(exc, FileExistsError) else exc.strerror
        raise ArchiveError(f"cannot make the raw store's folder {config.folder} ({why}); set "
                           "NEWSFLOW_ARCHIVE_DIR (or archive_dir in newsflow.toml's [settings]) to a folder this "
                           "user can write, or unset it for <db name>.archive/ beside the warehouse") from None
    prefix = f"newsflow-{config.writer or _warehouse_part(con)}"
    current = _current_file(con, prefix, migrating)
    refs: list[ArchiveRef | None] = []
    try:
        if current is not None and current[1] < config.max_file_bytes:
            _settle(config.folder, *current)  # a full file gets no more appends, so nothing to cut back
        else:
            count = con.execute("select count(*) from archive_files where starts_with(name, ?)", [prefix]).fetchone()[0]
            current, done.new_file = (_new_file(config.folder, count, prefix), 0), True
        done.file, done.start = current
        position = done.start
        with open(config.folder / done.file, "ab") as out:
            for p in packed:
                if p is None:
                    refs.append(None)
                    continue
                out.write(p.data)
                refs.append(ArchiveRef(done.file, position + p.offset, p.length, p.digest))
                position += len(p.data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise  # a full disk, say: the CLI says where to free space
        raise ArchiveError(f"cannot write the raw store's file {exc.filename or config.folder / done.file} "
                           f"({exc.strerror}); let this user write {config.folder} and its files, or move "
                           "its files to a folder it can write and set NEWSFLOW_ARCHIVE_DIR (or archive_dir in "
                           "newsflow.toml's [settings]) to that folder; nothing of this batch was loaded") from None
    if done.new_file:
        _fsync_folder(config.folder)
    done.end = position
    return done, refs


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def record_appended(cur: duckdb.DuckDBPyConnection, done: Appended, now: datetime) -> None:
    """In the batch's transaction: the file's committed length is now `done.end`."""
    from tasks.sql import statement

    if done.file is not None:
        cur.execute(statement("archive_appended"), [done.file, done.end, now])


def read_payload(folder: Path, ref: ArchiveRef) -> bytes:
    """The bytes of one stored document, read back from its record (the body, without HTTP headers)."""
    return read_record(folder, ref)[0]


def read_record(folder: Path, ref: ArchiveRef) -> tuple[bytes, list[tuple[str, str]] | None]:
    """The bytes of one stored document and, for a page received over HTTP, its response headers as
    stored (the cleaner reads the charset a page was served in from them); None for a file's."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    path = folder / ref.file
    try:
        with open(path, "rb") as fh:
            fh.seek(ref.offset)
            member = fh.read(ref.length)
        if len(member) != ref.length:
            raise ArchiveError(f"{path}: record at {ref.offset:,} is cut short; restore the file")
        for record in ArchiveIterator(io.BytesIO(member)):
            if ref.digest and record.rec_headers.get_header("WARC-Payload-Digest") != ref.digest:
                raise ArchiveError(f"{path}: the record at {ref.offset:,} is not the one stored there (another "
                                   "digest): the file was overwritten, by another warehouse writing into the same "
                                   "folder, say; restore it from a backup")
            http = record.http_headers if record.rec_type == "response" else None
            return record.content_stream().read(), None if http is None else list(http.headers)
    except FileNotFoundError as exc:  # another folder than the one it was written to, or lost
        raise ArchiveError(f"{path}: record at {ref.offset:,} cannot be read ({_reason(exc)}); check that "
                           "NEWSFLOW_ARCHIVE_DIR names the folder the raw store was written to (on a lake, the "
                           "folder every writer shares), else restore the file") from None
    except (OSError, EOFError, zlib.error, ArchiveLoadFailed) as exc:  # damaged
        raise ArchiveError(f"{path}: record at {ref.offset:,} cannot be read ({_reason(exc)}); restore the "
                           "file") from None
    raise ArchiveError(f"{path}: no record at {ref.offset:,}")


def _reason(exc: BaseException) -> str:
    """An error's kind and the start of its words (warcio quotes the damaged bytes at length)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:80]}"


# ---------------------------------------------------------------------------------------------------
# Migration 009: raw bytes stored in the warehouse move out to the archive


def _legacy_document(row: tuple) -> RawDocument:
    """A document as stored before migration 009, ready for `pack_record` (a fetched page becomes a
    response record with the content type it was stored with; its other headers were not kept)."""
    import json

    from tasks.models import unpack_raw

    _id, uri, media, raw, codec, sha, size, fields, received_at = row
    fields = json.loads(fields) if fields else {}
    headers = None
    if fields.get("http_status"):
        headers = [("Content-Type", str(fields.get("content_type") or "text/html"))]
    return RawDocument(uri, media, unpack_raw(bytes(raw), codec), sha, size, fields, headers=headers,
                       fetched_at=received_at.isoformat())


def move_raw_to_archive(con: duckdb.DuckDBPyConnection, config: ArchiveConfig, batch_size: int = 200) -> int:
    """Move every raw page still in `documents.raw` to the archive, a batch per transaction; returns how
    many. Re-runnable: a killed move resumes where it stopped (rows are cleared as their records commit)."""
    import pyarrow as pa

    from tasks.sql import registered, statement, transaction

    moved = 0
    while rows := con.execute(statement("raw_to_archive"), [batch_size]).fetchall():
        packed = [pack_record(_legacy_document(row)) for row in rows]
        done, refs = append(con, config, packed, migrating=True)
        table = pa.table({"document_id": pa.array([r[0] for r in rows], type=pa.string()),
                          "archive_file": pa.array([x and x.file for x in refs], type=pa.string()),
                          "archive_offset": pa.array([x and x.offset for x in refs], type=pa.int64()),
                          "archive_length": pa.array([x and x.length for x in refs], type=pa.int64()),
                          "archive_digest": pa.array([x and x.digest for x in refs], type=pa.string())})
        with con.cursor() as cur, registered(cur, b_moved=table), transaction(cur):
            cur.execute(statement("raw_archived"))
            record_appended(cur, done, datetime.now(timezone.utc))
        moved += len(rows)
    return moved
