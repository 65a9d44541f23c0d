"""A page's metadata from its structured data: JSON-LD, OpenGraph and other <meta> tags, <time datetime>.

News pages state their headline, byline, publication date, site and section for search engines and
social networks; reading those is one walk over the tree's <meta>, <link>, <script> and <time>
elements, much cheaper than trafilatura's metadata pass, which `tasks/extract.py` runs only for the
fields this leaves empty. Each field keeps the first value found in this order of trust:

- title: `og:title`, `twitter:title`, other title metas, JSON-LD `headline`, then <title>;
- author: JSON-LD `author` names, then author metas (`author`, `article:author` when it is a name and
  not a profile URL, `citation_author`, `dc.creator`, `parsely-author`, ...);
- date: JSON-LD `datePublished`, `article:published_time`, other publication-date metas, then
  `<time datetime>` marked as the publication time (`itemprop=datePublished`, `pubdate`, a class with
  "publish"): the timestamp as written, with its UTC offset, when the page states a time and an offset;
  else the day (YYYY-MM-DD) as written;
- sitename: `og:site_name`, JSON-LD `publisher.name`, `application-name`;
- section: JSON-LD `articleSection`, `article:section`;
- canonical URL: <link rel=canonical> and `og:url` as written (`tasks/extract.py` resolves them).
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from lxml import etree, html

# JSON-LD types whose fields are the article's own (schema.org's Article and its subtypes in use).
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle", "blogposting",
    "socialmediaposting", "liveblogposting", "techarticle", "scholarlyarticle", "report",
    "medicalscholarlyarticle", "advertisercontentarticle", "satiricalarticle", "discussionforumposting",
})
PAGE_TYPES = frozenset({"webpage", "itempage", "medicalwebpage", "collectionpage", "aboutpage", "faqpage"})
# Pages that list articles (schema.org): an archive, tag or section page, search results, an author's page.
LISTING_TYPES = {t.lower(): t for t in ("CollectionPage", "SearchResultsPage", "ProfilePage")}
# A meta refresh's content: a delay, then the URL ("5; url=/moved", "0;URL='x'", "0; /moved"). One that
# waits longer than FORWARD_MAX_DELAY_S reloads a page (a live page's "900; url=same?refresh=1").
_REFRESH = re.compile(r"\s*(\d+(?:\.\d*)?)?\s*[;,]?\s*(?:url\s*=\s*)?(.*)", re.IGNORECASE | re.DOTALL)
FORWARD_MAX_DELAY_S = 10.0
SITE_TYPES = frozenset({"website", "organization", "newsmediaorganization", "corporation"})

TITLE_METAS = ("og:title", "twitter:title", "dc.title", "citation_title", "sailthru.title", "parsely-title",
               "headline")
AUTHOR_METAS = ("author", "article:author", "citation_author", "dc.creator", "dcterms.creator",
                "parsely-author", "sailthru.author", "byl", "twitter:creator:name", "book:author",
                "cxenseparse:author")
DATE_METAS = ("article:published_time", "og:published_time", "datepublished", "article.published",
              "published_time", "published-date", "publish-date", "publish_date", "publishdate",
              "pubdate", "date", "dc.date", "dc.date.issued", "dcterms.date", "dcterms.issued",
              "dcterms.created", "dc.date.created", "citation_publication_date", "citation_date",
              "citation_online_date", "parsely-pub-date", "sailthru.date", "article.created",
              "article_date_original", "originalpublicationdate", "date.release", "cxenseparse:recs:publishtime",
              "og:article:published_time", "bt:pubdate", "pdate", "displaydate", "release_date", "published",
              "published_at", "publication_date")
SITENAME_METAS = ("og:site_name", "application-name", "al:ios:app_name", "twitter:app:name:iphone")
SECTION_METAS = ("article:section", "og:article:section", "section", "parsely-section", "category",
                 "article.section", "sailthru.section")

_ISO_DAY = re.compile(r"^\s*(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_ISO_STAMP = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})\s*$")
_URL_LIKE = re.compile(r"^(?:https?:)?//|^www\.|\.(?:com|org|net)/", re.IGNORECASE)
_BY = re.compile(r"^\s*(?:by|von|par|por|di|door)\s*:?\s+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# Lists and objects looked at in one JSON-LD script: a page's dozens; a script of a million numbers is not
# walked to its end.
_MAX_LD_ITEMS = 10_000


@dataclass(slots=True)
class PageMeta:
    """Metadata read from a page's structured data; None where the page states nothing usable.

    `sources` says where each field came from ("json-ld", "meta", "time", "title-tag", ...), and
    `dates` holds every publication or modification day the structured data names (to tell a date
    found elsewhere apart from one the page states).
    """

    title: str | None = None
    author: str | None = None
    published_at: str | None = None
    sitename: str | None = None
    section: str | None = None
    canonical_url: str | None = None  # <link rel=canonical>'s href as written: may be relative
    og_url: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    dates: set[str] = field(default_factory=set)
    weak_author: bool = False  # an organization, the site itself or a user handle: a byline may do better
    forwards_to: str | None = None  # a <meta http-equiv=refresh>'s URL as written: the page sends readers on
    listing: str | None = None  # the JSON-LD type of a list of articles (CollectionPage, ...), with no Article
    paywalled: bool = False  # the article's JSON-LD says isAccessibleForFree: false
    other_titles: list[str] = field(default_factory=list)  # the titles the page states besides `title`


@dataclass
class _Elements:
    """What one walk over the page collects: meta contents by key, canonical link, <title>, JSON-LD
    objects and <time datetime> elements."""

    metas: dict[str, str] = field(default_factory=dict)
    canonical: str | None = None
    title_tag: str | None = None
    ld_objects: list[dict[str, Any]] = field(default_factory=list)
    times: list[html.HtmlElement] = field(default_factory=list)
    refresh: str | None = None  # the first <meta http-equiv=refresh>'s content


def _collect(tree: html.HtmlElement) -> _Elements:
    """One walk over the page's <meta>, <link>, <script type=ld+json>, <title> and <time> elements."""
    found = _Elements()
    metas = found.metas
    for el in tree.iter("meta", "link", "script", "title", "time"):
        tag = el.tag
        if tag == "meta":
            key = el.get("property") or el.get("name") or el.get("itemprop")
            content = el.get("content")
            if key and content and content.strip():
                key = key.strip().lower()
                if key not in metas:
                    metas[key] = content.strip()
                elif key in ("author", "article:author") and content.strip() not in metas[key]:
                    metas[key] += "; " + content.strip()
            elif content and found.refresh is None and (el.get("http-equiv") or "").strip().lower() == "refresh" \
                    and not any(a.tag == "noscript" for a in el.iterancestors()):  # for readers without scripts
                found.refresh = content
        elif tag == "link":
            if found.canonical is None and (el.get("rel") or "").strip().lower() == "canonical":
                found.canonical = (el.get("href") or "").strip() or None
        elif tag == "script":
            if "ld+json" in (el.get("type") or "").lower() and el.text:
                found.ld_objects.extend(_json_ld_objects(el.text))
        elif tag == "title":
            if found.title_tag is None and el.text:
                found.title_tag = _clean(el.text_content())
        elif el.get("datetime"):
            found.times.append(el)
    return found


