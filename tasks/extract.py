"""HTML extraction: one page's HTML -> its text paragraphs and metadata (an `HtmlPage`).

trafilatura extracts the main text (`bare_extraction`) and the metadata (`extract_metadata`), both
through its public API; newsflow adds what its segment cleaner needs from the same parsed tree: the
texts of the page's links (the link-list signal) and its <h1>s (the title).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from datetime import date
from urllib.parse import urljoin, urlsplit

import htmldate
import trafilatura
from justext.core import PARAGRAPH_TAGS
from lxml import etree, html
from trafilatura.utils import decode_file

from newsflow.settings import URL_MAX_CHARS
from tasks.meta import (MONTH_NUMBERS, PageMeta, author_elsewhere, find_byline, heading_text, read_structured,
                        slashes_day_first, visible_byline, visible_date)
from tasks.segments import normalize, word_count

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

# trafilatura's fast pass (no comparison with its readability and jusText fallbacks) costs ~70% of its
# full cascade and gives the same body on 747 of the 791 WCXB dev pages. The full cascade runs where the
# fallbacks change the result: a fast text under FAST_TEXT_MIN_CHARS, or one holding a run-together
# block (a line over FAST_LINE_MAX_CHARS). Line recovery (tasks/recover.py) takes back what the fast
# pass misses on the 1,500-3,500-character pages: cross-validated F1 with recovery 0.9501 at 1,500
# against 0.9497 at 3,500, `without` left and boilerplate pages unchanged (docs/cleaning.md).
FAST_TEXT_MIN_CHARS = 1500
FAST_LINE_MAX_CHARS = 2000
# jusText, the cascade's last fallback, looks for each short paragraph's nearest long neighbour one
# paragraph at a time, so its time grows with the square of a run of short ones: ~7 s for a table of
# 3,000 rows, ~40 s for 10,000 (past the document time limit: the page was lost). A page with more
# elements that start a paragraph for jusText (`CASCADE_BLOCK_TAGS`: its own list, and <br>) than
# `CASCADE_MAX_BLOCKS` keeps the fast pass's text; the WCXB dev pages have at most 2,706.
CASCADE_BLOCK_TAGS = (*sorted(PARAGRAPH_TAGS), "br")
CASCADE_MAX_BLOCKS = 5_000

# Elements trafilatura removes with their content before it extracts (`trafilatura.settings.
# MANUALLY_CLEANED`, <meta> in MANUALLY_STRIPPED) and that its measure of the page's text, which its
# recall escalation compares against (`BASIC_CLEAN_XPATH`), leaves out too or finds empty: <meta>, <link>
# and <input> hold no text. Not <aside>, which is in both lists: trafilatura's later passes still read
# it where the page needs it (a page whose every paragraph sits in one keeps them); 3 dev pages lost
# text when it was dropped.
UNREAD_TAGS = ("script", "style", "svg", "footer", "meta", "link", "input")

# htmldate's quick search: htmldate runs only where the structured data, the URL and the text by the
# headline give no date (143 of the 793 WCXB dev pages), and finds none on 88 of them. There the
# extensive search (free-text dates, via dateparser) would find the right day on 3, a wrong day on 8 and
# a date on 74 whose ground truth has none (56 of those a 1 January), for 3x the metadata's CPU
# (bench/date_search.py).
EXTENSIVE_DATE_SEARCH = False


@dataclass(slots=True)
class HtmlPage:
    """What `extract_html` read from a page.

    `segments` are trafilatura's text lines in page order; `published_at` is the page's date
    (`tasks.meta.to_date`: a timestamp with its UTC offset, or a day; not yet normalized); `section`
    the page's categories joined with ", "; `link_texts` the normalized texts of its links; `date_source` is None when the date comes from the
    page's structured data, "url" or "text" when only htmldate's fallback found it there.
    """

    segments: list[str] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    published_at: str | None = None
    sitename: str | None = None
    section: str | None = None
    canonical_url: str | None = None
    link_texts: frozenset[str] = frozenset()
    date_source: str | None = None
    title_from_tag: bool = False  # `title` is <title>'s: no meta or JSON-LD states one
    shown_author: str | None = None  # a "By ..." by the headline, when no markup names the author
    extraction: str = "trafilatura"  # which extraction gave `segments`: "trafilatura" or "trafilatura-fast"
    truncated: bool = False  # the parser stopped before the end of the page (`stopped_early`)
    paywalled: bool = False  # its structured data says it is not free to read: the body may be a teaser
    not_article: str | None = None  # why its markup says it is no article (`_not_an_article`)
    amp_of: str | None = None  # an AMP copy's canonical page on the same site: the article's URL
    other_titles: list[str] = field(default_factory=list)  # the titles its markup states besides `title`


def extract_html(raw: bytes | str, url: str | None = None) -> HtmlPage:
    """trafilatura on one HTML page: paragraphs, metadata and the page's link texts.

    The HTML is parsed once (`parse_html`; twice when nested past 256 levels, below); the link texts,
    headings and metadata are read from the whole tree, then what trafilatura would discard unread is
    dropped from it (`drop_unread`) and trafilatura extracts the text from what is left.

    With trafilatura's parser settings libxml2 stops reading at the 256th level of nesting, and the rest
    of the page is missing from the tree: a page whose template leaves a `<div>` open per comment lost
    its text after ~250 comments. Such a page is parsed again, to 2,048 levels (`deep`; the WCXB dev
    pages nest 55 at most). trafilatura walks some structures recursively (nested lists), so where
    Python's recursion limit stops it on the deeper tree, the first tree is read. A page the parse
    read only part of is `truncated`.
    """
    tree, truncated = _parse_page(raw, deep=False)
    joiners = may_hold_joiners(raw)
    if truncated:
        deeper, truncated_deeper = _parse_page(raw, deep=True)
        try:
            return _read_page(deeper, url, truncated_deeper, joiners)
        except RecursionError:
            pass
    return _read_page(tree, url, truncated, joiners)


def _parse_page(raw: bytes | str, deep: bool) -> tuple[html.HtmlElement, bool]:
    """The page's tree (a fragment's, when it is one) and whether the parser stopped before its end."""
    tree = parse_html(raw, deep)
    if tree is None:
        tree = parse_fragment(raw, deep)
    if tree is None:
        raise ValueError("not parseable as HTML (empty or binary content)")
    return tree, stopped_early(deep)


def _read_page(tree: html.HtmlElement, url: str | None, truncated: bool, joiners: bool = False) -> HtmlPage:
    link_texts = page_link_texts(tree)
    headings = page_headings(tree, url)
    meta = page_metadata(tree, url)
    if meta.not_article:
        raise ValueError(meta.not_article)  # not extracted: its text is no article's
    if meta.title_from_tag and len(headings) == 1 and headings[0]:
        meta.title = headings[0]  # no title meta: the page's one <h1> is its headline (as trafilatura does)
    drop_unread(tree)  # nothing reads the tree after the extraction: pruned in place, not copied
    hidden = joiners and hide_joiners(tree)
    meta.segments, meta.extraction = extract_lines(tree, meta.canonical_url or url)
    if hidden:
        meta.segments = [line.translate(_SHOW_JOINERS) for line in meta.segments]
    meta.title = drop_title_label(choose_title(meta.title, headings, meta.sitename, meta.canonical_url or url,
                                               meta.other_titles))
    meta.link_texts, meta.truncated = link_texts, truncated
    return meta


def drop_unread(tree: html.HtmlElement) -> None:
    """Drop the elements trafilatura throws away, content and all, before it reads any text: those its
    tree cleaning deletes and its measure of the page's text (`html2txt`) leaves out too. Its passes over
    the whole tree (the pruning XPaths, whose regular expressions run as Python callbacks for every
    element, and its copies of the tree) then walk ~25% fewer elements, for ~5% less of its CPU; the text
    is the same on all 791 WCXB dev pages and 1,000 bench pages. JSON-LD scripts stay: trafilatura reads
    an `articleBody` there when its own extraction finds too little."""
    doomed = [el for el in tree.iter(UNREAD_TAGS)
              if el.tag != "script" or "ld+json" not in (el.get("type") or "").lower()]
    for el in doomed:
        el.drop_tree()  # its tail text stays


# trafilatura drops every character Python calls unprintable, the zero-width (non-)joiners among them:
# Persian spelling ("سه‌شنبه" became "سهشنبه"), Sinhala, Indic conjuncts and emoji sequences changed.
# They are passed through it as two letters no news text writes (Phoenician alf and bet), then put back.
# Only on pages whose text holds them (`may_hold_joiners`): looking for them in the tree costs ~0.7 ms.
_JOINERS_TEXT = etree.XPath("//text()[contains(., '\u200c') or contains(., '\u200d')]")
_HIDE_JOINERS = str.maketrans({"\u200c": "\U00010900", "\u200d": "\U00010901"})
_SHOW_JOINERS = str.maketrans({"\U00010900": "\u200c", "\U00010901": "\u200d"})


def may_hold_joiners(raw: bytes | str) -> bool:
    """Whether the page may hold a zero-width joiner or non-joiner: as UTF-8 (a byte search, with a
    one-byte search first: ~0.01 ms on most pages) or as a decoded character. Written as a character
    reference, or in another charset, they are not looked for."""
    if isinstance(raw, str):
        return "\u200c" in raw or "\u200d" in raw
    return (b"\x8c" in raw and b"\xe2\x80\x8c" in raw) or (b"\x8d" in raw and b"\xe2\x80\x8d" in raw)


def hide_joiners(tree: html.HtmlElement) -> bool:
    """Replace the tree's zero-width joiners and non-joiners by their stand-ins; whether it held any."""
    found = _JOINERS_TEXT(tree)
    for text in found:
        parent = text.getparent()
        if text.is_text:
            parent.text = str(text).translate(_HIDE_JOINERS)
        elif text.is_tail:
            parent.tail = str(text).translate(_HIDE_JOINERS)
    return bool(found)


