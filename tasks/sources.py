"""Discover and read local documents: files, folders (recursive) and globs of .txt/.html/.json/.jsonl,
each also gzip-compressed (`page.html.gz`), and of web archives (.warc, .warc.gz, .arc, .arc.gz:
tasks/warc.py)."""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import io
import json
import math
import os
import re
import stat
import sys
import time
import zlib
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from newsflow.settings import (DOCUMENT_CAP_HINT, MAX_DOCUMENT_BYTES, META_MAX_CHARS, SUPPORTED_SUFFIXES,
                               URL_MAX_CHARS, shown)
from tasks.models import RawDocument, sha256_hex
from tasks.warc import WarcReading, estimate_total, is_web_archive, read_warc


class SourceError(ValueError):
    """A SOURCE argument that names nothing readable; the message says what to do."""


@dataclass(slots=True, frozen=True)
class StoredFile:
    """A .txt/.html file whose size and modification time match a stored document: not read again."""

    source_uri: str
    size_bytes: int

    @property
    def progress_bytes(self) -> int:
        return self.size_bytes


# A file's time is recorded only when it had not been modified for this long when it was read: a file
# rewritten right after being read, within the file system's timestamp granularity and at the same
# size, would otherwise look unchanged. Such files are read and hashed on every run, as before.
SETTLED_NS = 2_000_000_000

# A JSON Lines line over the size limit is passed over in pieces of this size, never held whole.
SKIP_CHUNK_BYTES = 1 << 20
# A JSON Lines file read to its end takes its stale line faults out of quarantine (`RecordReading.whole`)
# when it has at most this many lines that could not be read: their ids are held until the run's end.
MAX_TRACKED_FAULTS = 100_000


@dataclass(slots=True)
class RecordReading:
    """How far a run has read its JSON and JSON Lines files, whose number of records shows only while
    they are read: their bytes read so far and the documents they gave. `whole`: the JSON Lines files
    read to their end (file URI -> their lines, and the document ids of the lines that could not be read)."""

    read_bytes: int = 0
    documents: int = 0
    whole: dict[str, tuple[int, set[str]]] = field(default_factory=dict)

    def expected(self, total_bytes: int) -> int:
        """The documents these files will give in all, estimated from those so far and the share read."""
        return estimate_total(self.documents, self.read_bytes, total_bytes)


Skipped = list[tuple[str, str]]  # (path, reason) of what discover passed over on purpose

READABLE = ".txt, .html, .htm, .json or .jsonl (each also gzip-compressed: .html.gz) or a web archive"


def holds_records(name: str | os.PathLike) -> bool:
    """Whether the file holds any number of records (.json, .jsonl, also compressed)."""
    return file_kind(name)[0] in ("json", "jsonl")


def file_kind(name: str | os.PathLike) -> tuple[str | None, bool]:
    """What a file holds by its name: its kind in SUPPORTED_SUFFIXES (None: not a document file), and
    whether it is gzip-compressed (`page.html.gz`, `records.jsonl.gz`). Web archives are told apart by
    `is_web_archive`."""
    root, ext = os.path.splitext(os.fspath(name).lower())
    compressed = ext == ".gz"
    if compressed:
        ext = os.path.splitext(root)[1]
    return SUPPORTED_SUFFIXES.get(ext), compressed


def _suffixes(name: str) -> str:
    """The name's file type as a user would write it: '.csv', '.csv.gz', or '(none)'."""
    root, ext = os.path.splitext(name.lower())
    if ext == ".gz" and os.path.splitext(root)[1]:
        ext = os.path.splitext(root)[1] + ext
    return ext or "(none)"


def discover(sources: Iterable[str | Path], skipped: Skipped | None = None, unmatched_ok: bool = False) -> list[Path]:
    """Expand files, folders (recursively) and globs into a sorted, de-duplicated list of files. A
    source that names an existing file or folder is that path, even with glob characters in its name
    (`news[2026].txt`).

    What cannot be read as a file (a FIFO or device, a symlink loop, a folder that cannot be listed)
    is left out and, when `skipped` is given, appended to it with the reason; so is a glob that matches
    nothing when `unmatched_ok` (a configured source's drop folder, empty until files arrive).

    Raises:
        SourceError: a source names nothing at all.
    """
    skipped = [] if skipped is None else skipped
    found: dict[Path, None] = {}
    for source in sources:
        text = str(source)
        if not text.strip():  # Path("") is the current folder: never read it unasked
            raise SourceError("an empty SOURCE names nothing (an unset shell variable?)")
        if any(ch in text for ch in "*?[") and not os.path.lexists(Path(text).expanduser()):
            matches = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
            if not matches and unmatched_ok:
                skipped.append((shown(text), "the pattern matches no file (yet)"))
                continue
            if not matches:
                raise SourceError(f"{shown(text)}: the pattern matches no file")
            candidates = matches
        else:
            path = Path(text).expanduser()
            if not os.path.lexists(path):
                raise SourceError(f"{shown(text)}: no such file or folder")
            candidates = [path]
        for path in candidates:
            try:
                mode = path.stat().st_mode
            except OSError as exc:  # a symlink loop or a dangling link
                skipped.append((shown(path), f"cannot be opened: {exc.strerror}"))
                continue
            if stat.S_ISDIR(mode):
                other: Counter[str] = Counter()
                for child in _files_under(path, skipped, other):
                    found[child] = None
                if other:
                    common = sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
                    kinds = ", ".join(f"{shown(ext)} {n:,}" for ext, n in common)
                    more = f" and {len(other) - 5} more types" if len(other) > 5 else ""
                    skipped.append((shown(path), f"{other.total():,} file(s) of other types passed over "
                                                 f"({kinds}{more}); newsflow reads {READABLE}"))
            elif stat.S_ISREG(mode):
                found[path.resolve()] = None
            else:
                skipped.append((shown(path), f"not a regular file ({_file_kind(mode)})"))
    return list(found)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a file"


