"""HTML extraction: one page's HTML -> its text paragraphs and metadata (an `HtmlPage`).

trafilatura extracts the main text and the metadata; newsflow adds what its segment cleaner needs from
the same parsed tree: the texts of the page's links (the link-list signal) and its <h1>s (the title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml.etree import XPath

from tasks.segments import normalize


@dataclass(slots=True)
class HtmlPage:
    """What `extract_html` read from a page.

    `segments` are trafilatura's text lines in page order; `published_at` is the date as htmldate gives
    it (ISO date, not yet normalized); `section` the page's categories joined with ", ";
    `link_texts` the normalized texts of its links.
    """

    segments: list[str] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    published_at: str | None = None
    sitename: str | None = None
    section: str | None = None
    canonical_url: str | None = None
    link_texts: frozenset[str] = frozenset()


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


def extract_html(raw: bytes | str, url: str | None = None) -> HtmlPage:
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
    return HtmlPage(
        segments=text.split("\n") if text else [],
        title=choose_title(meta.title, headings, meta.sitename, meta.url or url),
        author=meta.author,
        published_at=meta.date,
        sitename=meta.sitename,
        section=", ".join(meta.categories) if meta.categories else None,
        canonical_url=meta.url,
        link_texts=link_texts,
    )