def extract_lines(tree: html.HtmlElement, url: str | None) -> tuple[list[str], str]:
    """trafilatura's text lines for the page and which pass gave them: its fast pass ("trafilatura-fast")
    where that text is long and made of paragraphs or the page too large for the cascade, else its full
    cascade ("trafilatura"). Each pass works on its own copy of `tree`."""
    text = _trafilatura_text(tree, url, fast=True)
    lines = text.split("\n")
    if len(text) >= FAST_TEXT_MIN_CHARS and max(map(len, lines)) <= FAST_LINE_MAX_CHARS:
        return lines, "trafilatura-fast"
    if next(islice(tree.iter(CASCADE_BLOCK_TAGS), CASCADE_MAX_BLOCKS, None), None) is not None:
        return (lines if text else []), "trafilatura-fast"
    text = _trafilatura_text(tree, url, fast=False)
    return (text.split("\n") if text else []), "trafilatura"


def _trafilatura_text(tree: html.HtmlElement, url: str | None, fast: bool) -> str:
    doc = trafilatura.bare_extraction(tree, url=url, fast=fast, **TRAFILATURA_OPTIONS)
    return (doc.text or "") if doc is not None else ""


def page_metadata(tree: html.HtmlElement, url: str | None = None) -> HtmlPage:
    """The page's metadata: its structured data first (`tasks.meta.read_structured`), then fallbacks
    for what it leaves empty: the byline markup for the author (`find_byline`), then the text around
    the headline ("By ..." and the first date shown there, `heading_text`), then htmldate's quick
    search for the date (URL, other meta tags, date elements, the text).

    The title is <title>'s as the page states it; `extract_html` then picks the headline.
    """
    found = read_structured(tree)
    canonical = page_url(found.canonical_url, found.og_url, url)
    author = found.author
    if not author or found.weak_author:
        author = find_byline(tree) or author_elsewhere(tree) or author
    near_heading = heading_text(tree) if not (author and found.published_at) else []
    shown_author = None if author else visible_byline(near_heading)
    url_day = _url_day(canonical) or _url_day(url)
    published, date_source = found.published_at, None
    if (published and len(published) == 10 and url_day and published != url_day  # a day, not a timestamp
            and _days_apart(published, url_day) == 1):
        published = url_day  # the URL's day is the publisher's local day; the markup's may be UTC's
    if not published and url_day:  # htmldate would read the URL first too, numeric months only
        published, date_source = url_day, "url"
    if not published:  # no date in the markup or the URL: the one shown by the headline
        published, date_source = visible_date(near_heading, slashes_day_first(tree)), "text"
    if not published:
        published = htmldate.find_date(tree, url=canonical, extensive_search=EXTENSIVE_DATE_SEARCH,
                                       original_date=True)
        date_source = None
        if published and published == url_day:
            date_source = "url"
        elif published and published not in found.dates:
            date_source = "text"
    sitename = found.sitename or site_host(canonical) or None
    return HtmlPage(title=found.title, title_from_tag=found.sources.get("title") == "title-tag", author=author,
                    published_at=published, sitename=sitename, section=found.section, canonical_url=canonical,
                    date_source=date_source, shown_author=shown_author, paywalled=found.paywalled,
                    not_article=_not_an_article(found, url, canonical), amp_of=_amp_of(tree, url, canonical),
                    other_titles=found.other_titles)