def _structured_days(found: _Elements) -> set[str]:
    """Every day the structured data names, for telling later which source a fallback's date came from."""
    days = {to_day(o.get(k)) for o in found.ld_objects for k in ("datePublished", "dateCreated", "dateModified")}
    days |= {to_day(v) for k, v in found.metas.items() if "date" in k or "time" in k or "pub" in k}
    days |= {to_day(t.get("datetime")) for t in found.times}
    return {d for d in days if d}


def read_structured(tree: html.HtmlElement) -> PageMeta:
    """The page's metadata from structured data: title metas, JSON-LD, standard metas, <time>."""
    found = _collect(tree)
    metas, canonical, title_tag, ld_objects, times = (found.metas, found.canonical, found.title_tag,
                                                      found.ld_objects, found.times)
    meta = PageMeta()
    article = next((o for o in ld_objects if _types(o) & ARTICLE_TYPES), None)
    page = next((o for o in ld_objects if _types(o) & PAGE_TYPES), None)
    site = next((o for o in ld_objects if _types(o) & SITE_TYPES), None)
    meta.dates = _structured_days(found)

    def take(name: str, value: str | None, source: str) -> None:
        if value and getattr(meta, name) is None:
            setattr(meta, name, value)
            meta.sources[name] = source
        elif value and name == "title" and value != meta.title:
            meta.other_titles.append(value)

    by_id = {o["@id"]: o for o in ld_objects if isinstance(o.get("@id"), str)}
    org_authors: set[str] = set()
    for key in TITLE_METAS:  # before JSON-LD's headline, which is more often a shortened or SEO variant
        take("title", _clean(metas.get(key)), "meta")
    for obj, source in ((article, "json-ld"), (page, "json-ld-page")):
        if obj is None:
            continue
        take("title", _clean(_text(obj.get("headline"))), source)
        take("author", _authors(obj.get("author"), by_id, org_authors), source)
        take("published_at", to_date(_text(obj.get("datePublished"))), source)
        take("section", _clean(_joined(obj.get("articleSection"))), source)
        take("sitename", _clean(_name(obj.get("publisher"))), source)
    take("title", title_tag, "title-tag")
    for key in AUTHOR_METAS:
        take("author", _meta_author(metas.get(key)), "meta")
    for key in DATE_METAS:
        take("published_at", to_date(metas.get(key)), "meta")
    take("published_at", _time_day(times), "time")
    for key in SITENAME_METAS:
        take("sitename", _clean(metas.get(key)), "meta")
    if site is not None:
        take("sitename", _clean(_text(site.get("name"))), "json-ld")
    for key in SECTION_METAS:
        take("section", _clean(metas.get(key)), "meta")
    if metas.get("twitter:label1", "").lower().startswith(("written by", "author", "by")):
        take("author", _meta_author(metas.get("twitter:data1")), "meta")
    if meta.author:
        author = meta.author.lower()
        meta.weak_author = (" " not in author or author in org_authors
                            or author in {(meta.sitename or "").lower(), (_name(article.get("publisher")) or "").lower() if article else ""})
    take("canonical_url", canonical, "link")
    take("og_url", (metas.get("og:url") or "").strip() or None, "meta")
    meta.forwards_to = _refresh_url(found.refresh)
    if article is None:
        meta.listing = next((LISTING_TYPES[t] for o in ld_objects for t in _types(o) if t in LISTING_TYPES), None)
    else:
        meta.paywalled = str(article.get("isAccessibleForFree")).strip().lower() in ("false", "no", "0")
    return meta


