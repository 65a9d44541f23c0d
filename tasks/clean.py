"""Extract and clean: raw document -> Article (title, body, metadata, removed segments) or Rejected.

HTML goes through trafilatura (text + metadata); plain text is read line by line with title detection.
Both then pass through one segment cleaner driven by the rule table in `tasks/rules.py`.
Everything here is pure and picklable so batches can run in worker processes or on Dask.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from tasks import rules as R
from tasks.models import Article, RawDocument, Rejected, RemovedSegment, article_id_for

CLEANER_VERSION = "2"

_TERMINAL = ".:;,"
_WORD = re.compile(r"\w+", re.UNICODE)


# ---------------------------------------------------------------------------------------- helpers
def normalize(text: str) -> str:
    """Case-, space- and punctuation-insensitive form used to compare lines."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def looks_like_title(line: str) -> bool:
    words = line.split()
    return (
        2 <= len(words) <= 35
        and len(line) <= 250
        and line[-1] not in _TERMINAL
        and not line[0].islower()
        and R.match_line_rule(line) is None
        and not _sentence_count(line) > 1
    )


def looks_like_label(line: str) -> bool:
    words = line.split()
    return (
        1 <= len(words) <= 3
        and len(line) <= 30
        and line[-1] not in _TERMINAL + "?!"
        and all(w[0].isupper() or not w[0].isalpha() for w in words)
    )


_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+(?=[A-Z“\"])")


def _sentence_count(text: str) -> int:
    return len(_SENTENCE_END.findall(text)) + 1


_OUTLET_LINE = re.compile(r"^[\w“\"'][\w .&'’\-()]{0,48}:\s*$", re.UNICODE)


@dataclass(slots=True)
class Cleaned:
    title: str | None
    segments: list[str]
    removed: list[RemovedSegment]
    section: str | None = None
    author: str | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n\n".join(self.segments)


# ------------------------------------------------------------------------------- segment cleaner
def clean_segments(segments: list[str], title: str | None, *, detect_title: bool) -> Cleaned:
    """Remove boilerplate segments (lines/paragraphs); detect the title first when asked to.

    Every removal is recorded with its position in `segments` and the id of the rule that removed it.
    """
    segs = [s.strip() for s in segments]
    positions = [i for i, s in enumerate(segs) if s]
    removed: dict[int, str] = {}
    section = None
    author = None
    flags: list[str] = []

    # 1. Title detection for text input: an optional section label, then a title line.
    if detect_title and positions:
        first = positions[0]
        second = positions[1] if len(positions) > 1 else None
        if (
            second is not None
            and looks_like_label(segs[first])
            and looks_like_title(segs[second])
            and len(segs[second]) > len(segs[first])
        ):
            section = segs[first]
            removed[first] = R.SECTION_LABEL.id
            first = second
        if looks_like_title(segs[first]):
            title = segs[first]
            removed[first] = "title"  # the title moves to its own field; not boilerplate
        else:
            title = None
    if not title:
        flags.append("title_missing")

    # 2. Line rules, byline, repeated title.
    norm_title = normalize(title) if title else None
    edge = set(positions[:3] + positions[-2:])
    for i in positions:
        if i in removed:
            continue
        line = segs[i]
        if norm_title and normalize(line) == norm_title:
            removed[i] = R.REPEATED_TITLE.id
            continue
        rule = R.match_line_rule(line)
        if rule is not None:
            removed[i] = rule.id
            continue
        if i in edge:
            m = R.BYLINE.pattern.match(line) if len(line) <= R.BYLINE.max_chars else None
            if m:
                removed[i] = R.BYLINE.id
                author = author or m.group("author")

    # 3. Outlet lists: runs of short "Name:" lines, or one next to a source-list heading.
    kept = [i for i in positions if i not in removed]
    candidates = [i for i in kept if _OUTLET_LINE.match(segs[i]) and len(segs[i].split()) <= 6]
    cand_set = set(candidates)
    order = {p: k for k, p in enumerate(positions)}
    for i in candidates:
        k = order[i]
        neighbours = [positions[j] for j in (k - 1, k + 1) if 0 <= j < len(positions)]
        if any(n in cand_set or removed.get(n) == R.SOURCE_HEADING.id for n in neighbours):
            removed[i] = R.OUTLET_LIST.id

    # 4. A standfirst repeated inside the next paragraph.
    kept = [i for i in positions if i not in removed]
    for a, b in zip(kept, kept[1:]):
        na, nb = normalize(segs[a]), normalize(segs[b])
        if len(na) >= 40 and na != nb and na in nb:
            removed[a] = R.STANDFIRST_DUPLICATE.id

    out_segments = [segs[i] for i in positions if i not in removed]
    removed_list = [
        RemovedSegment(position=i, text=segs[i], rule=rule)
        for i, rule in sorted(removed.items())
        if rule != "title"
    ]
    return Cleaned(title=title, segments=out_segments, removed=removed_list, section=section,
                   author=author, flags=flags)


# --------------------------------------------------------------------------------------- readers
def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM); raises ValueError with a reason a person can act on."""
    if b"\x00" in raw[:8192]:
        raise ValueError("binary content (NUL bytes), not a text article")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None


def parse_published(value: Any) -> str | None:
    """ISO 8601 in UTC, or None. Accepts ISO strings, RFC 2822 dates and epoch seconds."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        dt = datetime.fromtimestamp(value, tz=timezone.utc)
    else:
        from dateutil import parser as dateparser

        try:
            dt = dateparser.parse(str(value))
        except (ValueError, OverflowError, TypeError):
            return None
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat()