def _page_key(url: str) -> tuple[str, str, str]:
    """A URL as the page it names: host (without www.), path without a trailing slash, query; the
    scheme and fragment aside."""
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").removeprefix("www."), parts.path.rstrip("/"), parts.query
    except ValueError:
        return url, "", ""


def _amp_of(tree: html.HtmlElement, url: str | None, canonical: str | None) -> str | None:
    """The canonical page an AMP copy (`<html amp>` or `<html ⚡>`) names, where it is another page of
    the same site (its host without a leading www., amp. or m.): a copy fetched beside its page was a
    second article of the same text. None for any other page."""
    if not (url and canonical) or (tree.get("amp") is None and tree.get("⚡") is None):
        return None
    if _page_key(canonical) == _page_key(url) or _site(canonical) != _site(url) \
            or urlsplit(canonical).path in ("", "/"):  # a template naming the home page for every copy
        return None
    return canonical


def _site(url: str) -> str:
    return _SITE_PREFIX.sub("", site_host(url))


def _not_an_article(found: PageMeta, url: str | None, canonical: str | None) -> str | None:
    """Why the page's markup says it is no article: it forwards readers elsewhere (a meta refresh to
    another URL), or its structured data calls it a list of articles; None for any other page."""
    if found.forwards_to:
        target = _join(url or canonical, found.forwards_to)
        if _page_key(target) not in {_page_key(u) for u in (url, canonical) if u}:
            return (f"not an article: the page forwards readers to {target or found.forwards_to} "
                    "(a meta refresh); ingest that URL instead")
    if found.listing:
        return f"not an article: its structured data calls it a {found.listing}, a page listing articles"
    return None