def _files_under(folder: Path, skipped: Skipped, other: Counter[str]) -> list[Path]:
    """The supported files under `folder`, resolved, in the order `sorted(folder.rglob("*"))` lists them
    (symlinked folders are not entered but listed in `skipped`; symlinked files are followed within
    `folder`, and listed in `skipped` where they lead out of it: whoever may drop a link into a watched
    folder must not pull in any file newsflow may read); `other` counts the rest by type.

    One `scandir` per folder: the entry types come with the listing, so only symlinks are resolved
    and nothing is stat'ed; listing is on every run's critical path, reruns included.
    """
    found: list[tuple[tuple[str, ...], Path]] = []
    root = folder.resolve()
    pending = [(root, ())]
    while pending:
        real, rel = pending.pop()
        try:
            with os.scandir(real) as it:
                entries = list(it)
        except OSError as exc:  # unreadable or vanished: nothing to list there
            skipped.append((shown(real), f"folder cannot be listed: {exc.strerror}"))
            continue
        for entry in entries:
            parts = (*rel, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((real / entry.name, parts))
                elif entry.is_dir():  # a symlink to a folder: not entered (links may loop or repeat)
                    skipped.append((shown(entry.path), "a symlink to a folder is not followed; give it as a "
                                                       "SOURCE of its own to read it"))
                elif file_kind(entry.name)[0] is None and not is_web_archive(entry.name):
                    other[_suffixes(entry.name)] += 1
                else:
                    if entry.is_file():  # follows a symlink, as Path.is_file does
                        target = real / entry.name
                        if entry.is_symlink() and not (target := target.resolve()).is_relative_to(root):
                            skipped.append((shown(entry.path), f"a symlink to a file outside the folder "
                                            f"({shown(target)}) is not followed; give it as a SOURCE of its own "
                                            "to read it"))
                            continue
                        found.append((parts, target))
                    else:
                        reason = _file_kind(os.stat(entry.path).st_mode)
                        skipped.append((shown(entry.path), f"not a regular file ({reason})"))
            except OSError as exc:  # a symlink loop, a dangling link, a vanished entry
                skipped.append((shown(entry.path), f"cannot be opened: {exc.strerror}"))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def _hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _is_stored(uri: str, kind: str | None, st: os.stat_result, stored: Container[tuple[str, int, int]]) -> bool:
    return kind in ("text", "html") and (uri, st.st_size, st.st_mtime_ns) in stored


def _plain_kind(path: Path) -> str | None:
    """The file's kind when it may be recognised as stored by size and time: an uncompressed .txt/.html
    (a compressed file's stored size is its content's, so it is read and compared by hash instead)."""
    kind, compressed = file_kind(path.name)
    return None if compressed else kind


def needs_reading(path: Path, stored: Container[tuple[str, int, int]]) -> bool:
    """Whether `read_all` would read this file of `discover`'s, i.e. it is not a .txt/.html file that
    `stored` holds as it is now (a JSON or compressed file is always read: its content is checked)."""
    try:
        return not _is_stored(path.as_uri(), _plain_kind(path), path.stat(), stored)
    except OSError:
        return True


def read_path(path: Path, max_bytes: int = MAX_DOCUMENT_BYTES, stored: Container[tuple[str, int, int]] = (),
              resolved: bool = False, warc: WarcReading | None = None,
              records: RecordReading | None = None) -> Iterator[RawDocument | StoredFile]:
    """Yield the documents in one file: one for .txt/.html, one per record for .json/.jsonl (each also
    gzip-compressed), one per HTML response of a web archive (streamed; `warc` filters and counts its
    records). `max_bytes` bounds each document: a whole .txt/.html/.json file (decompressed), each line
    of a .jsonl file (read a line at a time, so a file of any size is read in bounded memory), each
    archive record. `records` counts what the .json/.jsonl files gave.

    A .json file over `max_bytes` whose top level is an array is read an item at a time, each item
    bounded by `max_bytes` (`_json_array_file`).

    A .txt/.html file whose (uri, size, mtime_ns) is in `stored` yields a StoredFile instead, unread.
    Never raises on bad content: unreadable input becomes a RawDocument with `error` set. `resolved`
    says the path is already resolved (as `discover` returns them), which saves a lookup per folder.
    """
    if is_web_archive(path):
        yield from read_warc(path, max_bytes, warc)
        return
    uri = (path if resolved else path.resolve()).as_uri()
    kind, compressed = file_kind(path.name)
    if kind == "jsonl":
        yield from _jsonl_file(path, uri, compressed, max_bytes, records or RecordReading())
        return
    docs, file_bytes = _read_file(path, uri, kind, compressed, max_bytes, stored, records)
    if docs is None:  # a .json file over the limit: an item at a time when it is one array
        yield from _json_array_file(path, uri, compressed, max_bytes, records or RecordReading())
        return
    if compressed or len(docs) > 1:  # progress counts the file's bytes as stored, shared by its records
        for i, doc in enumerate(docs):  # (RawDocuments: a StoredFile is one plain file)
            doc.input_bytes = file_bytes // len(docs) + (file_bytes % len(docs) if i == 0 else 0)
    yield from docs


def _read_file(path: Path, uri: str, kind: str | None, compressed: bool, max_bytes: int,
               stored: Container[tuple[str, int, int]],
               records: RecordReading | None) -> tuple[list[RawDocument | StoredFile] | None, int]:
    """read_path for a file read whole (.txt, .html, .json, also compressed, or of an unknown kind): its
    documents, and its size as stored; None for a .json file over `max_bytes`, which is streamed."""
    mtime_ns = None
    try:
        st = path.stat()
        if not compressed and _is_stored(uri, kind, st, stored):
            return [StoredFile(uri, st.st_size)], st.st_size
        if kind in ("text", "html") and not compressed:
            if time.time_ns() - st.st_mtime_ns >= SETTLED_NS:
                mtime_ns = st.st_mtime_ns
        if kind == "json" and st.st_size > max_bytes:
            return None, st.st_size
        if kind is not None and st.st_size <= max_bytes:
            raw = path.read_bytes()  # read once, hashed in memory
            digest, size = sha256_hex(raw), len(raw)
        else:
            raw, (digest, size) = None, _hash_file(path)  # never held in memory whole
    except OSError as exc:
        return [RawDocument(uri, "unknown", None, sha256_hex(uri), 0, error=f"cannot read file: {exc.strerror}")], 0
    if kind is None:
        return [RawDocument(uri, "unknown", None, digest, size,
                            error=f"unsupported file type '{_suffixes(path.name)}'; use {READABLE}")], st.st_size
    if compressed and raw is not None:
        raw, error = _gunzip(raw, max_bytes)
        if raw is not None and len(raw) > max_bytes:
            if kind == "json":
                return None, st.st_size
            raw, error = None, _too_large_gzip(max_bytes)
        if raw is None:
            return [RawDocument(uri, kind, None, digest, size, error=error)], st.st_size
        digest, size = sha256_hex(raw), len(raw)  # the content's, as for the same file uncompressed
    if raw is None or size > max_bytes:  # (it may have grown between stat and read)
        return [_too_large(uri, kind, digest, size, max_bytes)], st.st_size
    if not raw.removeprefix(codecs.BOM_UTF8).strip():  # (an editor saves an empty UTF-8 file as its mark)
        return [RawDocument(uri, kind, raw, digest, size, error="empty file")], st.st_size
    if kind in ("text", "html"):
        return [RawDocument(uri, kind, raw, digest, size, mtime_ns=mtime_ns)], st.st_size
    docs = list(_json_records(uri, raw))
    if records is not None:
        records.documents += len(docs)
        records.read_bytes += st.st_size
    return docs, st.st_size


def read_stream(stream: IO[bytes], max_bytes: int = MAX_DOCUMENT_BYTES, url: str | None = None) -> RawDocument:
    """One document from a stream (`newsflow extract -` reads standard input), gzip-compressed or not:
    HTML when its first character other than white space is '<', else text. `url`, when given, is the
    page's address (its source_uri, and what relative links and the URL's date are read against)."""
    uri = url or "stdin"
    raw = stream.read(max_bytes + 1)
    digest, size, error = sha256_hex(raw), len(raw), None
    if raw[:2] == b"\x1f\x8b":
        raw, error = _gunzip(raw, max_bytes)
        if raw is not None:  # the content's, as for a compressed file (`_read_file`)
            digest, size = sha256_hex(raw), len(raw)
    head = (raw or b"").removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    kind = "html" if head == b"<" else "text"
    if raw is not None and len(raw) > max_bytes:
        error = f"input too large (over the limit of {max_bytes:,} bytes); {DOCUMENT_CAP_HINT}"
    elif raw is not None and not head:
        error = "empty input"
    fields = {"url": url} if url else {}
    return RawDocument(uri, kind, None if error else raw, digest, size, fields=fields, error=error)


def _gunzip(data: bytes, max_bytes: int) -> tuple[bytes | None, str | None]:
    """(the decompressed content of every gzip member, None), or (None, why not). Never more than
    `max_bytes` + 1 bytes are inflated, so a small file that unpacks to gigabytes costs nothing: more
    than `max_bytes` returned means the content is over the limit."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        return None, f"not a readable gzip file: {_one_line(exc)}{_gzip_hint(exc, data[:8])}"
    return out, None


def _gzip_hint(exc: BaseException, head: bytes) -> str:
    """What a gzip error means for the file (`head`: its first bytes) and what to do, after Python's words."""
    if isinstance(exc, EOFError):
        return "; the file is cut short: copy or download it again"
    if not (isinstance(exc, gzip.BadGzipFile) and str(exc).startswith("Not a gzipped file")):
        return "; the compressed data is damaged"
    if head[:2] == b"\x1f\x8b":  # a whole gzip member, then bytes that start none
        return "; bytes that are not gzip follow the compressed data (the file was appended to or damaged)"
    return "; the file is not gzip-compressed: if it is plain text, remove .gz from its name"


def _gzip_hint_of(path: Path, exc: BaseException) -> str:
    try:
        with path.open("rb") as fh:
            return _gzip_hint(exc, fh.read(8))
    except OSError:
        return ""


def _too_large_gzip(max_bytes: int) -> str:
    return f"file too large once decompressed (over the limit of {max_bytes:,} bytes); {DOCUMENT_CAP_HINT}"


def _too_large(uri: str, kind: str | None, digest: str, size: int, max_bytes: int) -> RawDocument:
    return RawDocument(uri, kind or "unknown", None, digest, size,
                       error=f"file too large ({size:,} bytes > limit {max_bytes:,}); {DOCUMENT_CAP_HINT}")


# The fields newsflow reads from a record; all must be strings (or null), but `published_at` may also be
# a number (epoch seconds or milliseconds, as exports write it). Other fields are kept as they are.
RECORD_TEXT_FIELDS = ("url", "title", "text", "html", "published_at", "author")
RECORD_MAX_CHARS = (("url", URL_MAX_CHARS), ("author", META_MAX_CHARS))


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _bad_record(uri: str, raw: bytes, error: str) -> RawDocument:
    """A record that cannot be read, identified by its bytes, with the reason."""
    return RawDocument(uri, "record", raw, sha256_hex(raw), len(raw), error=error)


def _record(uri: str, obj: object, raw: bytes) -> RawDocument:
    if not isinstance(obj, dict):
        return _bad_record(uri, raw, f"JSON value is a {type(obj).__name__}, not an object with url/title/text")
    if _nested_too_deep(obj):
        return _bad_record(uri, raw, f"JSON record {TOO_DEEP}")
    wrong = [f"'{k}' is {_json_type(obj[k])}" for k in RECORD_TEXT_FIELDS
             if obj.get(k) is not None and not isinstance(obj[k], str)
             and not (k == "published_at" and type(obj[k]) in (int, float))]
    if wrong:
        return _bad_record(uri, raw, f"JSON record field {', '.join(wrong)}; these fields must be strings")
    long = [f"'{k}' has {len(obj[k]):,} characters (at most {most:,})" for k, most in RECORD_MAX_CHARS
            if len(obj.get(k) or "") > most]
    if long:
        return _bad_record(uri, raw, f"JSON record field {', '.join(long)}: check the export's field mapping")
    try:
        data = json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - e.g. a lone surrogate such as "\ud800", deep nesting
        return _bad_record(uri, raw, f"JSON record cannot be stored as UTF-8 text: {type(exc).__name__}: {exc}"[:300])
    return RawDocument(uri, "record", data, sha256_hex(data), len(data))


def _jsonl_file(path: Path, uri: str, compressed: bool, max_bytes: int,
                reading: RecordReading) -> Iterator[RawDocument]:
    """The records of a JSON Lines file, a line at a time (lines end at \\n; a \\r before it is
    dropped): a line over `max_bytes` is passed over in pieces and quarantined, a gzip stream that
    breaks ends the file with an error document after the lines read before it. A file that cannot be
    read at all, or holds no record, is one error document identified as a file read whole is."""
    base, n, seen = reading.read_bytes, 0, 0
    faults: set[str] | None = set()  # the ids of the lines that could not be read
    position = counted = 0  # where the file is read to; how much of it earlier documents count for
    blank, blank_bytes = hashlib.sha256(), 0  # the content while it is only blank lines: an empty file's identity
    try:
        with path.open("rb") as fh:
            stream = _utf8_stream(fh, compressed)
            while line := stream.readline(max_bytes + 1):
                n += 1
                goes_on = len(line) > max_bytes and not line.endswith(b"\n")  # past the limit, not read to its end
                if goes_on or len(line.rstrip(b"\r\n")) > max_bytes:  # (re-encoded UTF-16: whole, yet over it)
                    doc = _long_line(stream, uri, n, line, max_bytes)
                elif line.strip():
                    doc = _jsonl_record(uri, n, line.rstrip(b"\n").rstrip(b"\r"))
                else:
                    if not seen:
                        blank.update(line)
                        blank_bytes += len(line)
                    continue
                seen, position = seen + 1, fh.tell()
                reading.read_bytes, reading.documents = base + position, reading.documents + 1
                doc.input_bytes, counted = position - counted, position
                if doc.error and faults is not None:
                    faults.add(doc.document_id)
                    faults = None if len(faults) > MAX_TRACKED_FAULTS else faults
                yield doc
            reading.read_bytes = base + os.fstat(fh.fileno()).st_size
        if faults is not None:  # (a file of garbage lines is not worth the memory)
            reading.whole[uri] = (n, faults)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:  # gzip.BadGzipFile is an OSError
        reading.documents += 1
        yield _broken_jsonl(path, uri, n if seen else 0, exc)
        return
    if not seen:
        yield RawDocument(uri, "jsonl", None, blank.hexdigest(), blank_bytes, error="empty file")


def _broken_jsonl(path: Path, uri: str, after: int, exc: BaseException) -> RawDocument:
    """The error document of a JSON Lines file whose reading failed after line `after`; 0: before any
    record, when it stands for the whole file and is identified as a file read whole is."""
    content = isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError))  # not the disk
    if isinstance(exc, UnicodeDecodeError):
        what, detail = f"not valid {exc.encoding.upper()} text", exc.reason
    elif content:
        what, detail = "not a readable gzip file", _one_line(exc) + _gzip_hint_of(path, exc)
    else:
        what, detail = "cannot read file", exc.strerror or _one_line(exc)
    if not after:
        if not content:
            return RawDocument(uri, "unknown", None, sha256_hex(uri), 0, error=f"{what}: {detail}")
        digest, size = _hash_file(path)
        return RawDocument(uri, "jsonl", None, digest, size, error=f"{what}: {detail}")
    error = f"{what} after line {after}: {detail}"
    return RawDocument(f"{uri}#L{after + 1}", "jsonl" if content else "unknown", None,
                       sha256_hex(f"{uri}\0{error}"), 0, error=error)


