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

from lxml.etree import XPath

from tasks import rules as R
from tasks.models import Article, RawDocument, Rejected, RemovedSegment, article_id_for

CLEANER_VERSION = "3"

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
_LIST_MARKER = re.compile(r"^(?:[-•*·▪►]|\d{1,2}[.)])\s+")
_SENTENCE_TAIL = ".!?\"'”’)"
# How far from the top / bottom a byline, dateline or standfirst may sit (in non-empty lines).
_HEAD_LINES, _TAIL_LINES = 5, 3
_LINK_LINE_MAX_WORDS = 20


@dataclass(slots=True)
class Cleaned:
    title: str | None
    segments: list[str]
    removed: list[RemovedSegment]
    section: str | None = None
    author: str | None = None
    flags: list[str] = field(default_factory=list)
    dateline: str | None = None

    @property
    def body(self) -> str:
        return "\n\n".join(self.segments)


def _is_title_case_name(line: str) -> bool:
    words = line.rstrip(": ").split()
    return 1 <= len(words) <= 4 and all(w[0].isupper() or not w[0].isalpha() for w in words)


def _is_link_line(line: str, norm: str, link_texts: frozenset[str]) -> bool:
    """The whole line (list marker aside) is the text of one link, and short: a teaser, not prose."""
    if line[:1].isdigit():  # "1. Title": the number is a list marker, not part of the link
        norm = normalize(_LIST_MARKER.sub("", line))
    return bool(norm) and norm.count(" ") < _LINK_LINE_MAX_WORDS and norm in link_texts


def _title_variant(norm_line: str, norm_title: str) -> bool:
    """A heading near the top that is the title with a word or two changed (site name, year, subtitle)."""
    a, b = norm_line.split(), norm_title.split()
    if not 4 <= len(a) <= 30 or not b:
        return False
    if norm_title.startswith(norm_line + " ") or norm_line.startswith(norm_title + " "):
        return True
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) >= 0.75