def page_url(canonical: str | None, og_url: str | None, url: str | None) -> str | None:
    """The page's own absolute URL: <link rel=canonical> resolved against the URL it was read from (or
    else `og:url`), then `og:url`, then that URL. A candidate that does not resolve to an http(s) URL is
    passed over: a path with no base to resolve it against (a page read from a file), or words."""
    for candidate, base in ((canonical, url or og_url), (og_url, url)):
        if candidate and _is_http_url(resolved := _join(base, candidate)):
            return resolved
    return url


def _join(base: str | None, href: str) -> str:
    try:
        return urljoin(base or "", href)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return (parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= URL_MAX_CHARS
                and not any(c.isspace() for c in value))
    except ValueError:
        return False


_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|[-_]|\.html?|$)")
_URL_NAMED_DATE = re.compile(r"/((?:19|20)\d{2})/([A-Za-z]{3,9})/(0?[1-9]|[12]\d|3[01])(?:/|[-_]|\.html?|$)")


def _url_day(url: str | None) -> str | None:
    """The full date (year, month, day) a URL's path holds, as YYYY-MM-DD: numeric (`/2024/01/05/`,
    `/20240105-`) or with the month named (`/2024/jan/05/`, `/2024/january/5/`). None unless it is a
    day of the calendar."""
    path = urlsplit(url).path if url else ""
    day = None
    if m := _URL_DATE.search(path):
        day = "-".join(m.groups())
    else:
        for m in _URL_NAMED_DATE.finditer(path):
            if month := MONTH_NUMBERS.get(m[2].lower()):
                day = f"{m[1]}-{month:02d}-{int(m[3]):02d}"
                break
    try:
        return date.fromisoformat(day).isoformat() if day else None
    except ValueError:
        return None


def _days_apart(a: str, b: str) -> int:
    try:
        return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)
    except ValueError:
        return 99