def _refresh_url(content: str | None) -> str | None:
    """The URL a meta refresh's content sends readers to soon ("0; url=/moved"), or None when it only
    reloads the page ("300") or waits longer than FORWARD_MAX_DELAY_S."""
    found = _REFRESH.match(content or "")
    if not found or float(found.group(1) or 0) > FORWARD_MAX_DELAY_S:
        return None
    target = found.group(2).strip()
    if target[:1] in ("'", '"'):  # quoted: up to the closing quote, apostrophes of an unquoted URL kept
        target = target[1:].split(target[0], 1)[0].strip()
    return target or None


# ------------------------------------------------------------------------------------- JSON-LD
def _json_ld_objects(text: str) -> list[dict[str, Any]]:
    """The JSON-LD script's objects, flattened: lists, @graph and objects nested in lists."""
    text = text.strip()
    if text.startswith("<!--") or text.startswith("//<![CDATA["):
        text = text.split("\n", 1)[-1] if "\n" in text else text[4:]
    text = text.rstrip().removesuffix("-->").removesuffix("//]]>").rstrip().rstrip(";")
    try:
        data = json.loads(text)
    except RecursionError:  # nested deeper than the decoder goes ([[[[...): no metadata, the page stands
        return []
    except ValueError:
        try:  # raw newlines or tabs inside strings are common and harmless
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            return []
    out: list[dict[str, Any]] = []
    queue = deque([data])
    looked = 0
    while queue and len(out) < 50 and looked < _MAX_LD_ITEMS:
        item = queue.popleft()
        looked += 1
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                queue.extend(graph)
            main = item.get("mainEntity")
            if isinstance(main, (dict, list)):
                queue.append(main)
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower().rsplit("/", 1)[-1]}
    if isinstance(t, list):
        return {x.lower().rsplit("/", 1)[-1] for x in t if isinstance(x, str)}
    return set()


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value if isinstance(value, str) else None


