"""Extract and clean: raw document -> Article (title, body, metadata, removed segments) or Rejected.

Three steps, each in its own module: read the document into lines and fields (`tasks/extract.py` for
HTML, trafilatura plus the page's link texts; `tasks/reader.py` for plain text and JSON records),
clean the lines with the rule table (`tasks/segments.py`, `tasks/rules.py`), and assemble the Article
here. Everything is pure and picklable so batches can run in worker processes or on Dask.

The names other modules import stay importable from here (`clean_segments`, `extract_html`, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from newsflow.settings import META_MAX_CHARS
from tasks.confidence import confidence, features
from tasks.extract import (EXTENSIVE_DATE_SEARCH, TRAFILATURA_OPTIONS, HtmlPage, choose_title, decode_as_declared,
                           extract_html, mend_double_encoding, site_host)
from tasks.models import Article, RawDocument, Rejected, article_id_for, machine_fault
from tasks.reader import decode_text, one_line, record_fields, text_lines
from tasks.recover import recover_page
from tasks.rules import ERROR_PAGE
from tasks.segments import Cleaned, clean_segments, looks_like_label, looks_like_title, normalize

__all__ = [
    "CLEANER_VERSION", "EXTENSIVE_DATE_SEARCH", "TRAFILATURA_OPTIONS", "Cleaned", "HtmlPage", "Source",
    "choose_title", "clean_batch", "clean_document", "clean_segments", "decode_text", "detect_language",
    "extract_html", "looks_like_label", "looks_like_title", "normalize", "parse_published", "read_document",
]

CLEANER_VERSION = "17"
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
        if page.paywalled:
            cleaned.flags.append("paywalled")
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
        dated = bool(page.published_at) and not page.date_source  # a date its markup states
        if source.html is not None and (reason := not_an_article(article, dated)):
            raise ValueError(reason)
        article.extraction, article.extraction_confidence = extraction, certainty
        return article
    except ValueError as exc:
        return Rejected(doc.document_id, doc.source_uri, "extract", [str(exc)])
    except Exception as exc:  # a parser bug on hostile input must not take the batch down
        if machine_fault(exc):  # the disk full, say: the document is not at fault
            raise
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
    what the cleaner read from the lines (a byline, a section label). The date: a record's own, else
    the page's structured data's, else the feed's or news sitemap's for the link, else the page's URL
    or text."""
    body = cleaned.body
    url = page.amp_of or fields.get("url") or page.canonical_url  # an AMP copy is its page's article
    published_raw, found_in = fields.get("published_at"), None
    published = parse_published(published_raw)
    if not published_raw:  # the first date that reads, of those the page and its listing state
        own, listed = (page.published_at, page.date_source), (fields.get("feed_published_at"), None)
        stated = [own, listed] if not page.date_source else [listed, own]  # the markup's, or its URL's or text's
        for raw, where in stated:
            if raw and (published := parse_published(raw)):
                published_raw, found_in = raw, where
                break
            published_raw = published_raw or raw
    flags = list(cleaned.flags) + (["amp_copy"] if page.amp_of else [])
    if published_raw and not published:
        flags.append("published_at_unparsed")
    if published and found_in:
        flags.append(f"date_from_{found_in}")
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


def not_an_article(article: Article, dated_by_markup: bool = False) -> str | None:
    """Why a cleaned page is no article, by its title: an error, login or robot-check page's (rule
    `error-page`) on a page whose markup states no date, or no headline but the site's name on a page
    stating no date (a consent, paywall or error wall); None for an article. A headline such as "Just a
    Moment" on a page dated in its markup, or its site's name on a dated page, stays."""
    title = article.title or ""
    if not dated_by_markup and ERROR_PAGE.matches(title):
        return f"not an article: its title {title!r} is an error, login or robot-check page's (rule error-page)"
    names = {_bare(article.sitename), _bare(site_host(article.url))} - {""}
    if _bare(title) and not article.published_at and _bare(re.sub(r"(?i)^www\.", "", title)) in names:
        return (f"not an article: no headline and no date, its title {title!r} is only the site's name "
                "(a consent, paywall or error page)")
    return None