@lru_cache(maxsize=1)
def _langid():
    import py3langid

    return py3langid


def detect_language(text: str) -> str | None:
    if len(text) < 20:
        return None
    lang, _prob = _langid().classify(text[:5000])
    return lang


def extract_html(raw: bytes | str, url: str | None = None) -> dict[str, Any]:
    """trafilatura on one HTML page: paragraphs and metadata (title, author, date, sitename, ...)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        raw,
        url=url,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
    )
    if doc is None:
        return {"segments": [], "title": None}
    text = doc.text or ""
    return {
        "segments": text.split("\n"),
        "title": doc.title,
        "author": doc.author,
        "published_at": doc.date,
        "sitename": doc.sitename,
        "section": ", ".join(doc.categories) if doc.categories else None,
        "canonical_url": doc.url,
        "language": doc.language,
    }


# ------------------------------------------------------------------------------------ the stage
def clean_document(doc: RawDocument) -> Article | Rejected:
    """One raw document to an Article, or a Rejected with the reason. Never raises on bad input."""
    if doc.error:
        return Rejected(doc.document_id, doc.source_uri, "read", [doc.error])
    try:
        return _clean(doc)
    except ValueError as exc:
        return Rejected(doc.document_id, doc.source_uri, "extract", [str(exc)])
    except Exception as exc:  # a parser bug on hostile input must not take the batch down
        return Rejected(doc.document_id, doc.source_uri, "extract", [f"{type(exc).__name__}: {exc}"])


def clean_batch(docs: list[RawDocument]) -> list[Article | Rejected]:
    return [clean_document(d) for d in docs]


def _clean(doc: RawDocument) -> Article | Rejected:
    fields = dict(doc.fields)
    meta: dict[str, Any] = {}
    if doc.media_type == "record":
        record = json.loads(doc.raw.decode("utf-8"))
        known = {"url", "title", "text", "html", "published_at", "author"}
        fields.update({k: record.get(k) for k in known if record.get(k) not in (None, "")})
        fields["extra"] = {k: v for k, v in record.items() if k not in known}
        if "html" in fields:
            meta = extract_html(fields["html"], fields.get("url"))
            segments, detect = meta["segments"], False
        elif "text" in fields:
            segments, detect = str(fields["text"]).splitlines(), "title" not in fields
        else:
            raise ValueError("JSON record has neither 'text' nor 'html'")
    elif doc.media_type == "html":
        meta = extract_html(doc.raw, fields.get("url"))
        segments, detect = meta["segments"], False
    else:
        segments, detect = decode_text(doc.raw).splitlines(), True

    title = fields.get("title") or meta.get("title")
    cleaned = clean_segments(segments, title if not detect else None, detect_title=detect)
    body = cleaned.body
    url = fields.get("url") or meta.get("canonical_url")
    published_raw = fields.get("published_at") or meta.get("published_at")
    published = parse_published(published_raw)
    flags = list(cleaned.flags)
    if published_raw and not published:
        flags.append("published_at_unparsed")
    return Article(
        article_id=article_id_for(url.split("#")[0] if url else doc.source_uri),
        document_id=doc.document_id,
        source_uri=doc.source_uri,
        url=url,
        title=cleaned.title,
        body=body,
        published_at=published,
        author=fields.get("author") or meta.get("author") or cleaned.author,
        language=detect_language(body) or meta.get("language"),
        sitename=meta.get("sitename"),
        section=cleaned.section or meta.get("section"),
        canonical_url=meta.get("canonical_url"),
        flags=flags,
        removed=cleaned.removed,
        extra=fields.get("extra") or {},
    )