def site_host(url: str | None) -> str:
    """The URL's host name without a leading www.; "" for none or a malformed URL (an unclosed IPv6
    bracket)."""
    try:
        return (urlsplit(url or "").hostname or "").removeprefix("www.")
    except ValueError:
        return ""


# ----------------------------------------------------------------------------------- parsing
def _html_parser(deep: bool) -> html.HTMLParser:
    """An lxml HTML parser set up as trafilatura's own, whose elements get their class in C; `deep`:
    with lxml's `huge_tree`, so libxml2 reads 2,048 levels of nesting instead of 256.

    lxml.html's parser asks a Python method (`HtmlElementClassLookup.lookup`) for the class of every
    element object it hands out, thousands a page across trafilatura's passes; this parser uses
    lxml's C lookup instead, which gives every element the plain `HtmlElement` class. Only the
    form-control subclasses (`InputElement.value` and the like) go, which neither trafilatura nor
    newsflow uses. Our own parser object: trafilatura's module-level parser is left as it is.
    """
    parser = html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                             remove_comments=True, remove_pis=True, huge_tree=deep)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=html.HtmlElement, comment=html.HtmlComment, pi=html.HtmlProcessingInstruction,
        entity=html.HtmlEntity))
    return parser


_PARSERS = threading.local()  # per thread: a parser's error log is its last parse's (`stopped_early`)


def _parser(deep: bool = False) -> html.HTMLParser:
    name = "deep" if deep else "standard"
    parser = getattr(_PARSERS, name, None)
    if parser is None:
        parser = _html_parser(deep)
        setattr(_PARSERS, name, parser)
    return parser


def stopped_early(deep: bool = False) -> bool:
    """Whether this thread's last `parse_html` (with `deep` as given) stopped before the end of the page,
    at one of libxml2's limits (nesting deeper than 256 levels, 2,048 when deep): the rest of the page
    is not in its tree."""
    return any(e.type_name == "ERR_RESOURCE_LIMIT" for e in _parser(deep).error_log)


# The repairs `trafilatura.load_html` makes before parsing: control characters libxml2 rejects, a
# doctype with a slash in it (libxml2 bug 1955915), a self-closing <html/> in the first lines.
_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DOCTYPE_WITH_SLASH = re.compile("^< ?! ?DOCTYPE[^>]*/[^<>]*>", re.IGNORECASE)
_SELF_CLOSING_HTML = re.compile(r"(<html.*?)\s*/>", re.IGNORECASE)
# One repair more: character references to those characters (`&#27;`, `&#x0B;`, `&#65535;`; with or
# without the semicolon, as HTML reads them). libxml2 puts the character into the tree, where the first
# element trafilatura makes with it fails ("All strings must be XML compatible") and the whole text of
# the page is lost. They are removed as the characters themselves are.
_INVALID_XML_REF = (r"&#(?:[xX]0*(?:[1-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF])(?![0-9a-fA-F])"
                    r"|0*(?:[1-8]|1[124-9]|2[0-9]|3[01]|6553[45])(?![0-9]));?")
_INVALID_XML_REFS = re.compile(_INVALID_XML_REF)
_INVALID_XML_REF_BYTES = re.compile(_INVALID_XML_REF.encode())


_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")  # gzip, zstd: bodies trafilatura.load_html decompresses


def decode_as_declared(raw: bytes | str, headers: list[tuple[str, str]] | None) -> bytes | str:
    """A page whose bytes are not UTF-8 as text in the charset it is declared in, in HTML's order: a
    byte-order mark, then the HTTP Content-Type header's charset (a page received over HTTP), then the
    page's own `<meta>` charset or XML declaration in its first 4 KB; `raw` itself otherwise, for the
    parser to guess. Guessing alone read a Latin-1 page as a Central European code page ("crčme" for
    "crème"), or a long mostly-ASCII page as ASCII, its few other characters replaced by U+FFFD. UTF-8
    bytes stay UTF-8 whatever is declared (old servers label every page ISO-8859-1), UTF-16/32 labels
    are not taken (they would read any bytes), and a charset that cannot read the bytes is passed over."""
    if not isinstance(raw, bytes) or raw.startswith(_COMPRESSED):
        return raw
    from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

    content_type = next((value for name, value in headers or () if name.lower() == "content-type"), None)
    declared = [c for c in (http_content_type_encoding(content_type), html_body_declared_encoding(raw))
                if c and not c.startswith(("utf-8", "utf-16", "utf-32"))]
    if not declared or read_bom(raw)[0]:
        return raw
    try:
        raw.decode("utf-8")
        return raw
    except UnicodeDecodeError:
        pass
    for charset in declared:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):  # not a text encoding (base64, rot13), or not this one
            continue
    return raw


