"""The records that move between stages. Plain dataclasses: picklable for process pools and Dask."""

from __future__ import annotations

import errno
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# How raw documents were stored in the warehouse before migration 009 moved them to the archive
# (documents.raw_codec): zstd. Read back by migration 009 and by reclean on unmigrated read-only copies.
RAW_CODEC = "zstd"


def unpack_raw(stored: bytes | None, codec: str | None) -> bytes | None:
    """The bytes as received, from documents.raw and documents.raw_codec."""
    if stored is None or codec is None:
        return stored
    if codec != RAW_CODEC:
        raise ValueError(f"unknown raw_codec {codec!r}; this newsflow reads null or {RAW_CODEC!r}")
    import zstandard

    return zstandard.ZstdDecompressor().decompress(stored)


class Flush:
    """A marker in a stream of documents: send the batch gathered so far on (tasks.pipeline.batches)."""

    def __repr__(self) -> str:
        return "FLUSH"


FLUSH = Flush()


def document_id_for(source_uri: str, raw_sha256: str) -> str:
    """One raw input version: the same bytes at the same place always get the same id."""
    return sha256_hex(f"{source_uri}\0{raw_sha256}")[:32]


def article_id_for(identity: str) -> str:
    """Stable across runs: derived from the article's URL, or its source location when it has none."""
    return sha256_hex(identity.strip())[:32]


@dataclass(slots=True)
class RawDocument:
    """One document as received, before any cleaning.

    `media_type` is "text", "html" or "record" (a JSON object with url/title/text|html/...).
    `error` is set when the input could not even be read as a document (binary, bad JSON line, too
    large); such documents go straight to quarantine with that reason.
    """

    source_uri: str
    media_type: str
    raw: bytes | None
    raw_sha256: str
    size_bytes: int
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    mtime_ns: int | None = None  # of the .txt/.html file it was read from (documents.source_mtime_ns)
    # A page received over HTTP (fetched, or read from a web archive): its response headers as received,
    # when it was received (ISO 8601), and the request headers newsflow sent (fetched pages only). The
    # raw store (tasks/archive.py) writes them into the page's WARC records.
    headers: list[tuple[str, str]] | None = None
    fetched_at: str | None = None
    request_headers: dict[str, str] | None = None
    stored: bool = False  # read back from the raw store (reclean): not archived again
    # A capture read from a web archive: read again, an earlier capture never replaces a later one.
    captured: bool = False
    # The bytes of the file as stored that this document accounts for, where that is not `size_bytes`:
    # a compressed file, a file of several records, a web archive (with the records passed over before
    # it). A run's progress is measured in them.
    input_bytes: int | None = None

    @property
    def document_id(self) -> str:
        return document_id_for(self.source_uri, self.raw_sha256)

    @property
    def captured_at(self) -> datetime | None:
        """When a web archive's capture was made (its WARC-Date); None for other documents, or without one."""
        text = self.fields.get("fetched_at") if self.captured else None
        try:
            when = datetime.fromisoformat(str(text)) if text else None
        except ValueError:
            return None
        return when if when is None or when.tzinfo is not None else when.replace(tzinfo=timezone.utc)

    @property
    def progress_bytes(self) -> int:
        """What the document counts for in a run's progress (`input_bytes`, else `size_bytes`)."""
        return self.size_bytes if self.input_bytes is None else self.input_bytes


@dataclass(slots=True)
class RemovedSegment:
    position: int  # index of the line/paragraph in the extracted text, before removal
    text: str
    rule: str


@dataclass(slots=True)
class Article:
    """A cleaned article ready for validation and loading."""

    article_id: str
    document_id: str
    source_uri: str
    url: str | None
    title: str | None
    body: str
    published_at: str | None = None  # ISO 8601; validated and typed at load time
    author: str | None = None
    language: str | None = None
    sitename: str | None = None
    section: str | None = None
    canonical_url: str | None = None
    flags: list[str] = field(default_factory=list)  # e.g. "title_missing"
    removed: list[RemovedSegment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Which extraction produced the body ("trafilatura", "trafilatura-fast", either with "+resiliparse" when
    # lines of resiliparse's text were taken back into it, "text", "record") and how sure the cleaner is
    # that it is the main text (0-1).
    extraction: str | None = None
    extraction_confidence: float | None = None
    # tasks.enrich.Analysis: entities, citations, story signature, leak check; set by the worker that
    # cleaned the article, computed by the writer when missing.
    analysis: Any = None

    @property
    def word_count(self) -> int:
        return len(self.body.split())

    @property
    def content_hash(self) -> str:
        return sha256_hex(f"{self.title or ''}\n{self.body}")[:32]


@dataclass(slots=True)
class Rejected:
    """A document that cannot become an article, with the reasons. Goes to the quarantine table."""

    document_id: str
    source_uri: str
    stage: str  # read | extract | validate | fetch
    reasons: list[str]
    # When the document would pass: set where its only fault is a date still in the future, and the
    # first ingest run after that instant cleans it again (`tasks.reclean.due_documents`).
    retry_at: datetime | None = None


# Errors of the machine, not of a document: a full disk (also the temporary folder), a read-only
# file system, no file descriptors left. While one lasts every document would fail alike, so it fails
# the batch, and so the run, instead of quarantining each document as unreadable.
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE, errno.ENFILE})


def machine_fault(exc: BaseException) -> bool:
    """Whether `exc` is the machine's fault (MACHINE_ERRNOS), not the document's."""
    return isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS


class MachineFault(RuntimeError):
    """Cleaning cannot work on this machine now (MACHINE_ERRNOS): the batch fails, its documents wait."""


@dataclass(slots=True)
class CleanedBatch:
    """What a worker sends back for one batch: per document, in order, the result and the seconds it
    took, and the document's WARC record(s) compressed for the raw store (`tasks.archive.pack_record`:
    a PackedRecord or None), so the writer neither compresses nor holds on to anything but what it
    appends."""

    results: list[tuple[Article | Rejected, float]]
    packed: list[Any]


class Sealed(Generic[T]):
    """A task parameter that Prefect passes on without walking it.

    Prefect visits every item of list and dataclass parameters looking for futures, which for a batch
    of documents costs the submitting process more than the rest of its work on the batch. Prefect's
    own `quote()` avoids that locally but is a tuple, and Dask's serialization turns it into a plain
    one; this plain object survives both.
    """

    __slots__ = ("value",)

    def __init__(self, value: T):
        self.value = value

    def __repr__(self) -> str:
        return f"Sealed({type(self.value).__name__})"