def _wide_encoding(stream) -> str | None:
    """The UTF-16 or UTF-32 encoding of a JSON Lines stream (Windows PowerShell's `>` writes UTF-16),
    else None: by its byte-order mark, or without one by the NULs of a first character that starts
    JSON or a blank line (RFC 4627's way, `json.detect_encoding`). Only peeks: the stream stays at its
    start."""
    start = stream.peek(4)[:4]
    encoding = json.detect_encoding(start)
    if encoding in ("utf-8", "utf-8-sig"):
        return None
    if encoding in ("utf-16", "utf-32"):  # a byte-order mark, which the decoder reads and drops
        return encoding
    try:
        first = start.decode(encoding)[:1]
    except UnicodeDecodeError:
        return None
    return encoding if first and first in "{[ \t\r\n" else None  # not two NULs of binary data


def _utf8_stream(fh, compressed: bool):
    """The file's bytes as the JSON readers take them: decompressed when gzipped, and re-encoded as
    UTF-8 when the text is UTF-16 or UTF-32 (`_wide_encoding`)."""
    stream = gzip.GzipFile(fileobj=fh) if compressed else fh
    wide = _wide_encoding(stream)
    return stream if wide is None else _Utf8Text(stream, wide)


class _Utf8Text:
    """A UTF-16 or UTF-32 stream read as UTF-8 bytes; sizes count characters. Lines end at \n only, as
    in a UTF-8 file (a U+2028 inside a JSON string stays in its line). A lone surrogate passes through,
    so only the record holding it fails (as invalid UTF-8), not the text around it. Where a gzip stream
    breaks, every character before the break is given first, then the error (`_UpToDamage`)."""

    def __init__(self, stream, encoding: str) -> None:
        self.raw = _UpToDamage(stream, 4 if "32" in encoding else 2)
        self.text = io.TextIOWrapper(self.raw, encoding=encoding, errors="surrogatepass", newline="\n")

    def read(self, size: int = -1) -> bytes:
        text = self.text.read(size)
        if not text:
            self.raw.raise_damage()
        return text.encode("utf-8", "surrogatepass")

    def readline(self, size: int = -1) -> bytes:
        line = self.text.readline(size)
        if not line.endswith("\n") and len(line) != size:  # the end of the text: a line the break cut?
            self.raw.raise_damage()
        return line.encode("utf-8", "surrogatepass")


