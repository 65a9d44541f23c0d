"""Web archives as a source: the HTML responses in WARC (and ARC) files become documents.

Records are streamed with warcio (its `ArchiveIterator` reads WARC 1.0/1.1 and ARC, gzipped per
record or not, and decodes chunked and gzip/deflate/brotli HTTP bodies), one at a time, so memory stays
flat however large the file. Only `response` records of HTTP 200 with an HTML content type become
documents; every other record (warcinfo, request, metadata, revisit, resource, non-HTML, non-200, and
those a source's filters leave out) is counted by reason in the run summary, not quarantined one by
one. A truncated or corrupt record ends the reading of its file with one quarantine row; the records
read before it are kept. Why warcio rather than FastWARC: bench/warc_bench.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from tasks.models import RawDocument, sha256_hex

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# How much of a page the language filter looks at for <html lang="..">.
_LANG_PROBE_BYTES = 4096
_HTML_LANG = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)


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

    def expected(self, total_bytes: int, documents: int) -> int:
        """The documents the archives will yield in all, estimated from those so far and the share read."""
        if self.read_bytes <= 0:
            return max(documents, 1)
        return max(documents, round(documents * total_bytes / self.read_bytes))


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


def _skip_reason(record, filters: WarcFilter) -> str | None:
    """Why a record does not become a document (before its body is read), or None."""
    kind = record.rec_type
    if kind != "response":
        return f"{kind} record"
    if record.http_headers is None:
        return "response without HTTP headers"
    status = record.http_headers.get_statuscode()
    if status != "200":
        return f"HTTP status {status or 'missing'}"
    ctype = (record.http_headers.get_header("content-type") or "").split(";")[0].strip().lower()
    if ctype not in HTML_TYPES:
        return "not HTML"
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    if not urlsplit(uri).scheme.startswith("http"):
        return "target URI is not http(s)"
    if not _domain_allowed(uri, filters.allowed_domains):
        return "domain not allowed by the source"
    if filters.since or filters.until:
        when = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        if when is None or (filters.since and when < filters.since) or (filters.until and when >= filters.until):
            return "outside the source's date range"
    return None


class TruncatedRecord(ValueError):
    """A record ends before its declared length."""


def _read_payload(record, max_bytes: int) -> bytes | None:
    """The HTTP body, decoded (chunked, gzip, ...), or None when it is over `max_bytes`.

    Raises:
        TruncatedRecord: the record's data ends before its Content-Length.
    """
    stream = record.content_stream()
    parts, size = [], 0
    while chunk := stream.read(1 << 16):
        size += len(chunk)
        if size > max_bytes:
            parts = None
            break
        parts.append(chunk)
    _drain(record)
    return None if parts is None else b"".join(parts)


def _drain(record) -> None:
    """Read what is left of a record; raise TruncatedRecord when the file ends inside it."""
    raw = record.raw_stream
    while raw.read(1 << 16):
        pass
    missing = getattr(raw, "limit", 0)
    if missing > 0:
        raise TruncatedRecord(f"the record ends {missing:,} bytes short of its Content-Length")


def _document(record, body: bytes, archive_uri: str) -> RawDocument:
    uri = record.rec_headers.get_header("WARC-Target-URI")
    when = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
    fetched_at = when.isoformat() if when else None
    headers = [(k, v) for k, v in record.http_headers.headers]
    ctype = (record.http_headers.get_header("content-type") or "").split(";")[0].strip().lower()
    fields = {"url": uri, "http_status": 200, "content_type": ctype, "fetched_at": fetched_at,
              "warc_file": archive_uri,
              "warc_record_id": record.rec_headers.get_header("WARC-Record-ID")}
    return RawDocument(uri, "html", body, sha256_hex(body), len(body), {k: v for k, v in fields.items() if v},
                       headers=headers, fetched_at=fetched_at)


def read_warc(path: Path, max_bytes: int, reading: WarcReading | None = None) -> Iterator[RawDocument]:
    """Yield a document per HTML 200 response in a WARC/ARC file, streaming; count the rest in
    `reading.counts` (filtered by `reading.filters`).

    A page over `max_bytes` is a quarantined document (as a file over the limit is). A truncated or
    corrupt record ends the file with one quarantined document naming the byte offset; what came
    before it is kept.
    """
    from warcio.archiveiterator import ArchiveIterator

    reading = WarcReading() if reading is None else reading
    counts, filters, base = reading.counts, reading.filters, reading.read_bytes
    archive_uri = path.resolve().as_uri()
    with path.open("rb") as fh:
        # ARC headers read as WARC ones; WARC files strictly (mixed reading would take garbage for ARC records)
        records = ArchiveIterator(fh, arc2warc=path.name.lower().endswith((".arc", ".arc.gz")))
        offset = 0
        try:
            for record in records:
                offset = records.offset
                _add(counts, "records")
                reason = _skip_reason(record, filters)
                if reason is None:
                    body = _read_payload(record, max_bytes)
                    records.read_to_end(record)  # its end offset: the estimate of the file's pages
                    reading.read_bytes = base + records.offset  # (WarcReading.expected) counts its bytes
                    if body is None:
                        _add(counts, "documents")
                        yield _too_large(record, max_bytes)
                        continue
                    if filters.language and _declared_language(_lower(record), body) not in (None, filters.language):
                        reason = "declared language is not the source's"
                    else:
                        _add(counts, "documents")
                        yield _document(record, body, archive_uri)
                        continue
                else:
                    _drain(record)
                _add(counts, f"skipped: {reason}")
        except Exception as exc:  # noqa: BLE001 - the file's failure boundary: keep what was read
            _add(counts, "corrupt files")
            yield _corrupt(archive_uri, records.offset or offset, exc)
    reading.read_bytes = base + path.stat().st_size


def _lower(record) -> dict[str, str]:
    return {k.lower(): v for k, v in record.http_headers.headers}


def _too_large(record, max_bytes: int) -> RawDocument:
    uri = record.rec_headers.get_header("WARC-Target-URI")
    return RawDocument(uri, "html", None, sha256_hex(f"too-large\0{uri}"), 0, {"url": uri},
                       error=f"page over the size limit ({max_bytes:,} bytes); raise NEWSFLOW_MAX_DOCUMENT_BYTES "
                             "to accept it")


def _corrupt(archive_uri: str, offset: int, exc: Exception) -> RawDocument:
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    uri = f"{archive_uri}#offset={offset}"
    return RawDocument(uri, "warc", None, sha256_hex(f"corrupt\0{uri}\0{text}"), 0,
                       error=f"web archive truncated or corrupt in the record at byte {offset:,} "
                             f"({type(exc).__name__}: {text}); the records before it were read, the rest of "
                             "the file was not: repair or re-download the file and ingest it again")