def _joined(value: Any) -> str | None:
    if isinstance(value, list):
        return ", ".join(v.strip() for v in value if isinstance(v, str) and v.strip()) or None
    return value if isinstance(value, str) else None


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return value if isinstance(value, str) else None


def _authors(value: Any, by_id: dict[str, dict[str, Any]], orgs: set[str]) -> str | None:
    """JSON-LD `author`: a name, a Person or Organization, an @id reference, or a list of them."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
            item = by_id.get(item["@id"], item)
        name = _name(item) if isinstance(item, dict) else item
        if isinstance(item, dict) and name and _types(item) & SITE_TYPES:
            orgs.add(name.strip().lower())
        name = _meta_author(name) if isinstance(name, str) else None
        if name and name not in names:
            names.append(name)
    return join_names(names)


def join_names(names: list[str]) -> str | None:
    """Several authors as a byline writes them: "A and B", "A, B and C"; a longer list with commas only."""
    if len(names) <= 2:
        return " and ".join(names) or None
    if len(names) > 3:
        return ", ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _meta_author(value: str | None) -> str | None:
    """A byline from a meta tag or JSON-LD: without "By", and not a profile URL or a handle."""
    value = _clean(value)
    if not value or _URL_LIKE.search(value) or value.startswith("@"):
        return None
    value = _BY.sub("", value)
    return value if any(c.isalpha() for c in value) else None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = _SPACE.sub(" ", html.fromstring(value).text_content() if "&" in value or "<" in value else value)
    return value.strip() or None


# ---------------------------------------------------------------------------------------- dates
def to_day(value: Any) -> str | None:
    """The day (YYYY-MM-DD) of an ISO 8601 date or timestamp, as written (no time-zone shift); also a
    date written out ("July 17, 2025", "17 Jul 2025"), as some pages put in their date metas."""
    if not isinstance(value, str):
        return None
    m = _ISO_DAY.match(value)
    if not m:
        days = text_days(value[:40])
        return days[0] if days else None
    return _day(*(int(g) for g in m.groups()))


def to_date(value: Any) -> str | None:
    """An ISO 8601 timestamp that states its time and UTC offset, in Python's ISO form with that offset
    ("2026-12-06T11:05:25+14:00": the instant, and the day as the page writes it); else the day
    (`to_day`): a time without an offset is in a zone the page does not name."""
    day = to_day(value)
    if day and _ISO_STAMP.match(value):
        try:
            return datetime.fromisoformat(value.strip().replace(" ", "T", 1)).isoformat()
        except ValueError:  # "24:00", a 61st second, an offset of a day or more
            pass
    return day


def _day(year: int, month: int, day: int) -> str | None:
    if not (1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


# Month names and abbreviations as pages and URLs write them, lower-cased, to the month's number.
MONTH_NUMBERS = {name: i for i, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
# Written-out dates as pages show them: "July 17, 2025", "Jul. 17th 2025", "17 July 2025", "2025-07-17",
# and numeric "07/17/2025" (month first; day first on pages that say so: `text_days`) or "17.07.2025"
# (day first).
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})\b")
# Month names of other languages, as their pages write a date: day first ("12 de marzo de 2024",
# "12. März 2024", "1er févr. 2024", "12 марта 2024", "12 Mart 2024"). Lower-cased, to the month's number.
_OTHER_MONTHS = {name: i for i, names in enumerate((
    ("janvier", "janv", "enero", "janeiro", "gennaio", "januar", "jänner", "januari", "января", "ocak"),
    ("février", "fevrier", "févr", "fevr", "febrero", "fevereiro", "febbraio", "februar", "februari", "февраля",
     "şubat"),
    ("mars", "marzo", "março", "marco", "märz", "maart", "марта", "mart"),
    ("avril", "avr", "abril", "aprile", "april", "апреля", "nisan"),
    ("mai", "mayo", "maio", "maggio", "mei", "мая", "mayıs"),
    ("juin", "junio", "junho", "giugno", "juni", "июня", "haziran"),
    ("juillet", "juil", "julio", "julho", "luglio", "juli", "июля", "temmuz"),
    ("août", "aout", "agosto", "augustus", "августа", "ağustos"),
    ("septembre", "septiembre", "setiembre", "setembro", "settembre", "сентября", "eylül"),
    ("octobre", "octubre", "outubro", "ottobre", "oktober", "октября", "ekim"),
    ("novembre", "noviembre", "novembro", "ноября", "kasım"),
    ("décembre", "decembre", "déc", "diciembre", "dezembro", "dicembre", "dezember", "декабря", "aralık"),
), start=1) for name in names}
_OTHER_MONTH = "(" + "|".join(sorted(map(re.escape, _OTHER_MONTHS), key=len, reverse=True)) + r")\.?"
_TEXT_DATES = (
    (re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})\b", re.IGNORECASE), (2, 0, 1)),
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+((?:19|20)\d{2})\b", re.IGNORECASE),
     (2, 1, 0)),
    (re.compile(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b"), (0, 1, 2)),
    (_SLASHED, (2, 0, 1)),
    (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.((?:19|20)\d{2})\b"), (2, 1, 0)),
    (re.compile(r"\b(\d{1,2})(?:er|º)?\.?\s+(?:de\s+)?" + _OTHER_MONTH + r"\s+(?:de\s+)?((?:19|20)\d{2})\b",
                re.IGNORECASE), (2, 1, 0)),
    (re.compile(r"((?:19|20)\d{2})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]"), (0, 1, 2)),  # CJK, Korean
)
_DAY_FIRST = (2, 1, 0)
_MONTHS_READ = {**MONTH_NUMBERS, **_OTHER_MONTHS}


def text_days(text: str, day_first: bool = False) -> list[str]:
    """The days (YYYY-MM-DD) of the dates written in `text`, in the order they appear. A date written
    with slashes is read month first ("03/12/2024" is 12 March) unless `day_first` (the page's
    language writes the day first: `slashes_day_first`), and the other way when only that order
    gives a date ("17/03/2024")."""
    found = []
    for pattern, order in _TEXT_DATES:
        orders = ((_DAY_FIRST, order) if day_first else (order, _DAY_FIRST)) if pattern is _SLASHED else (order,)
        for match in pattern.finditer(text):
            groups = match.groups()
            for y, m, d in orders:
                month = groups[m]
                month_no = int(month) if month.isdigit() else _MONTHS_READ.get(month.lower().rstrip("."))
                day = _day(int(groups[y]), month_no or 0, int(groups[d]))
                if day:
                    found.append((match.start(), day))
                    break
    return [day for _, day in sorted(found)]


# English as written in the United States and the Philippines (and `en` alone, or no language stated):
# dates with slashes put the month first; other languages and regions put the day first.
_MONTH_FIRST_LANGS = frozenset({"", "en", "en-us", "en-ph", "en-um", "en-as", "en-gu", "en-pr", "en-vi"})


def slashes_day_first(tree: html.HtmlElement) -> bool:
    """Whether the page's language (`<html lang>`) writes a date with slashes day first: every one
    but US English (and a page that states none, or `en` alone)."""
    lang = (tree.get("lang") or tree.get("xml:lang") or "").strip().lower().replace("_", "-")
    return lang not in _MONTH_FIRST_LANGS


def _time_day(times: Iterable[html.HtmlElement]) -> str | None:
    """The day of the <time> element the page marks as its publication time."""
    for t in times:
        marks = " ".join(filter(None, (t.get("itemprop"), t.get("class"), t.get("pubdate") is not None and "pubdate")))
        if "pub" in marks.lower() or "datepublished" in marks.lower():
            day = to_date(t.get("datetime"))
            if day:
                return day
    return None


# -------------------------------------------------------------------------------------- byline
# Elements that mark the byline in the page's markup (microdata, rel=author, the usual class names). An
# XPath of all these tests costs ~6 ms on a large page; a cheap one for elements with any of the
# attributes, then the tests in Python, ~2 ms, with the same elements in the same order.
_MARKED = etree.XPath("//*[@class or @id or @rel or @itemprop or @data-testid or @data-component] | //author")
_BYLINE_CLASS = re.compile(r"author|Author|byline|Byline|username|screenname|posted-by|submitted-by|journalist"
                           r"|staff-writer")


def _marks_byline(el: html.HtmlElement) -> bool:
    get = el.get
    cls, ident = get("class"), get("id")
    return (el.tag == "author" or get("rel") == "author" or "author" in (get("itemprop") or "")
            or (cls is not None and (cls == "byl" or _BYLINE_CLASS.search(cls) is not None))
            or (ident is not None and ("author" in ident or "Author" in ident))
            or "Author" in (get("data-testid") or "") or "Byline" in (get("data-component") or ""))


def _byline_elements(tree: html.HtmlElement) -> list[html.HtmlElement]:
    return [el for el in _MARKED(tree) if _marks_byline(el)]


_BYLINE_SKIP = re.compile(r"comment|avatar|bio\b|related|sidebar|reply|description|about|image|photo|img",
                          re.IGNORECASE)
_BYLINE_CONTEXT_SKIP = re.compile(r"comment|related|sidebar|widget", re.IGNORECASE)
_NOT_BYLINE_TAGS = frozenset({"meta", "link", "script", "style", "img", "body", "html", "article", "main",
                              "ul", "ol", "form", "nav", "header", "footer"})
_NOT_NAMES = frozenset({"author", "authors", "admin", "administrator", "staff", "editor", "about the author",
                        "sign in", "log in", "login", "more", "all posts", "view all posts", "the author",
                        "our team", "guest author", "guest post"})
_BYLINE_PREFIX = re.compile(
    r"^\s*(?:(?:(?:written|posted|published|reviewed|edited|reported|authored|article|story|words|text)\s+by|by|von|par"
    r"|por|author|autor|written|posted)\b\s*:?|(?:作者|记者|記者|撰文)[:：]?)\s*",  # Chinese labels, no space needed
    re.IGNORECASE)
_BYLINE_CUT = re.compile(r"\s*[|•·—–].*$|(?:^|\s+)(?:on|updated|published|posted|last|reviewed|fact)\b.*$"
                         r"|\s+(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?$"
                         r"|\s+(?:january|february|march|april|june|july|august|september|october|november|december)$",
                         re.IGNORECASE)
# Lower-case words a name may hold ("Ludwig van Beethoven"); any other lower-case word means a phrase.
_NAME_PARTICLES = frozenset({"de", "van", "von", "der", "den", "da", "del", "della", "di", "du", "la", "le", "bin",
                             "al", "y", "e", "and", "&", "dos", "das", "ter", "ten", "st."})
_DIGITS = re.compile(r"\d")


def looks_like_name(text: str) -> bool:
    """A person's or a team's name: capitalised words (name particles aside; scripts without capitals,
    such as Chinese, Arabic or Hindi, pass), not a label like "Author"."""
    return (bool(text) and text.lower() not in _NOT_NAMES
            and all(not w[0].islower() or w.lower() in _NAME_PARTICLES for w in text.split()))


def _starts_like_a_name(text: str) -> bool:
    """Whether `text` begins as a name does: a capital, or a letter of a script without capitals."""
    return text[:1].isalpha() and not text[0].islower()


def _in_skipped_context(el: html.HtmlElement) -> bool:
    """Whether `el` sits in comments, a related-posts list, a sidebar or a widget."""
    return any(_BYLINE_CONTEXT_SKIP.search(" ".join(filter(None, (a.get("class"), a.get("id")))))
               for a in el.iterancestors() if a.tag not in ("body", "html"))


def find_byline(tree: html.HtmlElement) -> str | None:
    """The author's name from the page's byline markup, when no structured data names one.

    The first element marked as the byline (rel/itemprop "author", a class or id with "author" or
    "byline") whose text reads like a name: up to six words before any digit or separator, outside
    comments, bio boxes and related-post lists; "By", "Written by" and the like are dropped. One word
    is taken only from an element that says it is the author (rel or itemprop "author", an
    "author-name" class).
    """
    for el in _byline_elements(tree):
        if el.tag in _NOT_BYLINE_TAGS:
            continue
        marks = " ".join(filter(None, (el.get("class"), el.get("id"))))
        if marks and _BYLINE_SKIP.search(marks):
            continue
        text = _SPACE.sub(" ", " ".join(el.itertext())).strip()
        text = _BYLINE_PREFIX.sub("", text)
        text = _BYLINE_CUT.sub("", _DIGITS.split(text, 1)[0].strip()).strip(" ,;:-|")
        if not text or len(text) > 60 or _URL_LIKE.search(text) or not _starts_like_a_name(text):
            continue
        words = text.split()
        strong = el.get("rel") == "author" or "author" in (el.get("itemprop") or "") or "name" in marks.lower()
        if len(words) > 6 or (len(words) == 1 and not (strong and len(text) >= 3)) or text.lower() in _NOT_NAMES:
            continue
        if _in_skipped_context(el):
            continue
        return text
    return None


# Where pages name their author without byline markup: a link to the author's page (/author/<slug>,
# /authors/<slug>), the portrait in an author box (its alt text), or a label ("Author", "Written by",
# "Contributors") with the name in the next element.
_AUTHOR_LINKS = etree.XPath("//a[contains(@href, '/author/') or contains(@href, '/authors/')]")
_AUTHOR_IMAGES = etree.XPath(
    "//*[contains(@class, 'author') or contains(@class, 'Author')]//img[@alt]")
_AUTHOR_LABEL = re.compile(
    r"^(?:authors?|written by|article by|words by|contributors?|posted by)\s*:?$", re.IGNORECASE)
_ALT_PREFIX = re.compile(r"^(?:picture|photo|image|avatar|headshot|portrait|profile picture) of\s+", re.IGNORECASE)


def _plain_name(text: str | None) -> str | None:
    """`text` when it reads as a person's name of two to five words (a title after a comma dropped)."""
    text = _SPACE.sub(" ", text or "").strip()
    text = _BYLINE_PREFIX.sub("", _ALT_PREFIX.sub("", text)).split(",")[0].strip(" .:-|")
    words = text.split()
    if not 2 <= len(words) <= 5 or len(text) > 60 or _DIGITS.search(text) or _URL_LIKE.search(text):
        return None
    return text if looks_like_name(text) else None