class _UpToDamage(io.RawIOBase):
    """A (gzip) stream of `unit`-byte code units that ends where it breaks, the error kept for
    `raise_damage`. A text decoder reading ahead would otherwise drop the characters it had gathered, up
    to a whole read's worth, when it met the break; only whole code units are passed on, so a break
    inside one does not fail the decoder's end."""

    def __init__(self, stream, unit: int) -> None:
        self._read, self._unit = getattr(stream, "read1", stream.read), unit
        self._odd = b""  # the bytes of a code unit not yet whole
        self.damage: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.damage:
            try:
                piece = self._read(len(buffer) - len(self._odd))
            except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
                self.damage = exc
                break
            data = self._odd + piece
            whole = len(data) - len(data) % self._unit if piece else len(data)  # at the end: what is left
            self._odd = data[whole:]
            if whole or not piece:
                buffer[:whole] = data[:whole]
                return whole
        return 0

    def raise_damage(self) -> None:
        if self.damage:
            raise self.damage


def _long_line(stream, uri: str, n: int, start: bytes, max_bytes: int) -> RawDocument:
    """Line `n`, over the limit: the rest is read in pieces up to its end and dropped."""
    digest, size, piece = hashlib.sha256(start), len(start), start
    while not piece.endswith(b"\n") and (piece := stream.readline(SKIP_CHUNK_BYTES)):
        digest.update(piece)
        size += len(piece)
    size -= len(piece) - len(piece.rstrip(b"\r\n"))  # the line's own bytes, without its end
    return RawDocument(f"{uri}#L{n}", "record", None, digest.hexdigest(), size,
                       error=f"line {n} too large ({size:,} bytes > limit {max_bytes:,}); {DOCUMENT_CAP_HINT}")