# Text encoded as UTF-8 twice, a publisher's own bug that crawls are full of: "Investor’s" served as
# "Investorâ\x80\x99s". It reads as "Â", "Ã" or "â" followed by a C1 control or a Latin-1 sign
# (U+0080-U+00BF) or by "€", which no language writes. Only pages showing it are decoded and mended.
_DOUBLE_ENCODED = re.compile("[\u00c2\u00c3\u00e2][\u0080-\u00bf\u20ac]")
_DOUBLE_ENCODED_UTF8 = re.compile(rb"\xc3[\x82\x83\xa2](?:\xc2[\x80-\xbf]|\xe2\x82\xac)")  # the same, as bytes


def mend_double_encoding(raw: bytes | str) -> bytes | str:
    """The page with its stretches of text encoded twice as UTF-8 decoded once more (ftfy's
    `decode_inconsistent_utf8`, which leaves the rest as it is; ~5x cheaper than `ftfy.fix_encoding`,
    with the same result on the dev pages); `raw` itself when it shows none, or is not UTF-8."""
    if isinstance(raw, bytes):
        if not _DOUBLE_ENCODED_UTF8.search(raw):
            return raw
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    elif isinstance(raw, str) and _DOUBLE_ENCODED.search(raw):
        text = raw
    else:
        return raw
    from ftfy.fixes import decode_inconsistent_utf8

    mended = decode_inconsistent_utf8(text)
    return raw if mended == text else mended


