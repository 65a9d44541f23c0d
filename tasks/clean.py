"""Extract and clean: raw document -> Article (title, body, metadata, removed segments) or Rejected.

Three steps, each in its own module: read the document into lines and fields (`tasks/extract.py` for
HTML, trafilatura plus the page's link texts; `tasks/reader.py` for plain text and JSON records),
clean the lines with the rule table (`tasks/segments.py`, `tasks/rules.py`), and assemble the Article
here. Everything is pure and picklable so batches can run in worker processes or on Dask.

The names other modules import stay importable from here (`clean_segments`, `extract_html`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from newsflow.settings import META_MAX_CHARS
from tasks.confidence import confidence, features
from tasks.extract import (EXTENSIVE_DATE_SEARCH, TRAFILATURA_OPTIONS, HtmlPage, choose_title, decode_as_declared,
                           extract_html, mend_double_encoding)
from tasks.models import Article, RawDocument, Rejected, article_id_for
from tasks.reader import decode_text, one_line, record_fields, text_lines
from tasks.recover import recover_page
from tasks.segments import Cleaned, clean_segments, looks_like_label, looks_like_title, normalize

__all__ = [
    "CLEANER_VERSION", "EXTENSIVE_DATE_SEARCH", "TRAFILATURA_OPTIONS", "Cleaned", "HtmlPage", "Source",
    "choose_title", "clean_batch", "clean_document", "clean_segments", "decode_text", "detect_language",
    "extract_html", "looks_like_label", "looks_like_title", "normalize", "parse_published", "read_document",
]

CLEANER_VERSION = "13"
# The reason for a page the HTML parser stopped reading (`HtmlPage.truncated`) before any article text.
TRUNCATED_EMPTY = ("the page nests its elements deeper than the HTML parser reads (2,048 levels), and no "
                   "article text comes before the point where it stops")


# ------------------------------------------------------------------------------------ the stage
def clean_document(doc: RawDocument) -> Article | Rejected:
    """One raw document to an Article, or a Rejected with the reason. Never raises on bad input."""
    if doc.error:
        return Rejected(doc.document_id, doc.source_uri, "read", [doc.error])
    try:
        source = read_document(doc)
        fields, page = source.fields, source.page or HtmlPage()
        title = None if source.detect_title else fields.get("title") or page.title
        cleaned = clean_segments(source.segments, title, detect_title=source.detect_title,
                                 link_texts=page.link_texts)
        extraction, certainty = source.extraction, 1.0  # text given as such is the text
        if source.mended:
            cleaned.flags.append("double_encoding_mended")
        if source.html_unreadable:
            cleaned.flags.append("html_unreadable")
        if page.truncated:
            if not cleaned.segments:
                raise ValueError(TRUNCATED_EMPTY)
            cleaned.flags.append("html_truncated")
        if source.html is not None:  # an HTML page's body is the extraction's best guess
            body_features = features(source.segments, cleaned, page.link_texts)
            certainty = confidence(body_features)
            try:  # not past a cut: resiliparse's time grows with the square of the nesting
                recovered = (cleaned.segments if page.truncated else
                             recover_page(source.html, cleaned.segments, cleaned.title, page.link_texts, body_features))
            except Exception:  # the second extraction only adds: if it fails, trafilatura's body stands
                recovered = cleaned.segments
                cleaned.flags.append("recovery_failed")
            if len(recovered) > len(cleaned.segments):
                cleaned.segments, extraction = recovered, f"{extraction}+resiliparse"
        article = build_article(doc, fields, page, cleaned)
        article.extraction, article.extraction_confidence = extraction, certainty
        return article
    except ValueError as exc:
        return Rejected(doc.document_id, doc.source_uri, "extract", [str(exc)])
    except Exception as exc:  # a parser bug on hostile input must not take the batch down
        return Rejected(doc.document_id, doc.source_uri, "extract", [f"{type(exc).__name__}: {exc}"])


def clean_batch(docs: list[RawDocument]) -> list[Article | Rejected]:
    return [clean_document(d) for d in docs]


# ------------------------------------------------------------------------------------- reading
@dataclass(slots=True)
class Source:
    """A raw document read: its lines, whether its title must be read from them (plain text), the
    fields known from the fetch or the JSON record, and the page's metadata when it was HTML."""

    segments: list[str]
    detect_title: bool
    fields: dict[str, Any]
    page: HtmlPage | None = None
    extraction: str = "text"  # which extraction produced the lines (Article.extraction)
    html: bytes | str | None = None  # the page's HTML, when `page` was read from it
    mended: bool = False  # text encoded twice as UTF-8 was decoded once more (`mend_double_encoding`)
    html_unreadable: bool = False  # a record's `html` was not HTML: its `text` was read instead