def _jsonl_record(uri: str, n: int, line: bytes) -> RawDocument:
    line_uri = f"{uri}#L{n}"
    try:
        obj = loads_strict(line)
    except RecursionError:  # [[[[... past what json.loads reads: past MAX_JSON_DEPTH too
        return _bad_record(line_uri, line, f"JSON record {TOO_DEEP}")
    except Exception as exc:  # noqa: BLE001 - bad JSON, 5,000-digit numbers
        return _bad_record(line_uri, line, f"line {n} is not valid JSON: {_one_line(exc)}")
    return _record(line_uri, obj, line)


def _json_records(uri: str, raw: bytes) -> Iterator[RawDocument]:
    try:
        obj = loads_strict(raw)
    except RecursionError:  # one item nested past what json.loads reads: the others are read one by one
        yield from _json_items_of(uri, raw)
        return
    except Exception as exc:  # noqa: BLE001 - as in _jsonl_record
        yield _bad_record(uri, raw, f"not valid JSON: {_one_line(exc)}")
        return
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            try:
                item_raw = json.dumps(item).encode("utf-8")
            except Exception as exc:  # noqa: BLE001
                yield RawDocument(f"{uri}#{i}", "record", raw, sha256_hex(raw), len(raw),
                                  error=f"item {i} cannot be read: {type(exc).__name__}")
                continue
            yield _record(f"{uri}#{i}", item, item_raw)
    else:
        yield _record(uri, obj, raw)


