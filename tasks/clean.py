"""Extract and clean: raw document -> Article (title, body, metadata, removed segments) or Rejected.

HTML goes through trafilatura (text + metadata); plain text is read line by line with title detection.
Both then pass through one segment cleaner driven by the rule table in `tasks/rules.py`.
Everything here is pure and picklable so batches can run in worker processes or on Dask.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from lxml.etree import XPath

from tasks.models import Article, RawDocument, Rejected, article_id_for
from tasks.segments import Cleaned, clean_segments, looks_like_label, looks_like_title, normalize

__all__ = ["CLEANER_VERSION", "Cleaned", "clean_batch", "clean_document", "clean_segments", "decode_text",
           "extract_html", "looks_like_label", "looks_like_title", "normalize"]

CLEANER_VERSION = "3"


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


# Enough for a stable answer; the classifier's cost grows with the text (a Python loop over its bytes).
# The first 800 characters give the full text's answer on all 791 cleaned WCXB dev articles and 400 bench
# pages (600: 790 of 791), in ~0.45 ms instead of ~0.7 for 1,000.
_LANGID_CHARS = 800


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None for very short text."""
    if len(text) < 20:
        return None
    lang, _prob = _langid().classify(text[:_LANGID_CHARS])
    return lang


# Chosen by measurement on the WCXB dev articles (docs/cleaning.md): dropping comments is the one
# trafilatura option that helps (F1 0.930 -> 0.938); precision mode and `fast` lose recall, recall
# mode and deduplication change nothing that matters, tables carry real content on many pages.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
}


# htmldate's extensive search (free-text dates, via dateparser) costs ~11 ms a page, a third of the
# extraction, for 3 points of date accuracy on the WCXB dev articles (84.8% -> 81.8%); news pages carry
# their date in meta tags, which the quick search reads.
EXTENSIVE_DATE_SEARCH = False


@lru_cache(maxsize=1)
def use_c_element_lookup() -> None:
    """Make trafilatura's HTML parser pick element classes in C instead of in lxml.html's Python code.

    lxml.html's parser calls a Python method (`HtmlElementClassLookup.lookup`) for every element
    object it hands out, thousands a page across trafilatura's passes (~1-2 ms of ~35 a page on the
    bench corpus). The C lookup gives every element the same `HtmlElement` class; what is lost
    are the form-control subclasses (`InputElement.value` and the like), which neither trafilatura
    nor newsflow uses, so the extraction is unchanged (tests/test_clean.py compares both parsers).
    Done once per process, by the first `extract_html`.
    """
    from lxml import etree, html
    from trafilatura.utils import HTML_PARSER

    HTML_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=html.HtmlElement, comment=html.HtmlComment, pi=html.HtmlProcessingInstruction,
        entity=html.HtmlEntity))


def _link_texts(tree: Any) -> frozenset[str]:
    """Normalized texts of the page's links (not in-page '#' anchors): the link-density signal."""
    out = set()
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")):
            continue
        text = normalize(a.text_content())
        if text:
            out.add(text)
    return frozenset(out)


_H1_OVERLAP = 0.3  # measured on the WCXB dev articles: title accuracy 78.9% -> 86.1%
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|•·:»–—-]|::)\s+")


def choose_title(meta_title: str | None, headings: list[str], sitename: str | None, url: str | None) -> str | None:
    """The article's title without the site name that <title> tags append ('Story | Site').

    The page's <h1> is the headline when it shares words with <title>; otherwise a trailing part of
    <title> after a separator is dropped when it names the site (its sitename, or its words run together
    in the host).
    """
    if not meta_title:
        return next((h for h in headings if len(h.split()) >= 2), None)
    title_words = set(normalize(meta_title).split())
    for h in headings:
        words = set(normalize(h).split())
        # The visible headline, when it shares words with <title> (not a logo or a section name).
        if len(words) >= 2 and len(words & title_words) / len(words) >= _H1_OVERLAP:
            return h
    host = re.sub(r"^https?://(?:www\.)?", "", url or "").split("/")[0].lower()
    site = normalize(sitename or "")
    title = meta_title.strip()
    for _ in range(2):
        parts = _TITLE_SEPARATORS.split(title)
        if len(parts) < 2:
            break
        tail = normalize(parts[-1])
        names_site = bool(tail) and (tail == site or (host and tail.replace(" ", "") in host.replace("-", "")))
        if not names_site:
            break
        title = title[: title.rfind(parts[-1])].rstrip(" |•·:»–—-")
    return title or meta_title


