"""Web archives as a source: the HTML responses in WARC (and ARC) files become documents.

Records are streamed with warcio (its `ArchiveIterator` reads WARC 1.0/1.1 and ARC, gzipped per
record or not, and decodes chunked and brotli HTTP bodies; gzip and deflate ones are decoded here,
bounded and checked for their end), one at a time, so memory stays flat however large the file. Only
`response` records of HTTP 200 with an HTML content type become documents (and responses stored
without HTTP headers whose body is clearly HTML); every other record
(warcinfo, request, metadata, revisit, resource, non-HTML, non-200, and those a source's filters leave
out) is counted by reason in the run summary, not quarantined one by one. A truncated or corrupt record
ends the reading of its file with one quarantine row; the records read before it are kept. Why warcio
rather than FastWARC: bench/warc_bench.py.
"""

from __future__ import annotations

import re
import sys
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from newsflow.settings import DOCUMENT_CAP_HINT
from tasks.models import RawDocument, sha256_hex

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# How much of a page the language filter looks at for <html lang="..">.
_LANG_PROBE_BYTES = 4096
_HTML_LANG = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
# A response record's block that starts so is a page stored without its HTTP status line and headers.
_HTML_START = re.compile(rb"\s*(?:\xef\xbb\xbf\s*)?<(?:!doctype\s+html|html|head|body|!--|meta|title|article|main|"
                         rb"section|div|p)[\s>/]", re.IGNORECASE)
_HEAD_BYTES = 8192  # what is read of a response's block to tell an HTTP status line from a page


def is_web_archive(path: str | Path) -> bool:
    """Whether a file name is a WARC or ARC file (.warc, .warc.gz, .arc, .arc.gz)."""
    return str(path).lower().endswith(WARC_SUFFIXES)


@dataclass(frozen=True, slots=True)
class WarcFilter:
    """Which HTML responses of an archive a source keeps (newsflow.toml limits of a `warc` source).

    `allowed_domains`: hosts (and their subdomains) kept; empty keeps all. `language`: pages that
    declare another language (Content-Language, or `<html lang>`) are skipped; pages declaring none
    go on to the article-level language check. `since` / `until`: the WARC-Date range kept (UTC,
    `until` excluded)."""

    allowed_domains: tuple[str, ...] = ()
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(slots=True)
class WarcReading:
    """How a run reads web archives (its source's filters), and what it found: `counts` of records by
    what became of them (shown in the run summary), `read_bytes` of the archives read so far."""

    filters: WarcFilter = WarcFilter()
    counts: dict[str, int] = field(default_factory=dict)  # a plain dict: it travels in the run's summary
    read_bytes: int = 0
    whole: list[str] = field(default_factory=list)  # URIs of the archives read to their end without a fault

    def expected(self, total_bytes: int, documents: int) -> int:
        """The documents the archives will yield in all, estimated from those so far and the share read."""
        return estimate_total(documents, self.read_bytes, total_bytes)


def estimate_total(documents: int, read_bytes: int, total_bytes: int) -> int:
    """The documents files of `total_bytes` will give in all, when `read_bytes` of them gave `documents`:
    for files whose number of documents shows only while they are read (web archives, JSON records)."""
    if read_bytes <= 0:
        return max(documents, 1)
    return max(documents, round(documents * total_bytes / read_bytes))


def _add(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def parse_warc_date(text: str | None) -> datetime | None:
    """A WARC-Date (ISO 8601, `Z`) or an ARC date (14 digits) as an aware UTC datetime."""
    if not text:
        return None
    text = text.strip()
    try:
        if text.isdigit() and len(text) >= 14:
            return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _domain_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    if not allowed:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().lstrip(".") for d in allowed))


def _declared_language(headers: dict[str, str], body: bytes) -> str | None:
    declared = headers.get("content-language", "").split(",")[0].strip()
    if not declared:
        m = _HTML_LANG.search(body[:_LANG_PROBE_BYTES])
        declared = m.group(1).decode("ascii") if m else ""
    return declared[:2].lower() or None