# Nesting within one record (a JSON Lines line, an item of a .json array). Deeper records are quarantined:
# the cleaning processes pickle each record's fields back to the writer, and Python's pickle, like its
# json module, recurses once or twice per level up to a limit of 1,000 frames in all.
MAX_JSON_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH:,} levels"


def _nested_too_deep(obj: object) -> bool:
    """Whether `obj` nests lists and objects deeper than MAX_JSON_DEPTH (`obj` itself is level 1)."""
    todo = [(obj, 1)]  # containers only
    while todo:
        value, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _json_items_of(uri: str, raw: bytes) -> Iterator[RawDocument]:
    """The records of a .json file read whole whose nesting is past what json.loads reads: its items one
    at a time, as a streamed file's (`_json_items`), so one such item does not cost the others. The
    pure-Python event parser: ijson's C one crashes on a number of 4,301+ digits, which json.loads never
    reached here."""
    import ijson

    n = 0
    try:
        events = ijson.get_backend("python").basic_parse(io.BytesIO(raw.removeprefix(codecs.BOM_UTF8)),
                                                         use_float=False)
        if next(events, (None, None))[0] != "start_array":
            yield _bad_record(uri, raw, f"JSON value {TOO_DEEP}")
            return
        for item, why in _json_items(events, len(raw)):
            yield _json_item(f"{uri}#{n}", n, item, why, len(raw))
            n += 1
    except (ijson.JSONError, ValueError, ArithmeticError) as exc:  # as a streamed file's (`_broken_json`)
        yield (_after_items(uri, n, f"not valid JSON after item {n - 1}: {_json_detail(exc)}") if n else
               _bad_record(uri, raw, f"not valid JSON: {_json_detail(exc)}"))


def _json_array_file(path: Path, uri: str, compressed: bool, max_bytes: int,
                     reading: RecordReading) -> Iterator[RawDocument]:
    """The items of a .json file over `max_bytes` whose top level is an array, an item at a time: each
    a record as in a file read whole (`uri#i`). ijson's event parser reads the syntax (its C backend;
    events only, never a path per value, which costs gigabytes on deeply nested input) and the items
    are built here: one over `max_bytes` or nested deeper than MAX_JSON_DEPTH is dropped as it is read
    and quarantined. A file that breaks ends with an error document after the items read before it; a
    file whose top level is not an array stays one document too large to read."""
    import ijson

    base, n, counted = reading.read_bytes, 0, 0  # how much of the file earlier items account for
    try:
        basic_parse = _json_parser(path, compressed)
        with path.open("rb") as fh:
            stream = _utf8_stream(fh, compressed)
            if not isinstance(stream, _Utf8Text):  # (re-encoded text has no byte-order mark left)
                if stream.peek(3)[:3] == codecs.BOM_UTF8:
                    stream.read(3)  # json.loads accepts one too
                if compressed:
                    stream = _Pieces(stream)
            guard = _ValueGuard(stream, max_bytes)
            events = guard.watch(basic_parse(guard, use_float=False))
            if next(events, (None, None))[0] != "start_array":
                reading.documents += 1
                yield _not_an_array(path, uri, compressed, max_bytes)
                return
            for item, why in _json_items(events, max_bytes):
                doc = _json_item(f"{uri}#{n}", n, item, why, max_bytes)
                n, position = n + 1, fh.tell()
                reading.read_bytes, reading.documents = base + position, reading.documents + 1
                doc.input_bytes, counted = position - counted, position
                yield doc
            reading.read_bytes = base + os.fstat(fh.fileno()).st_size
    except _ValueTooLarge:
        reading.documents += 1
        yield _after_items(uri, n, f"item {n} holds one string or number over the limit of {max_bytes:,} "
                                   f"bytes: neither it nor the items after it are read; {DOCUMENT_CAP_HINT}")
    except (ijson.JSONError, ValueError, ArithmeticError, SystemError, OSError, EOFError, zlib.error) as exc:
        # ArithmeticError: decimal's InvalidOperation, for an exponent past 10**18 ("1e999999999999999999");
        # SystemError: how the C parser reports a failure inside it
        reading.documents += 1
        yield _broken_json(path, uri, n, exc, compressed)