def _page_metadata(tree: Any, url: str | None) -> Any:
    """trafilatura's metadata pass (meta tags, JSON-LD, byline heuristics, htmldate, categories) without
    the tags and licence lookups newsflow does not use (about 4 ms a page)."""
    from trafilatura import metadata as M
    from trafilatura.settings import set_date_params

    meta = M.examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = M.extract_meta_json(tree, meta)
    except Exception:  # trafilatura's JSON-LD reader has bugs on odd markup; the meta tags still count
        pass
    meta.title = meta.title or M.extract_title(tree)
    meta.url = meta.url or M.extract_url(tree, url)
    meta.date = M.find_date(tree, **set_date_params(EXTENSIVE_DATE_SEARCH), url=meta.url)
    meta.sitename = meta.sitename or M.extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (m := M.META_URL.match(meta.url)):
        meta.sitename = m[1]
    meta.categories = meta.categories or _categories(tree)
    meta.clean_and_trim()
    return meta


# trafilatura's category XPaths (six, ~1.4 ms a page) keep only links whose href has /category/,
# /categories/ and the like in it: on a page without such a link none can match, and its fallback
# (the section meta tags) decides alone, as in `trafilatura.metadata.extract_catstags`.
_CATEGORY_LINK = XPath("boolean(//a[contains(@href, '/categor')])")
_SECTION_META = XPath('.//head//meta[@property="article:section" or contains(@name, "subject")][@content]')


def _categories(tree: Any) -> list[str]:
    """trafilatura's `extract_catstags("category", tree)`, without its XPaths where none can match."""
    from trafilatura import metadata as M

    if _CATEGORY_LINK(tree):
        return M.extract_catstags("category", tree)
    found = (M.line_processing(e.attrib["content"]) for e in _SECTION_META(tree) if e.attrib["content"])
    return [c for c in dict.fromkeys(found) if c]


# trafilatura's byline XPaths match <author> and <rel> elements, or a class, id, itemprop, rel,
# data-testid or data-component attribute holding one of these words. They cost ~10 ms on a page
# without an author meta tag (lxml calls Python's re for each element); collecting those attribute
# values costs ~0.6 ms and shows that none can match on about half of such pages (bench and WCXB).
_BYLINE_ATTRIBUTES = XPath("//@class|//@id|//@itemprop|//@rel|//@data-testid|//@data-component",
                           smart_strings=False)
_BYLINE_ELEMENTS = XPath("boolean(//author|//rel)")
_BYLINE_WORDS = re.compile(r"[Aa]uthor|[Bb]yline|^byl$|^BBL$|username|screenname|writer|zuozhe|bianji|"
                           r"xiaobian|channel-name|submitted-by|posted-by|journalist-name", re.M)


def _author_from_page(tree: Any) -> str | None:
    """trafilatura's byline heuristics (author XPaths after pruning comments and the like).

    Runs in place on the page tree after extraction (trafilatura extracted from its own copy), which
    spares trafilatura's extra deep copy of the page; skipped where no element can match.
    """
    from trafilatura import metadata as M

    if not _BYLINE_ELEMENTS(tree) and not _BYLINE_WORDS.search("\n".join(_BYLINE_ATTRIBUTES(tree))):
        return None
    subtree = M.prune_unwanted_nodes(tree, M.AUTHOR_DISCARD_XPATHS)
    author = M.extract_metainfo(subtree, M.AUTHOR_XPATHS, len_limit=120)
    author = M.normalize_authors(None, author) if author else None
    return M.line_processing(M.unescape(author)) if author else None


def extract_html(raw: bytes | str, url: str | None = None) -> dict[str, Any]:
    """trafilatura on one HTML page: paragraphs, metadata and the page's link texts.

    The HTML is parsed once; the link texts are read from that tree before trafilatura prunes it, so
    trafilatura never runs twice.
    """
    import trafilatura
    from trafilatura.utils import load_html

    use_c_element_lookup()
    tree = load_html(raw)
    if tree is None:
        raise ValueError("not parseable as HTML (empty or binary content)")
    link_texts = _link_texts(tree)
    headings = [" ".join(h.text_content().split()) for h in tree.iter("h1")][:3]
    meta = _page_metadata(tree, url)
    doc = trafilatura.bare_extraction(tree, url=meta.url or url, **TRAFILATURA_OPTIONS)
    if not meta.author:
        meta.author = _author_from_page(tree)
    text = (doc.text or "") if doc is not None else ""
    return {
        "segments": text.split("\n") if text else [],
        "title": choose_title(meta.title, headings, meta.sitename, meta.url or url),
        "author": meta.author,
        "published_at": meta.date,
        "sitename": meta.sitename,
        "section": ", ".join(meta.categories) if meta.categories else None,
        "canonical_url": meta.url,
        "language": None,
        "link_texts": link_texts,
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
    cleaned = clean_segments(segments, title if not detect else None, detect_title=detect,
                             link_texts=meta.get("link_texts"))
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
        extra={**(fields.get("extra") or {}), **({"dateline": cleaned.dateline} if cleaned.dateline else {})},
    )