def parse_html(raw: bytes | str, deep: bool = False) -> html.HtmlElement | None:
    """The page's tree, parsed with newsflow's parser (`_html_parser`), or None when it is not HTML.

    Accepts and repairs what `trafilatura.load_html` accepts and repairs, step for step, so the tree is
    the one trafilatura would build (tests/test_clean.py compares them), and one thing more: references
    to characters XML does not allow (`_INVALID_XML_REF`), on which trafilatura loses the whole text. UTF-8 bytes with nothing to
    strip are parsed as they are (`_parse_utf8`), the rest as text. Bytes that are not UTF-8
    (another charset, a compressed body) are decoded as `trafilatura.load_html` decodes them
    (`decode_file`: decompressed, their encoding guessed), then read as text.
    """
    if isinstance(raw, bytes):
        raw = _INVALID_XML_REF_BYTES.sub(b"", raw)  # ASCII: the same bytes in any charset but UTF-16/32
        tree = _parse_utf8(raw, deep)
        if tree is not None:
            return tree
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = decode_file(raw)
    beginning = raw[:50].lower()
    raw = _INVALID_XML_REFS.sub("", _INVALID_XML_CHARS.sub("", raw))
    if "doctype" in beginning:
        first, _, rest = raw.partition("\n")
        raw = _DOCTYPE_WITH_SLASH.sub("", first, count=1) + "\n" + rest
    for line in raw[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            raw = _SELF_CLOSING_HTML.sub(r"\1>", raw, count=1)
            break
    try:
        tree = html.fromstring(raw, parser=_parser(deep))
    except Exception:  # e.g. a str with an XML encoding declaration, which lxml takes only as bytes
        tree = None
    if tree is None or len(tree) < 1:  # then the text once more, as UTF-8 bytes
        tree = _parse_bytes(raw, deep)
    if tree is not None and "html" not in beginning and len(tree) < 2:
        return None  # no <html> at the start and a single block: not a page (binary or a fragment)
    return tree


_TAG = re.compile(r"<[A-Za-z!/]")


def parse_fragment(raw: bytes | str, deep: bool = False) -> html.HtmlElement | None:
    """A piece of HTML without the page around it (`<p>...</p>`, as a JSON record's `html` field or a
    CMS export holds it), parsed as the body of a page; None for what is not UTF-8 text with tags."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if "\x00" in raw or not _TAG.search(raw[:4096]):
        return None
    return parse_html(f"<html><body>{raw}</body></html>", deep)


# The same characters as UTF-8 bytes: the C0 controls are single bytes (no multi-byte character
# contains a byte below 0x80), U+FFFE and U+FFFF three.
_INVALID_XML_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
_DOCTYPE_WITH_SLASH_BYTES = re.compile(_DOCTYPE_WITH_SLASH.pattern.encode(), re.IGNORECASE)


def _parse_utf8(raw: bytes, deep: bool) -> html.HtmlElement | None:
    """`parse_html` of UTF-8 bytes without a character to strip, parsed straight from the bytes. They
    give the tree their decoded text gives, without the decoding and the pattern scan over every
    character (~1.5 ms of a 200 KB page). The checks and the repair of the page's beginning read its
    characters, as `parse_html`'s do. None when the bytes need `parse_html`'s other paths."""
    if len(raw.translate(None, _INVALID_XML_BYTES)) != len(raw):
        return None
    if b"\xef\xbf" in raw and any(c in raw for c in _NONCHARACTERS):
        return None
    try:
        head = raw.decode("utf-8")[:8192]  # the decoding also checks the bytes are UTF-8
    except UnicodeDecodeError:
        return None
    beginning = head[:50].lower()
    if "html" not in beginning:
        return None
    if "doctype" in beginning:  # the repair parse_html makes, to the bytes and to the head read next
        first, _, rest = raw.partition(b"\n")
        raw = _DOCTYPE_WITH_SLASH_BYTES.sub(b"", first, count=1) + b"\n" + rest
        first, _, rest = head.partition("\n")
        head = _DOCTYPE_WITH_SLASH.sub("", first, count=1) + "\n" + rest
    if any("<html" in line and line.endswith("/>") for line in head[:4096].splitlines()[:4]):
        return None
    try:
        tree = html.fromstring(raw, parser=_parser(deep))
    except Exception:
        return None
    return tree if tree is not None and len(tree) >= 1 else None


def _parse_bytes(text: str, deep: bool) -> html.HtmlElement | None:
    try:
        return html.fromstring(text.encode("utf8", "surrogatepass"), parser=_parser(deep))
    except Exception:
        return None


# ------------------------------------------------------------------------- newsflow's signals
def page_link_texts(tree: html.HtmlElement) -> frozenset[str]:
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


def page_headings(tree: html.HtmlElement, url: str | None) -> list[str]:
    """The texts of the page's first three <h1>s, without those that are wholly a link to another page
    (a logo or a section name set as <h1>, not this article's headline)."""
    out = []
    for h in tree.iter("h1"):
        text = " ".join(_spaced_text(h).split())
        links = [a for a in h.iter("a") if " ".join(_spaced_text(a).split()) == text]
        if text and links and urljoin(url or "", links[0].get("href") or "").rstrip("/") != (url or "").rstrip("/"):
            continue
        out.append(text)
        if len(out) == 3:
            break
    return out


# Elements that break a line where they start and end: a headline set as "WEEKEND<br>CODING" reads as two words.
_LINE_BREAKING = frozenset({"br", "div", "p"})
# Inside an <h1>, text that is not the headline's: its date, a subheading.
_NOT_HEADLINE = frozenset({"time", "h2", "h3", "h4", "h5", "h6"})


def _spaced_text(el: html.HtmlElement) -> str:
    """The headline's text as `text_content()` gives it, with a space where a <br>, <div> or <p> breaks it
    and without the <time> and subheadings set inside it."""
    parts: list[str] = []
    # A loop, not recursion: the parser reads 2,048 levels of nesting, past Python's recursion limit.
    todo: list[tuple[html.HtmlElement, str]] = [(el, "open")]
    while todo:
        e, step = todo.pop()
        if step == "open":
            if e.tag in _LINE_BREAKING:
                parts.append(" ")
            if e.text and isinstance(e.tag, str):
                parts.append(e.text)
            todo.append((e, "close"))
            todo.extend((child, "tail" if child.tag in _NOT_HEADLINE else "open") for child in reversed(e))
            continue
        if step == "close" and e.tag in _LINE_BREAKING:
            parts.append(" ")
        if e is not el and e.tail:
            parts.append(e.tail)
    return "".join(parts)


_H1_OVERLAP = 0.3  # measured on the WCXB dev articles: title accuracy 78.9% -> 86.1%
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|•·:»–—-]|::)\s+")