# ------------------------------------------------------------------------------- segment cleaner
def clean_segments(
    segments: list[str],
    title: str | None,
    *,
    detect_title: bool,
    link_texts: frozenset[str] | None = None,
) -> Cleaned:
    """Remove boilerplate segments (lines/paragraphs); detect the title first when asked to.

    Args:
        segments: the lines/paragraphs of the extracted text, in page order.
        title: the known title, if any (ignored when `detect_title`).
        detect_title: read an optional section label and the title from the first lines (text input).
        link_texts: normalized texts of the page's links (HTML input); lines that are entirely a link
            are a teaser signal.

    Every removal is recorded with its position in `segments` and the id of the rule that removed it.
    """
    segs = [s.strip() for s in segments]
    positions = [i for i, s in enumerate(segs) if s]
    norms = {i: normalize(segs[i]) for i in positions}
    removed: dict[int, str] = {}
    section = None
    author = None
    dateline = None
    flags: list[str] = []
    links = link_texts or frozenset()

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

    # 2. Line rules, repeated title and lines, bylines near the edges.
    norm_title = normalize(title) if title else None
    head = set(positions[:_HEAD_LINES])
    tail = set(positions[-_TAIL_LINES:])
    edge = head | tail
    seen: set[str] = set()
    for i in positions:
        if i in removed:
            continue
        line = segs[i]
        norm = norms[i]
        if norm_title and (norm == norm_title or (i in head and _title_variant(norm, norm_title))):
            removed[i] = R.REPEATED_TITLE.id
            continue
        rule = R.match_line_rule(line)
        if rule is not None:
            removed[i] = rule.id
            continue
        if i in edge or line.lower().startswith(("written by", "words by")):
            m = R.BYLINE.pattern.match(line) if len(line) <= R.BYLINE.max_chars else None
            if m:
                removed[i] = R.BYLINE.id
                author = author or m.group("author")
                continue
        if i in tail and len(line) <= R.AUTHOR_BIO.max_chars and R.AUTHOR_BIO.pattern.match(line):
            removed[i] = R.AUTHOR_BIO.id
            continue
        if norm in seen and len(norm.split()) >= 6 and len(line) <= 300 and line[0] not in "-|•*#/+{}<":
            removed[i] = R.REPEATED_LINE.id
            continue
        if norm:
            seen.add(norm)

    # 3. Link lists: runs of lines that are each entirely a link, or one under a teaser heading.
    if links:
        kept = [i for i in positions if i not in removed]
        is_link = {i: _is_link_line(segs[i], norms[i], links) for i in kept}
        order = {p: k for k, p in enumerate(positions)}
        intro = None  # the last prose line before the current run of link lines
        for k, i in enumerate(kept):
            if not is_link[i]:
                intro = i
                continue
            # A list the story itself introduces ("The courses we tried:") is content, not a teaser block.
            if intro is not None and segs[intro].endswith(":") and not any(
                    p in removed for p in positions[order[intro] + 1:order[i]]):
                continue
            prev_i = kept[k - 1] if k else None
            next_i = kept[k + 1] if k + 1 < len(kept) else None
            in_run = any(j is not None and is_link[j] and abs(order[j] - order[i]) == 1 for j in (prev_i, next_i))
            before = positions[order[i] - 1] if order[i] else None
            under_teaser = before is not None and removed.get(before) == R.TEASER.id
            at_edge = (k < 2 or k >= len(kept) - 2) and len(segs[i].split()) <= 6
            if in_run or under_teaser or at_edge:
                removed[i] = R.LINK_LIST.id

    # 4. Outlet lists: runs of short "Name:" lines, or one next to a source-list heading.
    kept = [i for i in positions if i not in removed]
    candidates = [i for i in kept if _OUTLET_LINE.match(segs[i]) and _is_title_case_name(segs[i])]
    cand_set = set(candidates)
    order = {p: k for k, p in enumerate(positions)}
    for i in candidates:
        k = order[i]
        neighbours = [positions[j] for j in (k - 1, k + 1) if 0 <= j < len(positions)]
        if any(n in cand_set or removed.get(n) == R.SOURCE_HEADING.id for n in neighbours):
            removed[i] = R.OUTLET_LIST.id

    # 5. A standfirst (a full sentence near the top) repeated inside the next paragraph.
    kept = [i for i in positions if i not in removed]
    for a, b in list(zip(kept, kept[1:]))[:_HEAD_LINES]:
        na, nb = norms[a], norms[b]
        if (len(na.split()) >= 12 and segs[a][-1] in _SENTENCE_TAIL and na != nb and na in nb):
            removed[a] = R.STANDFIRST_DUPLICATE.id

    # 6. A promotional closing paragraph (the last two lines only: the same words mid-story are prose).
    kept = [i for i in positions if i not in removed]
    for i in kept[-2:] if len(kept) > 3 else []:
        if len(segs[i]) <= R.PROMO_OUTRO.max_chars and R.PROMO_OUTRO.pattern.search(segs[i]):
            removed[i] = R.PROMO_OUTRO.id

    # 7. A dateline opening one of the first paragraphs moves to its own field. It is part of a line,
    # not a removed line, so it is kept in `dateline` (Article.extra["dateline"]), not in `removed`.
    kept = [i for i in positions if i not in removed]
    for i in kept[:3]:
        m = R.DATELINE.pattern.match(segs[i])
        if m and len(segs[i]) > 80:
            dateline = m.group("dateline").rstrip(" –—-").strip()
            segs[i] = segs[i][m.end():]
            break

    out_segments = [segs[i] for i in positions if i not in removed]
    removed_list = sorted(
        (RemovedSegment(position=i, text=segs[i], rule=rule) for i, rule in removed.items() if rule != "title"),
        key=lambda r: r.position,
    )
    return Cleaned(title=title, segments=out_segments, removed=removed_list, section=section,
                   author=author, flags=flags, dateline=dateline)


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