def author_elsewhere(tree: html.HtmlElement) -> str | None:
    """The author's name where no byline markup holds it (see above): the first author-page link, an
    author box's portrait or a labelled name that reads as a name, outside comments and related lists."""
    for link in _AUTHOR_LINKS(tree):
        name = (_plain_name(link.text_content()) or _plain_name(link.get("aria-label"))
                or _plain_name(link.get("title")))
        if name and not _in_skipped_context(link):
            return name
    for image in _AUTHOR_IMAGES(tree):
        name = _plain_name(image.get("alt"))
        if name and not _in_skipped_context(image):
            return name
    for el in tree.iter("h2", "h3", "h4", "h5", "strong", "b", "span", "dt", "div", "p"):
        label = el.text.strip() if el.text else ""
        if not label or not _AUTHOR_LABEL.match(label) or len(el) > 0:
            continue
        if el.tail and el.tail.strip():  # <strong>Contributors:</strong> Janet Loughrey
            name = _plain_name(el.tail)
        else:
            following = el.getnext()
            name = _plain_name(following.text_content()) if following is not None else None
        if name and not _in_skipped_context(el):
            return name
    return None


# --------------------------------------------------------------- the text around the headline
# Where a page shows its date and byline when its markup does not say so: just above or below the
# headline. Measured on the WCXB dev articles: the first date from 100 characters before the first <h1>
# to 800 after it is the publication day on 36 of the pages whose structured data has none (1 worse).
_BEFORE_HEADING, _AFTER_HEADING = 100, 800
_INVISIBLE = frozenset({"script", "style", "noscript", "template", "svg", "head", "title", "select", "option"})