def choose_title(meta_title: str | None, headings: list[str], sitename: str | None, url: str | None,
                 other_titles: Sequence[str] = ()) -> str | None:
    """The article's title without the site name that <title> tags append ('Story | Site').

    The page's first <h1> that shares words with <title> is the headline, or the first that another
    title the page states (`other_titles`: JSON-LD's headline, twitter:title, <title>) is once its site
    label is dropped, unless it is the site's name; otherwise a trailing part of <title> after a
    separator is dropped when it names the site (its sitename, or its words run together in the host).
    """
    if not meta_title:
        return next((h for h in headings if len(h.split()) >= 2), None)
    host = re.sub(r"^https?://(?:www\.)?", "", url or "").split("/")[0].lower()
    site = normalize(sitename or "")
    title_words = set(normalize(meta_title).split())
    for h in headings:
        words = set(normalize(h).split())
        # The visible headline, when it shares words with <title> (not a logo or a section name).
        if len(words) >= 2 and len(words & title_words) / len(words) >= _H1_OVERLAP:
            return h
    # A teaser or the site's name as og:title: the <h1> is the headline when the page states it elsewhere.
    stated = {normalize(drop_title_label(_without_site_name(t, site, host)) or "") for t in other_titles}
    if confirmed := next((h for h in headings if len(h.split()) >= 2 and normalize(h) in stated
                          and not _names_site(normalize(h), site, host)), None):
        return confirmed
    return _without_site_name(meta_title, site, host)


def _without_site_name(title: str, site: str, host: str) -> str:
    """`title` without up to two trailing parts after separators that name the site ('Story | Site')."""
    kept = title.strip()
    for _ in range(2):
        parts = _TITLE_SEPARATORS.split(kept)
        if len(parts) < 2 or not _names_site(normalize(parts[-1]), site, host):
            break
        kept = kept[: kept.rfind(parts[-1])].rstrip(" |•·:»–—-")
    return kept or title


def _names_site(text: str, site: str, host: str) -> bool:
    """Whether normalized `text` is the site's name: its normalized sitename, or words run together in
    its host."""
    return bool(text) and (text == site or bool(host) and text.replace(" ", "") in host.replace("-", "").replace(".", ""))


# A short last part after a separator is a label (site, section, "Opinion", "Top 19 Companies"), not the
# headline's: measured on the WCXB dev articles, " | " + up to 4 words: 7 titles right, none wrong; a dash
# + up to 3 words after 3 or more: 7 right, 2 wrong; a second label before the first ("Story | Section |
# Site"): 1 right, none wrong.
_TITLE_LABEL_SEPARATORS = ((" | ", 4, 1), (" – ", 3, 3), (" — ", 3, 3), (" - ", 3, 3))
_SITE_PREFIX = re.compile(r"^(?:www|amp|m)\.")
# A dash between two numbers is a score or a range ("beat Ashford 3 - 0", "5 - 11 May"), not a separator.
_NUMBER_END, _NUMBER_START = re.compile(r"\b\d+$"), re.compile(r"\d+\b")


def drop_title_label(title: str | None) -> str | None:
    """The title without up to two short trailing labels after separators ("Story | Opinion", "Story - Site",
    "Story | Section | Site")."""
    for _ in range(2):
        shorter = _without_last_label(title) if title else None
        if shorter is None:
            break
        title = shorter
    return title


def _without_last_label(title: str) -> str | None:
    """The title without its short trailing label, or None when it ends in none. Words are counted as
    `word_count` counts them: a Chinese subtitle is no one-word label."""
    for separator, max_tail, min_head in _TITLE_LABEL_SEPARATORS:
        head, sep, tail = title.rpartition(separator)
        if sep and word_count(tail) <= max_tail and word_count(head) >= min_head \
                and not (separator != " | " and _NUMBER_END.search(head) and _NUMBER_START.match(tail)):
            return head.rstrip()
    return None