class _ValueTooLarge(Exception):
    """A JSON parser read more than the document limit without an event: one value too large to build."""


class _ValueGuard:
    """The stream a JSON event parser reads, stopped once it has read more than `limit` bytes (and a
    mebibyte for its read-ahead) since its last event (`watch`): it is inside one string or number that
    large, which it would build whole before the item's size could be weighed (ijson's C parser in time
    growing with the square of the string's length: a 1 GB string, 1 MB gzipped, held a run for hours)."""

    def __init__(self, stream, limit: int):
        self._stream, self._limit = stream, limit + (1 << 20)
        self._read = self._at_event = 0

    def read(self, size: int = -1) -> bytes:
        if self._read - self._at_event > self._limit:
            raise _ValueTooLarge
        piece = self._stream.read(size)
        self._read += len(piece)
        return piece

    def watch(self, events: Iterator[tuple[str, object]]) -> Iterator[tuple[str, object]]:
        for event in events:
            self._at_event = self._read
            yield event


class _Pieces:
    """A gzip stream read a decompressed piece at a time (`read1`), so that where the file is cut or
    damaged, every byte before the damage reaches the parser before the error: a `read` that fills the
    parser's 64 KB buffer drops what it had gathered when it meets the damage."""

    def __init__(self, stream: gzip.GzipFile):
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read1(size)


_DIGITS_TO_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # each digit to "0", the rest to " "
_SCAN_BYTES = 1 << 20
_LONG_NUMBER = re.compile(r"-?[0-9]{40,}")