def heading_text(tree: html.HtmlElement) -> list[str]:
    """The visible text chunks (text nodes, in page order) around the page's first <h1>: the last
    `_BEFORE_HEADING` characters before it and `_AFTER_HEADING` from its start. Empty without an <h1>."""
    heading = next(tree.iter("h1"), None)
    if heading is None:
        return []
    chunks: list[str] = []
    seen, size = False, 0
    walker = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walker:
        if event == "start" and (not isinstance(el.tag, str) or el.tag in _INVISIBLE):
            walker.skip_subtree()
            continue
        if event == "start" and el is heading:
            seen, chunks = True, _last_chars(chunks, _BEFORE_HEADING)
        chunk = el.text if event == "start" else el.tail
        chunk = _SPACE.sub(" ", chunk).strip() if chunk else ""
        if chunk:
            chunks.append(chunk[:_AFTER_HEADING - size] if seen else chunk)
            if seen:
                size += len(chunk) + 1
                if size >= _AFTER_HEADING:
                    break
    return chunks if seen else []


def _last_chars(chunks: list[str], limit: int) -> list[str]:
    """The trailing chunks whose length adds up to at most `limit` characters."""
    kept: list[str] = []
    total = 0
    for chunk in reversed(chunks):
        total += len(chunk) + 1
        if total > limit:
            break
        kept.append(chunk)
    return kept[::-1]


def visible_date(chunks: list[str], day_first: bool = False) -> str | None:
    """The first date written around the headline (`heading_text`), as YYYY-MM-DD (`text_days`)."""
    days = text_days(" ".join(chunks), day_first)
    return days[0] if days else None


_VISIBLE_BY = re.compile(r"(?:^|[\s|•·,])(?:[Bb]y|BY|[Ww]ritten [Bb]y|[Aa]uthor|[Aa]uthored [Bb]y|[Pp]osted [Bb]y)\s*:?(?:\s+|$)")


def visible_byline(chunks: list[str]) -> str | None:
    """The name after a "By" around the headline (`heading_text`): the rest of its text node, or the
    next node when "By" stands alone (a link or a span with the name)."""
    for i, chunk in enumerate(chunks):
        m = _VISIBLE_BY.search(chunk)
        if not m:
            continue
        rest = chunk[m.end():].strip() or (chunks[i + 1] if i + 1 < len(chunks) else "")
        name = _BYLINE_CUT.sub("", _DIGITS.split(rest, 1)[0].strip()).strip(" ,;:-|")
        if 1 < len(name.split()) <= 6 and len(name) <= 60 and name[0].isupper() and looks_like_name(name):
            return name
    return None