def _bare(name: str | None) -> str:
    return " ".join(re.findall(r"\w+", (name or "").casefold()))


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
    """ISO 8601 with the value's own UTC offset (UTC where it names none), or None when it is not a
    whole date: not a date, a date without its day, month or year ("March 2024", "10:30"), a zone
    name that is not in ZONE_OFFSETS, a day before EARLIEST_PUBLISHED_YEAR (a placeholder). Accepts
    ISO strings, RFC 2822 dates, other written dates dateutil reads (numeric ones month first with
    slashes, day first with dots or dashes: "03/12/2024", "12.03.2024"), and epoch seconds (milliseconds
    past 10^11). The machine's time zone plays no part; a day alone is midnight UTC."""
    if value in (None, "") or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            dt = datetime.fromtimestamp(value / 1000 if abs(value) >= 1e11 else value, tz=timezone.utc)
        except (ValueError, OverflowError, OSError):  # outside years 1-9999, or NaN
            return None
    else:
        dt = _read_date(str(value).strip())
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
    try:
        utc = dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # an offset of a day or more ("+25:00"), a year past 9999 in UTC
        return None
    return dt.isoformat() if utc.year >= EARLIEST_PUBLISHED_YEAR else None


# Zone abbreviations a written date may end with, and their offsets from UTC in hours: RFC 5322's (as
# RSS writes them) and others news sites print that name one zone. Ambiguous ones ("IST": India,
# Ireland or Israel; "BST"; "AST") are left out: such a date is not read rather than read in a wrong
# zone. dateutil alone would take a name as UTC, or as the machine's zone when it has that name.
ZONE_OFFSETS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8,
    "AWST": 8, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}
# "GMT+1", "UTC-05:00": an offset east (+) or west (-) of UTC, as people write it; dateutil reads it
# the POSIX way round (GMT+1 as an hour west).
_NAMED_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b")
# What follows a numeric offset in some formats: a zone's name ("+0100 CET", Go), its long name in
# brackets ("GMT+0530 (India Standard Time)", JavaScript) or its IANA name ("+01:00[Europe/Paris]").
_AFTER_OFFSET = re.compile(r"([+-]\d{2}:?\d{2})\s*(?:[A-Z]{2,5}|\([^()]*\)|\[[^\[\]]*\])\s*$")


# "12.03.2024", "12-03-2024": numeric dates with dots or dashes put the day first wherever they are
# written that way (the month-first United States writes slashes); dateutil reads them month first.
_DAY_FIRST_NUMERIC = re.compile(r"\d{1,2}([.-])\d{1,2}\1\d{4}\b")


def _read_date(text: str) -> datetime | None:
    """The datetime `text` states in full (naive when it names no zone), or None."""
    try:
        return datetime.fromisoformat(text)  # ISO 8601, the common case: ~1 us
    except ValueError:
        pass
    from dateutil import parser as dateparser

    text = _AFTER_OFFSET.sub(r"\1", _NAMED_OFFSET.sub(
        lambda m: f" {m[1]}{int(m[2]):02d}:{m[3] or '00'}", text))
    day_first = bool(_DAY_FIRST_NUMERIC.match(text))
    try:
        # Parsed twice with different defaults: a part the text lacks takes the default, so it differs.
        first, second = (dateparser.parse(text, default=default, tzinfos=_zone, dayfirst=day_first)
                         for default in (datetime(2001, 1, 1), datetime(2002, 2, 2)))
    except (ValueError, OverflowError, TypeError):
        return None
    return first if first.date() == second.date() else None


def _zone(name: str | None, offset: int | None) -> timezone | None:
    """dateutil's `tzinfos`: the zone of a date's numeric offset, else of its zone name, which must be
    in ZONE_OFFSETS (another makes the date unreadable); None for a date that names no zone."""
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    if name is None:
        return None
    hours = ZONE_OFFSETS.get(name.upper())
    if hours is None:
        raise ValueError(f"unknown time zone {name!r}")
    return timezone(timedelta(hours=hours))


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