def _json_parser(path: Path, compressed: bool):
    """ijson's `basic_parse` for the file: its default (C) parser, or its pure-Python one where the file
    holds a run of more digits than Python converts to an int (sys.get_int_max_str_digits, 4,300 by
    default). As a number, that crashes the C parser (a segmentation fault); the pure-Python one stops
    with a clean error there. A run inside a string is read right by both, only slower by the second
    (~15-70x on article exports). One pass over the file's bytes decides; a read error ends the pass,
    and the parse meets it where it is."""
    import ijson

    limit = sys.get_int_max_str_digits()
    if not limit:
        return ijson.basic_parse
    too_long, run = b"0" * (limit + 1), 0  # run: the digits that end the bytes read so far
    try:
        with path.open("rb") as fh:
            stream = _utf8_stream(fh, compressed)
            while piece := stream.read(_SCAN_BYTES):
                zeros = piece.translate(_DIGITS_TO_ZERO)
                lead = len(zeros) - len(zeros.lstrip(b"0"))
                if run + lead > limit or too_long in zeros:
                    return ijson.get_backend("python").basic_parse
                run = run + lead if lead == len(zeros) else len(zeros) - len(zeros.rstrip(b"0"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        pass
    return ijson.basic_parse


def _json_items(events, max_bytes: int) -> Iterator[tuple[object, str | None]]:
    """The items of the array whose start_array `events` (ijson.basic_parse) just gave, as (item, None),
    or (None, why it was dropped). Then the rest of `events` is read, so trailing garbage raises."""
    stack: list = []  # the containers of the item being built, outermost first
    keys: list = []  # for each of them: the key its next value goes under (lists: None)
    depth, size, why, item = 0, 0, None, None
    too_large = f"too large (over the limit of {max_bytes:,} bytes); {DOCUMENT_CAP_HINT}"

    def put(value: object) -> None:
        nonlocal item
        if not stack:
            item = value
        elif keys[-1] is None:
            stack[-1].append(value)
        else:
            stack[-1][keys[-1]] = value

    for event, value in events:
        if event in ("start_map", "start_array"):
            depth, size = depth + 1, size + 2
            if why is None and depth > MAX_JSON_DEPTH:
                why = f"nested deeper than {MAX_JSON_DEPTH:,} levels"
            elif why is None and size > max_bytes:
                why = too_large
            if why is None:
                container: dict | list = {} if event == "start_map" else []
                put(container)
                stack.append(container)
                keys.append(None)
            continue
        if event in ("end_map", "end_array"):
            if depth == 0:  # the file's array
                break
            depth -= 1
            if why is None:
                stack.pop()
                keys.pop()
        elif why is None:
            size += len(value) if isinstance(value, str) else 8
            if event == "map_key":
                keys[-1] = value
            else:
                try:
                    put(_finite_float(str(value)) if isinstance(value, Decimal) else value)
                except ValueError as exc:
                    why = str(exc)
            if why is None and size > max_bytes:
                why = too_large
        if depth == 0:
            yield (item, None) if why is None else (None, why)
            stack, keys, size, why, item = [], [], 0, None, None
        elif why is not None and stack:  # drop what was built of it
            stack, keys, item = [], [], None
    for _event in events:  # nothing may follow the array
        pass


def _json_item(uri: str, i: int, item: object, why: str | None, max_bytes: int) -> RawDocument:
    if why is not None:
        return RawDocument(uri, "record", None, sha256_hex(f"{uri}\0{why}"), 0, error=f"item {i} {why}")
    try:
        item_raw = json.dumps(item).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - as in _json_records
        return RawDocument(uri, "record", None, sha256_hex(f"{uri}\0{exc}"), 0,
                           error=f"item {i} cannot be read: {type(exc).__name__}")
    doc = _record(uri, item, item_raw)
    if doc.error is None and doc.size_bytes > max_bytes:
        return RawDocument(uri, "record", None, doc.raw_sha256, doc.size_bytes,
                           error=f"item {i} too large ({doc.size_bytes:,} bytes > limit {max_bytes:,}); "
                                 f"{DOCUMENT_CAP_HINT}")
    return doc


def _not_an_array(path: Path, uri: str, compressed: bool, max_bytes: int) -> RawDocument:
    """A .json file over the limit that is not one array: too large, identified as before it was read."""
    digest, size = _hash_file(path)
    if compressed:
        return RawDocument(uri, "json", None, digest, size, error=_too_large_gzip(max_bytes))
    return _too_large(uri, "json", digest, size, max_bytes)


def _broken_json(path: Path, uri: str, after: int, exc: BaseException, compressed: bool) -> RawDocument:
    """The error document of a streamed .json file whose reading failed after `after` items; 0: before
    any, when it stands for the whole file and is identified by the file's bytes."""
    gz = compressed and isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile))
    what = "not a readable gzip file" if gz else "cannot read file" if isinstance(exc, OSError) else "not valid JSON"
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else _json_detail(exc)
    if gz:
        detail += _gzip_hint_of(path, exc)
    if not after:
        try:
            digest, size = _hash_file(path)
        except OSError:
            digest, size = sha256_hex(uri), 0
        return RawDocument(uri, "json", None, digest, size, error=f"{what}: {detail}")
    return _after_items(uri, after, f"{what} after item {after - 1}: {detail}")


def _json_detail(exc: BaseException) -> str:
    return "a number out of range" if isinstance(exc, ArithmeticError) else _one_line(exc)


def _after_items(uri: str, after: int, error: str) -> RawDocument:
    """The error document of a .json file whose reading failed after `after` items (`uri#after`)."""
    return RawDocument(f"{uri}#{after}", "record", None, sha256_hex(f"{uri}\0{error}"), 0, error=error)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range for a 64-bit float")
    return value


def loads_strict(data: str | bytes) -> object:
    """json.loads without the NaN / Infinity that Python accepts and JSON does not, and without numbers
    that overflow to infinity (1e999): none of them can be stored as JSON again."""
    return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line, at most 300 characters; a number of 40+ digits quoted in it
    (the pure-Python JSON parser quotes one it refuses whole) named by its first digits and length."""
    text = _LONG_NUMBER.sub(lambda m: f"{m[0][:20]}... ({len(m[0].lstrip('-')):,} digits)", str(exc))
    return (" ".join(text.split()) or type(exc).__name__)[:300]


def read_all(paths: Iterable[Path], stored: Container[tuple[str, int, int]] = (),
             max_bytes: int = MAX_DOCUMENT_BYTES, warc: WarcReading | None = None,
             records: RecordReading | None = None) -> Iterator[RawDocument | StoredFile]:
    """The documents in every file `discover` found (resolved paths); files matching `stored` (see
    read_path) come as StoredFile; web archives are filtered and counted by `warc`, what the JSON and
    JSON Lines files gave by `records`.

    Each file is its own failure boundary: whatever reading one raises becomes an error document for
    it (quarantined with the reason) after the documents it yielded before, and the next file is read."""
    for path in paths:
        try:
            yield from read_path(path, max_bytes, stored=stored, resolved=True, warc=warc, records=records)
        except Exception as exc:  # noqa: BLE001 - the per-item boundary
            uri = path.as_uri() if path.is_absolute() else str(path)
            yield RawDocument(uri, "unknown", None, sha256_hex(f"read-error\0{uri}"), 0,
                              error=f"cannot read file: {type(exc).__name__}: {_one_line(exc)}")