def read_document(doc: RawDocument) -> Source:
    """Dispatch on the media type: JSON record (text or HTML inside), HTML page, or plain text."""
    fields = dict(doc.fields)
    if doc.media_type == "record":
        fields = record_fields(doc.raw, fields)
        if "html" in fields:
            try:
                return _read_html(fields["html"], fields)
            except ValueError:
                if "text" not in fields:
                    raise
                return Source(text_lines(str(fields["text"])), "title" not in fields, fields, extraction="record",
                              html_unreadable=True)  # the record's own text, then
        return Source(text_lines(str(fields["text"])), "title" not in fields, fields, extraction="record")
    if doc.media_type == "html":
        return _read_html(decode_as_declared(doc.raw, doc.headers), fields)
    return Source(text_lines(decode_text(doc.raw)), True, fields)


def _read_html(raw: bytes | str, fields: dict[str, Any]) -> Source:
    """An HTML page, mended first where its text is encoded twice as UTF-8 (`mend_double_encoding`)."""
    html = mend_double_encoding(raw)
    page = extract_html(html, fields.get("url"))
    return Source(page.segments, False, fields, page, page.extraction, html, mended=html is not raw)


# ------------------------------------------------------------------------------------ assembly
def build_article(doc: RawDocument, fields: dict[str, Any], page: HtmlPage, cleaned: Cleaned) -> Article:
    """The Article: the fetch's or record's own fields win over what the page says, which wins over
    what the cleaner read from the lines (a byline, a section label)."""
    body = cleaned.body
    url = fields.get("url") or page.canonical_url
    published_raw = fields.get("published_at") or page.published_at
    published = parse_published(published_raw)
    flags = list(cleaned.flags)
    if published_raw and not published:
        flags.append("published_at_unparsed")
    if published and not fields.get("published_at") and page.date_source:
        flags.append(f"date_from_{page.date_source}")  # not stated by the page's structured data
    return Article(
        article_id=article_id_for(url.split("#")[0] if url else doc.source_uri),
        document_id=doc.document_id,
        source_uri=doc.source_uri,
        url=url,
        title=_one_line(cleaned.title),
        body=body,
        published_at=published,
        author=_name(fields.get("author") or page.author or cleaned.author or page.shown_author),
        language=detect_language(body),
        sitename=_name(page.sitename),
        section=_name(cleaned.section or page.section),
        canonical_url=page.canonical_url,
        flags=flags,
        removed=cleaned.removed,
        extra={**(fields.get("extra") or {}), **({"dateline": cleaned.dateline} if cleaned.dateline else {})},
    )


def _one_line(value: str | None) -> str | None:
    """A field the page's markup or structured data gave (JSON-LD decodes "\\u001b" to an escape
    character), on one line as a record's is; None when nothing is left."""
    return (one_line(value) or None) if value else value


def _name(value: str | None) -> str | None:
    """An author, site name or section on one line; None when longer than a name can be."""
    value = _one_line(value)
    return value if value is None or len(value) <= META_MAX_CHARS else None


# Before the first printed newspapers: a placeholder, not a publication date (0001-01-01 is .NET's
# DateTime.MinValue, a CMS's "no date"); it would sit at the start of every time series.
EARLIEST_PUBLISHED_YEAR = 1600


def parse_published(value: Any) -> str | None:
    """ISO 8601 in UTC, or None. Accepts ISO strings, RFC 2822 dates and epoch seconds; a date before
    EARLIEST_PUBLISHED_YEAR is None (a placeholder)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        try:
            dt = datetime.fromtimestamp(value, tz=timezone.utc)
        except (ValueError, OverflowError, OSError):  # outside years 1-9999, or NaN
            return None
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
    try:
        dt = dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # an offset of a day or more ("+25:00"), a year past 9999 in UTC
        return None
    return dt.isoformat() if dt.year >= EARLIEST_PUBLISHED_YEAR else None


@lru_cache(maxsize=1)
def _langid():
    import py3langid

    return py3langid


# Enough for a stable answer; the classifier's cost grows with the text (a Python loop over its bytes).
# The first 800 characters give the full text's answer on all 791 cleaned WCXB dev articles and 400
# bench pages (600 characters: 790 of 791).
_LANGID_CHARS = 800


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None for very short text."""
    if len(text) < 20:
        return None
    lang, _prob = _langid().classify(text[:_LANGID_CHARS])
    return lang