def _content_type(record) -> str:
    """The page's media type: the HTTP Content-Type, or for a page stored without HTTP headers the
    record's (an HTML page whose record says otherwise is text/html)."""
    if record.http_headers is not None:
        return (record.http_headers.get_header("content-type") or "").split(";")[0].strip().lower()
    ctype = (record.rec_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
    return ctype if ctype in HTML_TYPES else "text/html"


def _http_head(record) -> bytes:
    """Parse a response's HTTP status line and headers into `record.http_headers`, and return b"";
    for a block that does not start with a status line, leave them None and return the bytes read (the
    start of the body), and for a response whose headers state no Content-Type (nor an encoding), the
    start of its body. warcio is told not to parse them: it takes any first line for a status line and
    swallows a body's lines up to the first blank one as headers."""
    from warcio.statusandheaders import StatusAndHeadersParser

    raw = record.raw_stream
    head = _first_line(raw)
    if not head.lstrip().startswith(b"HTTP/"):
        return head
    http = record.http_headers = StatusAndHeadersParser(["HTTP/"], verify=False).parse(raw, head.lstrip())
    if not http.get_header("Content-Type") and not (http.get_header("Content-Encoding") or
                                                    http.get_header("Transfer-Encoding")):
        return _first_line(raw)  # a body of no stated type: its start tells whether it is a page
    return b""


def _first_line(raw) -> bytes:
    """What `raw` holds up to its first line that is not blank (at most about _HEAD_BYTES)."""
    head = b""
    while not head.strip() and len(head) < _HEAD_BYTES and (line := raw.readline(_HEAD_BYTES)):
        head += line
    return head


def _skip_reason(record, filters: WarcFilter, head: bytes) -> str | None:
    """Why a record does not become a document (before its body is read), or None. `head`: the start of
    a response's body when it has no HTTP headers or states no Content-Type."""
    kind = record.rec_type
    if kind != "response":
        return f"{kind} record"
    if record.http_headers is None:
        ctype = (record.rec_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
        if not head.strip() or (ctype not in HTML_TYPES and not _HTML_START.match(head)):
            return "response without HTTP headers"
    elif (status := record.http_headers.get_statuscode()) != "200":
        return f"HTTP status {status or 'missing'}"
    elif _content_type(record) not in HTML_TYPES and not (head and _HTML_START.match(head)):
        return "not HTML"  # (`head`: the start of a body of no stated type)
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    if not urlsplit(uri).scheme.startswith("http"):
        return "target URI is not http(s)"
    if _URI_CONTROLS.search(uri):  # no URL holds them raw: stored, they would reach terminals as escapes
        return "target URI holds control characters"
    if not _domain_allowed(uri, filters.allowed_domains):
        return "domain not allowed by the source"
    if filters.since or filters.until:
        when = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        if when is None or (filters.since and when < filters.since) or (filters.until and when >= filters.until):
            return "outside the source's date range"
    return None


_URI_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


class TruncatedRecord(ValueError):
    """A record ends before its declared length."""


class TruncatedFile(ValueError):
    """The file ends inside a record: it was cut short (an interrupted download or copy)."""


def _gzip_cut(path: Path, start: int) -> bool:
    """Whether the file ends before the gzip member that starts at byte `start` does (a member whose
    data is broken is not cut: warcio reports that one itself)."""
    member = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with path.open("rb") as fh:
        fh.seek(start)
        while not member.eof and (data := fh.read(1 << 16)):
            try:
                while data and not member.eof:  # bounded output: a member may expand a thousandfold
                    member.decompress(data, 1 << 20)
                    data = member.unconsumed_tail
            except zlib.error:
                return False
    return not member.eof


def _empty_members(path: Path, start: int, most: int = 1 << 16) -> bool:
    """Whether the file holds only whole, empty gzip members from byte `start` on: some writers end a
    file with one; all its records were read."""
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read(most + 1)
    if not data or len(data) > most:
        return False
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            if member.decompress(data, 1 << 10) or not member.eof:
                return False
        except zlib.error:
            return False
        data = member.unused_data
    return True


def _unread_end(place: _Place) -> Exception | None:
    """What is wrong with a file whose records warcio read without an error, or None. warcio stops
    quietly where a file ends inside a record's headers (and reads a cut last gzip member as whole)."""
    if place.end >= place.size or not place.exact or (place.gzip and _empty_members(place.path, place.end)):
        return None
    if not place.gzip or _gzip_cut(place.path, place.end):
        return TruncatedFile()
    return ValueError(f"the {place.size - place.end:,} bytes from byte {place.end:,} on hold no WARC record")


def _as_truncation(place: _Place, exc: Exception) -> Exception:
    """`exc`, or TruncatedFile when the file ends inside the record that failed."""
    if isinstance(exc, TruncatedFile) or not place.exact:
        return exc
    cut = _gzip_cut(place.path, place.start) if place.gzip else isinstance(exc, TruncatedRecord)
    return TruncatedFile() if cut else exc


class BrokenBody(ValueError):
    """A compressed HTTP body that does not decode whole: what decodes is not the whole page."""


_DECODED_HERE = frozenset({"gzip", "x-gzip", "deflate", "br"})


def _read_payload(record, max_bytes: int, head: bytes = b"") -> bytes | None:
    """The HTTP body, decoded (chunked, gzip, ...), or None when it is over `max_bytes`. `head`: the
    start of a body stored without HTTP headers, already read.

    Raises:
        TruncatedRecord: the record's data ends before its Content-Length.
        BrokenBody: a gzip, deflate or brotli body that breaks off or ends before its end marker, or a
            chunked one that ends before its last chunk.
    """
    http = record.http_headers
    encoding = (http.get_header("Content-Encoding") or "").strip().lower() if http is not None else ""
    chunked = http is not None and (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked"
    if encoding in _DECODED_HERE or chunked:
        body = _decoded_payload(record, encoding if encoding in _DECODED_HERE else "identity", chunked, max_bytes)
    else:
        body = _read_on(head, record.content_stream(), max_bytes)
    _drain(record)
    return body


def _decoded_payload(record, encoding: str, chunked: bool, max_bytes: int) -> bytes | None:
    """A gzip, deflate or brotli body decoded here rather than by warcio, which returns what decodes
    before a break, or before the end of a cut stream, as if it were the whole body (half a page stored
    as the article), and fails on every brotli body with the brotli module installed here (1.2). The fetcher's bounded decoder says whether the stream reached its end marker. A body so
    labelled that does not start as one is read as stored, as warcio reads it: some crawlers store the
    decoded body and keep the header. A chunked body is de-chunked here too (`_Dechunked`). None when
    it is over `max_bytes`."""
    from tasks.fetch import FetchError, LimitedDecoder

    raw = _Dechunked(record.raw_stream) if chunked else record.raw_stream
    decoder, parts = LimitedDecoder(encoding, max_bytes), []
    try:
        while chunk := raw.read(1 << 16):
            parts.append(decoder.feed(chunk))
    except FetchError as exc:
        if decoder.produced > decoder.limit:
            return None
        if parts or chunk.startswith(b"\x1f\x8b"):
            raise BrokenBody(f"the {encoding} body breaks off after {decoder.produced:,} bytes "
                             f"({exc.reason}): not the whole page") from exc
        return _read_on(chunk, raw, max_bytes)  # not compressed after all: as stored
    if parts and not decoder.finished:
        raise BrokenBody(f"the {encoding} body ends before its end marker after {decoder.produced:,} "
                         "bytes: the crawler stored it cut short, not the whole page")
    return b"".join(parts)  # no parts: an empty body so labelled; nothing was sent, nothing cut


class _Dechunked:
    """The data of an HTTP chunked body, read from the stored one (`read` returns the next piece). warcio
    matches "chunked" in one case only (the header's value is case-insensitive: a "Chunked" body kept its
    chunk sizes in the page) and takes the end of the data for the end of the chunks (a body cut short
    was stored as the whole page). A body whose first line is no chunk size is read as stored (some
    crawlers keep the header over a body they decoded).

    Raises (from `read`):
        BrokenBody: the body ends before its last (0) chunk, or a chunk size after the first is damaged.
    """

    def __init__(self, stream) -> None:
        self._pieces = self._data(stream)

    def read(self, _size: int = -1) -> bytes:
        return next(self._pieces, b"")

    @staticmethod
    def _data(stream) -> Iterator[bytes]:
        first = True
        while True:
            line = stream.readline(1024)
            size = _chunk_size(line)
            if size is None and first:  # not chunked after all: as stored
                yield line
                while data := stream.read(1 << 16):
                    yield data
                return
            if size is None:
                if line.strip():
                    raise BrokenBody(f"the chunked body has a damaged chunk size ({line[:40]!r}): not the whole "
                                     "page")
                raise BrokenBody("the chunked body ends before its last chunk: the crawler stored it cut short, "
                                 "not the whole page")
            if size == 0:
                return
            first = False
            while size > 0:
                data = stream.read(min(size, 1 << 16))
                if not data:
                    raise BrokenBody("the chunked body ends inside a chunk: the crawler stored it cut short, "
                                     "not the whole page")
                size -= len(data)
                yield data
            if stream.readline(1024).strip():  # the line break after the chunk's data
                raise BrokenBody("the chunked body has a chunk longer than its size says: not the whole page")


def _chunk_size(line: bytes) -> int | None:
    """The size a chunk's first line states (hexadecimal, extensions after ";"), or None."""
    if not line.endswith(b"\n"):
        return None
    try:
        size = int(line.split(b";")[0].strip(), 16)
    except ValueError:
        return None
    return size if 0 <= size <= 1 << 31 else None


def _read_on(first: bytes, stream, max_bytes: int) -> bytes | None:
    """`first` and what `stream` holds after it; None when that is over `max_bytes`."""
    parts, size = [first], len(first)
    while size <= max_bytes and (chunk := stream.read(1 << 16)):
        parts.append(chunk)
        size += len(chunk)
    return None if size > max_bytes else b"".join(parts)


def _drain(record) -> None:
    """Read what is left of a record; raise TruncatedRecord when the file ends inside it."""
    raw = record.raw_stream
    while raw.read(1 << 16):
        pass
    if record.rec_headers.get_header("Content-Length") is None:  # warcio then reads to the end of the data
        raise TruncatedRecord("the record has no Content-Length: its headers are cut short or damaged")
    missing = getattr(raw, "limit", 0)
    if missing > 0:
        raise TruncatedRecord(f"the record ends {missing:,} bytes short of its Content-Length")


def _document(record, body: bytes, archive_uri: str) -> RawDocument:
    """The page of an HTML response; one stored without HTTP headers keeps none (no status either), so
    the raw store keeps it as a `resource` record."""
    uri = record.rec_headers.get_header("WARC-Target-URI")
    when = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
    fetched_at = when.isoformat() if when else None
    http = record.http_headers
    headers = None if http is None else [(k, v) for k, v in http.headers]
    fields = {"url": uri, "http_status": 200 if http is not None else None, "content_type": _content_type(record),
              "fetched_at": fetched_at, "warc_file": archive_uri,
              "warc_record_id": record.rec_headers.get_header("WARC-Record-ID")}
    return RawDocument(uri, "html", body, sha256_hex(body), len(body), {k: v for k, v in fields.items() if v},
                       headers=headers, fetched_at=fetched_at, captured=True)


def read_warc(path: Path, max_bytes: int, reading: WarcReading | None = None) -> Iterator[RawDocument]:
    """Yield a document per HTML 200 response in a WARC/ARC file, streaming; count the rest in
    `reading.counts` (filtered by `reading.filters`).

    A page over `max_bytes` is a quarantined document (as a file over the limit is). A truncated or
    corrupt record ends the file with one quarantined document naming the byte offset; what came
    before it is kept.
    """
    reading = WarcReading() if reading is None else reading
    archive_uri = path.resolve().as_uri()
    with path.open("rb") as fh:
        place = _Place(path, path.stat().st_size, fh.read(2) == b"\x1f\x8b", base=reading.read_bytes)
        fh.seek(0)
        records = _records(fh, path)
        try:
            while (doc := _next_document(records, place, reading, max_bytes, archive_uri)) is not None:
                yield doc
            problem = _unread_end(place)
        except Exception as exc:  # noqa: BLE001 - the file's failure boundary: keep what was read
            problem = _as_truncation(place, exc)
        if problem is not None:
            _add(reading.counts, "corrupt files")
            yield _corrupt(archive_uri, place, problem)
        else:
            reading.whole.append(archive_uri)
    reading.read_bytes = place.base + place.size


@dataclass(slots=True)
class _Place:
    """How far the reading of one file has come, in byte offsets of the file as stored."""

    path: Path
    size: int
    gzip: bool  # gzipped (per record, as it should be; warcio tells the members apart)
    base: int = 0  # WarcReading.read_bytes when the file was opened
    start: int = 0  # where the record being read starts
    end: int = 0  # just past the last record read whole
    records: int = 0  # records read whole
    counted: int = 0  # bytes that the documents so far account for (RawDocument.input_bytes)
    exact: bool = True  # False once warcio's offsets went back: a file gzipped whole has no record offsets
    notes: deque[str] = field(default_factory=lambda: deque(maxlen=3))  # warcio's last words on stderr


def _records(fh, path: Path):
    """warcio's reader for the file's format, strictly: a WARC file is read as WARC only, an ARC file as
    ARC only (guessing per record takes garbage for ARC records, and the reasons it gives are wrong)."""
    from warcio.archiveiterator import ARCIterator, WARCIterator

    if path.name.lower().endswith((".arc", ".arc.gz")):
        return ARCIterator(fh, arc2warc=True, no_record_parse=True)  # ARC headers read as WARC ones
    return WARCIterator(fh, no_record_parse=True)  # HTTP headers: _http_head


def _next_document(records, place: _Place, reading: WarcReading, max_bytes: int,
                   archive_uri: str) -> RawDocument | None:
    """Read on to the next record that becomes a document and return it; count the records passed over.
    None at the end of the file."""
    counts = reading.counts
    with _stderr_kept(place.notes):
        for record in records:
            _add(counts, "records")
            doc, reason = _consider(record, reading.filters, max_bytes, archive_uri)
            warnings = records.err_count
            records.read_to_end(record)
            if records.err_count > warnings:  # warcio found more data after the record than a blank line
                _add(counts, "records longer than their Content-Length")
            place.exact = place.exact and records.offset >= place.start
            place.end = max(records.offset, place.start)
            if place.end >= place.size and place.gzip and place.exact and _gzip_cut(place.path, place.start):
                raise TruncatedFile  # warcio reads a cut last gzip member as if it were whole
            place.start, place.records = place.end, place.records + 1
            reading.read_bytes = place.base + place.end  # (WarcReading.expected) counts its bytes
            if doc is not None:
                doc.input_bytes, place.counted = max(0, place.end - place.counted), place.end  # skipped records too
                _add(counts, "documents")
                if record.http_headers is None and doc.raw is not None:
                    _add(counts, "documents without HTTP headers (status unknown)")
                return doc
            _add(counts, f"skipped: {reason}")
    return None


class _ThreadStderr:
    """sys.stderr while archives are read. warcio writes its warnings to sys.stderr itself (not through
    logging; each with a blob of the file's bytes): what a reading thread writes goes to its notes, for
    the file's report, and the writes of other threads (a progress display) pass through."""

    def __init__(self, target) -> None:
        self.target = target

    def write(self, text: str) -> int:
        notes = getattr(_reading, "notes", None)
        if notes is None:
            return self.target.write(text)
        notes.append(text)
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self.target, name)


_reading = threading.local()
_swap_lock = threading.Lock()
_swap: dict = {"users": 0, "stderr": None}  # the _ThreadStderr in place while any thread reads


@contextmanager
def _stderr_kept(notes: deque[str]) -> Iterator[None]:
    """Keep what this thread writes to sys.stderr in `notes` (never across a yield: the caller's writes
    are its own)."""
    with _swap_lock:
        if _swap["users"] == 0:
            _swap["stderr"] = sys.stderr = _ThreadStderr(sys.stderr)
        _swap["users"] += 1
    _reading.notes = notes
    try:
        yield
    finally:
        _reading.notes = None
        with _swap_lock:
            _swap["users"] -= 1
            if _swap["users"] == 0 and sys.stderr is _swap["stderr"]:
                sys.stderr = _swap["stderr"].target


def _consider(record, filters: WarcFilter, max_bytes: int, archive_uri: str) -> tuple[RawDocument | None, str]:
    """The record's document, or None and why it does not become one."""
    head = _http_head(record) if record.rec_type == "response" else b""
    reason = _skip_reason(record, filters, head)
    if reason is not None:
        _drain(record)
        return None, reason
    if cut := record.rec_headers.get_header("WARC-Truncated"):  # the crawler kept only part of the page
        _drain(record)
        return _unread(record, "truncated", f"the crawler cut this response short (WARC-Truncated: "
                                            f"{_quote(cut, 40)}): not the whole page"), ""
    try:
        body = _read_payload(record, max_bytes, head)
    except BrokenBody as exc:
        _drain(record)
        return _unread(record, "broken-body", str(exc)), ""
    if body is None:
        return _unread(record, "too-large", f"page over the size limit ({max_bytes:,} bytes); {DOCUMENT_CAP_HINT}"), ""
    if filters.language and _declared_language(_lower(record), body) not in (None, filters.language):
        return None, "declared language is not the source's"
    return _document(record, body, archive_uri), ""


def _lower(record) -> dict[str, str]:
    return {k.lower(): v for k, v in record.http_headers.headers} if record.http_headers is not None else {}


def _unread(record, kind: str, error: str) -> RawDocument:
    """The error document of a page not read: identified by `kind` and its URL, so a rerun finds it."""
    uri = record.rec_headers.get_header("WARC-Target-URI")
    return RawDocument(uri, "html", None, sha256_hex(f"{kind}\0{uri}"), 0, {"url": uri}, error=error)


# What an error of the archive library means for the user, when its own words do not say it.
_HINTS = (
    ("warcio recompress", "the file is one gzip stream, not one gzip member per record: "
                          "`warcio recompress FILE FIXED.warc.gz` rewrites it so that it can be read"),
)
_NOT_PRINTABLE = re.compile(r"(?:\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|[^\x20-\x7e])+")
_QUOTE_CHARS = 120


def _quote(text: str, limit: int = _QUOTE_CHARS) -> str:
    """`text` as a short printable excerpt for a message: one line, its first sentence, cut at a word
    boundary with an ellipsis when longer than `limit` characters. A run of non-printable characters (or
    their escapes, as in a repr of file bytes) shows as `?`; a text that is mostly such runs (the bytes
    of a binary file) is cut before the first of them."""
    text = " ".join(text.split())
    garbled = sum(len(m.group()) for m in _NOT_PRINTABLE.finditer(text))
    if garbled * 8 > len(text):
        head = _NOT_PRINTABLE.split(text, 1)[0]
        return _cut(head[:head.rfind(" ")] if " " in head else head, limit) + " \u2026 (binary data)"
    text = _NOT_PRINTABLE.sub("?", text)
    end = text.find(". ")
    return _cut(text[:end + 1] if 0 < end < limit else text, limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit].rstrip(" ,;:([{") + "\u2026"


def _corrupt(archive_uri: str, place: _Place, exc: Exception) -> RawDocument:
    where = f"at byte {place.start:,}" if place.exact else f"number {place.records + 1:,}"
    uri = f"{archive_uri}#offset={place.start}" if place.exact else f"{archive_uri}#record={place.records + 1}"
    if isinstance(exc, TruncatedFile):
        error = (f"web archive truncated at byte {place.size:,}: the file ends inside the record {where}; "
                 f"{_read_before(place.records, cut=True)}: re-download or copy the file again and ingest it "
                 "(what was read is not added twice)")
    else:
        what = f"{type(exc).__name__}: {_quote(str(exc))}" if str(exc).strip() else type(exc).__name__
        if place.notes and place.notes[-1].strip():
            what += f"; warcio: {_quote(place.notes[-1])}"
        hint = next((h for key, h in _HINTS if key in str(exc)), "repair or re-download the file and ingest it again")
        error = f"web archive corrupt in the record {where} ({what}); {_read_before(place.records)}: {hint}"
    return RawDocument(uri, "warc", None, sha256_hex(f"corrupt\0{uri}\0{error}"), 0, error=error)


def _read_before(records: int, cut: bool = False) -> str:
    if records == 0:
        return "nothing of the file was read"
    before = "the record before it was read" if records == 1 else f"the {records:,} records before it were read"
    return before if cut else before + ", the rest of the file was not"
