"""Turn web sources (page URLs, RSS/Atom feeds, sitemaps, OPML feed lists) into RawDocuments,
skipping what is known.

Feeds are parsed from bytes with feedparser (never handed a URL; documents declaring XML entities are
refused). Sitemaps, sitemap indexes and gzipped sitemaps are parsed with lxml with entity resolution,
DTD loading and network access switched off. What was seen before comes in as a `FetchState` (plain
values read from the warehouse) and what changed goes out with each document (or in the `Harvest`),
so the flow saves it in the transaction that loads the document.

A `Harvester` walks many hosts at once (tasks/crawl.py `Lanes`: one lane per host, the fetcher's
manners per request). Items that failed transiently are remembered with a next attempt time (the
frontier) and tried again by a later run even when their feed has not changed; items that failed
for good are marked seen and not tried again.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from newsflow import settings
from newsflow.urls import BadURL, check_url, without_tracking
from tasks.archive import http_exchange
from tasks.crawl import LANES_PER_CONNECTION, CrawlStream, Lanes
from tasks.fetch import ACCEPT, Fetcher, FetchError, FetchPolicy, FetchResult, gunzip_limited
from tasks.models import RawDocument, sha256_hex

Kind = Literal["page", "feed", "sitemap", "opml"]
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_TYPES = {"text/plain"}
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?(rss|feed|RDF|urlset|sitemapindex|opml|html)\b")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class DiscoveryError(ValueError):
    """A feed or sitemap that cannot be parsed; the message is the quarantine reason."""


@dataclass(slots=True)
class Item:
    """One link found in a feed or sitemap, with what the listing said about it."""

    url: str
    title: str | None = None
    published: str | None = None
    summary: str | None = None


@dataclass(slots=True)
class UrlState:
    """What the warehouse remembers about a URL from the last fetch."""

    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    failures: int = 0  # transient failures in a row
    fetched_at: datetime | None = None  # when it was last requested
    skipped_under: str | None = None  # a listing that skipped items for their domain: under which allowed_domains


@dataclass(slots=True)
class FetchState:
    """Known URLs and seen items of one source, read before a run; `due` are items whose next
    attempt (after a transient failure) has come, `waiting` those whose has not."""

    urls: Mapping[str, UrlState] = field(default_factory=dict)
    seen_items: set[str] = field(default_factory=set)
    due: list[str] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)


@dataclass(slots=True)
class FetchRecord:
    """One row for the fetch_state table: the outcome of one request."""

    url: str
    final_url: str | None
    status: int | None
    etag: str | None
    last_modified: str | None
    content_sha256: str | None
    fetched_at: str
    error: str | None = None
    failure: str | None = None  # "transient" (tried again at next_attempt_at) or "permanent"
    failures: int = 0
    next_attempt_at: str | None = None
    skipped_under: str | None = None  # see UrlState


@dataclass(slots=True)
class Harvest:
    """What one source run produced: new or changed documents, error documents, state to save."""

    documents: list[RawDocument] = field(default_factory=list)
    records: list[FetchRecord] = field(default_factory=list)
    seen_items: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("requests", "listings", "items_found", "fetched", "not_modified", "unchanged", "retried",
         "skipped_seen", "skipped_domain", "skipped_limit", "skipped_loop", "skipped_backoff", "refused_urls",
         "errors"), 0))
    # Items passed over on purpose, with the reason (e.g. a sitemap that lists itself).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # host -> [URLs asked, fetched, failed, seconds on the network in all, slowest]
    hosts: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # failure reason (URLs left out) -> count


# ---------------------------------------------------------------------------------------------------
# Pure parsing


def detect_kind(body: bytes, content_type: str = "", url: str = "") -> Kind:
    """Say whether a response is a page, a feed, a sitemap or an OPML list of feeds, from its first
    bytes, type and URL."""
    if body[:2] == b"\x1f\x8b":
        return "sitemap"  # only sitemaps are served as .gz files; pages arrive Content-Encoded
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in FEED_TYPES or _is_json_feed(body):
        return "feed"
    match = _ROOT.search(body[:4096])
    if match:
        root = match.group(2).decode()
        if root in ("rss", "feed", "RDF"):
            return "feed"
        if root in ("urlset", "sitemapindex"):
            return "sitemap"
        if root == "opml":
            return "opml"  # a feed reader's export: a list of feeds
        return "page"
    if ctype in HTML_TYPES:
        return "page"
    path = urlsplit(url).path.lower()
    if ctype == "text/plain" and "sitemap" in path:
        return "sitemap"  # the plain-text sitemap format: one URL per line
    return "page"


def _content(data: bytes) -> bytes:
    """A listing's bytes from its first character on: without the blank lines and byte-order mark that
    editors and CMSs put before it, in either order (lxml refuses blank lines before "<?xml")."""
    return data.lstrip().removeprefix(codecs.BOM_UTF8).lstrip()


def _is_json(data: bytes) -> bool:
    return _content(data)[:1] == b"{"


def _is_json_feed(body: bytes) -> bool:
    """A JSON Feed (jsonfeed.org), served as application/json as often as application/feed+json."""
    head = body[:4096]  # PHP's json_encode writes "https:\/\/jsonfeed.org\/version\/1.1"
    return _is_json(body) and (b"jsonfeed.org/version" in head or b"jsonfeed.org\\/version" in head)


def _refuse_entities(data: bytes, what: str) -> None:
    """The whole listing is searched: comments may put a DTD's declarations past any prefix."""
    if _ENTITY_DECL.search(data):
        raise DiscoveryError(f"{what} declares XML entities; refused (entity expansion is never done)")


def parse_feed(data: bytes, base_url: str) -> list[Item]:
    """Items of an RSS/Atom/RDF feed or a JSON Feed, parsed from bytes; relative links resolved against
    base_url. An entry without a link is an Item whose url is empty: nothing to fetch.

    Raises:
        DiscoveryError: not a feed, or a feed declaring XML entities.
    """
    if _is_json(data):
        return _json_feed_items(data, base_url)
    _refuse_entities(data, "feed")
    # No base given where the feed sets none of its own: feedparser would rewrite links it cannot join
    # (it drops them, or turns "file:///x" into "file://x"); they are joined here and refused, as
    # written, by check_url. A relative xml:base is joined to the ones around it by feedparser alone,
    # which needs the feed's URL for that.
    base = {"content-location": base_url} if b"xml:base" in data else None
    try:
        parsed = feedparser.parse(io.BytesIO(_mend_char_refs(data)), response_headers=base)
    except Exception as exc:  # noqa: BLE001 - e.g. an encoding name that is not UTF-8 in its declaration
        raise DiscoveryError(f"not a readable RSS or Atom feed: {type(exc).__name__}: {exc}") from exc
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no feed entries"
        raise DiscoveryError(f"not a readable RSS or Atom feed: {problem}")
    items: list[Item] = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if not link:  # counted by the harvester, which passes it over
            items.append(Item("", title=entry.get("title")))
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        written = entry.get("published") or entry.get("updated")  # for the cleaner to read, or flag
        items.append(Item(
            url=join_link(base_url, _as_written(link.strip(), data)), title=entry.get("title"),
            published=_item_date(written, when), summary=entry.get("summary")))
    return items


def _json_feed_items(data: bytes, base_url: str) -> list[Item]:
    """Items of a JSON Feed (jsonfeed.org 1.0/1.1): `url` (else `external_url`), `title`,
    `date_published` as written, `summary`."""
    try:
        feed = json.loads(_content(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DiscoveryError(f"not a readable JSON Feed: {type(exc).__name__}: {exc}") from None
    entries = feed.get("items") if isinstance(feed, dict) else None
    if not isinstance(entries, list):
        raise DiscoveryError("not a readable JSON Feed: no 'items' list")
    items = []
    for entry in (e for e in entries if isinstance(e, dict)):
        link = next((v for v in (entry.get("url"), entry.get("external_url")) if isinstance(v, str) and v.strip()), "")
        text = {k: v if isinstance(v, str) and v.strip() else None for k, v in
                ((k, entry.get(k)) for k in ("title", "date_published", "summary"))}
        items.append(Item(join_link(base_url, link.strip()) if link else "", title=text["title"],
                          published=text["date_published"], summary=text["summary"]))
    return items


# A written date feedparser reads its own way: ending in a zone name other than UTC's ("10:00 CEST" as
# UTC, "IST" as one zone of three) or digits alone (an epoch "1764583200" as the year 1764).
_OWN_READING = re.compile(r"(?P<zone>[A-Za-z]{2,5})\)?\s*$|^\s*\d+\s*$")
_UTC_NAMES = frozenset({"GMT", "UT", "UTC", "Z"})


def _item_date(written: str | None, when) -> str | None:
    """An item's date for the cleaner (`tasks.clean.parse_published` reads it, or flags it unread): as
    written where it names its zone by a name other than UTC's or is a bare number (the cleaner's zone
    table and rules decide, not feedparser's), else feedparser's reading in UTC, else as written."""
    own = written and (m := _OWN_READING.search(written)) and (m["zone"] or "").upper() not in _UTC_NAMES
    if when and not own:
        return datetime(*when[:6], tzinfo=timezone.utc).isoformat()
    return written or None


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _mend_char_refs(data: bytes, xml: bool = False) -> bytes:
    """The document with the numeric character references its parser cannot decode rewritten: a UTF-16
    surrogate pair written as two references (as some publishing systems write an emoji,
    "&#55357;&#56832;") becomes the one character it stands for; any other surrogate, or a number past
    U+10FFFF, becomes U+FFFD. On either, feedparser raises (UnicodeEncodeError, ValueError,
    OverflowError) and the whole feed would be lost for one character. `xml`: for lxml's strict parse
    (sitemaps, OPML), which refuses the whole file on those and on every other character XML 1.0 does
    not allow (control characters, U+FFFE, U+FFFF): they become U+FFFD too."""
    if b"&#" not in data:
        return data
    out, done = [], 0
    refs = list(_CHAR_REF.finditer(data))
    for i, ref in enumerate(refs):
        if ref.start() < done:  # the second half of a pair already written
            continue
        code = _char_ref_value(ref)
        if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF and (not xml or _xml_char(code)):
            continue
        out.append(data[done:ref.start()])
        done = ref.end()
        after = refs[i + 1] if i + 1 < len(refs) else None
        if 0xD800 <= code <= 0xDBFF and after is not None and after.start() == ref.end() \
                and 0xDC00 <= (low := _char_ref_value(after)) <= 0xDFFF:
            code, done = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), after.end()
        else:
            code = 0xFFFD
        out.append(b"&#x%X;" % code)
    return b"".join(out) + data[done:] if out else data


def _xml_char(code: int) -> bool:
    """A character XML 1.0 allows (its `Char` production), surrogates aside."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xFFFD or code >= 0x10000


def _char_ref_value(ref: re.Match) -> int:
    digits = ref.group(1) or ref.group(2)
    if len(digits.lstrip(b"0")) > 8:  # past any character, and cheap to refuse before int()
        return 0x110000
    return int(digits, 16) if ref.group(1) else int(digits)


_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)$", re.DOTALL)


def _as_written(link: str, data: bytes) -> str:
    """The link as the feed wrote it: feedparser collapses the slashes after "scheme://", which only
    matters for the links refused anyway (file:///etc/passwd), so only those are looked up."""
    m = _SLASHES.match(link)
    if not m or m.group(1).lower() in ("http://", "https://"):
        return link
    found = re.search(re.escape(m.group(1)).encode() + rb"/*" + re.escape(m.group(2)).encode(), data)
    return found.group(0).decode("utf-8", "replace") if found else link


def join_link(base_url: str, link: str) -> str:
    """`link` resolved against `base_url`; as it is when it cannot be (check_url then says why)."""
    try:
        return urljoin(base_url, link)
    except ValueError:  # e.g. a malformed IPv6 host
        return link


_SITEMAP_PARSER = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                       remove_comments=True, remove_pis=True)


def parse_sitemap(data: bytes, base_url: str, max_bytes: int = settings.FETCH_MAX_BYTES
                  ) -> tuple[list[Item], dict[str, datetime | None]]:
    """Page items, and child sitemap URLs with their `<lastmod>` (when it reads), of a sitemap, sitemap
    index, .gz sitemap or text sitemap.

    Raises:
        DiscoveryError: not a sitemap, or one declaring XML entities.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip_limited(data, max_bytes)
        except FetchError as exc:
            raise DiscoveryError(f"gzipped sitemap: {exc.reason}") from exc
    data = _content(data)
    if not data.startswith(b"<"):
        lines = [l.strip() for l in data.decode("utf-8", "replace").splitlines() if l.strip()]
        urls = [l for l in lines if l.startswith(("http://", "https://"))]
        if not urls:
            raise DiscoveryError("not a sitemap: neither XML nor a list of URLs")
        return [Item(u) for u in urls], {}
    _refuse_entities(data, "sitemap")
    try:
        root = etree.fromstring(_mend_char_refs(data, xml=True), etree.XMLParser(**_SITEMAP_PARSER))
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"sitemap is not well-formed XML: {exc}") from exc
    tag = etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap: root element is <{tag}>")
    items, children = [], {}
    for node in root:
        if not isinstance(node.tag, str):
            continue
        fields = {etree.QName(child).localname: (child.text or "").strip()
                  for child in node if isinstance(child.tag, str)}
        published = next((d.text.strip() for d in node.iter("{*}publication_date") if d.text), None)  # news:news
        loc = fields.get("loc")
        if not loc:
            continue
        loc = join_link(base_url, loc)
        if tag == "sitemapindex":
            children.setdefault(loc, _lastmod(fields.get("lastmod")))
        else:
            items.append(Item(loc, published=published or None))  # a news sitemap's; <lastmod> is a change
    return items, children


def _lastmod(text: str | None) -> datetime | None:
    """A sitemap's `<lastmod>` (W3C datetime: a day, or a time with its offset) as an aware datetime."""
    try:
        when = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def parse_opml(data: bytes) -> list[str]:
    """The feed URLs (xmlUrl) of an OPML file, the format feed readers export, at any outline depth.

    Raises:
        DiscoveryError: not OPML, or a file declaring XML entities.
    """
    _refuse_entities(data, "OPML file")
    try:
        root = etree.fromstring(_mend_char_refs(data, xml=True), etree.XMLParser(**_SITEMAP_PARSER))
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"OPML file is not well-formed XML: {exc}") from exc
    if etree.QName(root).localname != "opml":
        raise DiscoveryError(f"not an OPML file: root element is <{etree.QName(root).localname}>")
    urls = [(node.get("xmlUrl") or node.get("xmlurl") or "").strip() for node in root.iter("outline")]
    return list(dict.fromkeys(u for u in urls if u))


_URLISH = re.compile(r"(https?://|/)[^\s;,)]*|'[^']*'")


def reason_class(reason: str) -> str:
    """A failure reason with URLs and paths left out, so failures group by kind in the run summary."""
    return _URLISH.sub("…", reason)[:160]


# What became of a listing's child sitemap or item: taken (queued, or skipped for good), left by the run's
# limit (the next run reads the listing again), or foreign (skipped for its domain: `skipped_under`).
TAKEN, LEFT, FOREIGN = "taken", "left", "foreign"


def _sent_home(url: str, result: FetchResult) -> bool:
    """Whether a request for a page deeper than a site's root was redirected to a root (`/`, with no
    query but one saying where the visitor came from: `?from=removed`): what servers answer for a
    removed article, or for a paywalled one to a robot. `/?p=123` (WordPress's plain links) is a page."""
    final = urlsplit(without_tracking(result.final_url))
    names = {part.partition("=")[0].lower() for part in final.query.split("&") if part}
    return bool(result.redirects) and final.path in ("", "/") and names <= _CAME_FROM \
        and urlsplit(url).path not in ("", "/")


_CAME_FROM = frozenset({"from", "ref", "referrer", "source", "redirect", "redirected", "reason", "removed", "error"})


def domain_allowed(url: str, allowed_domains: list[str] | tuple[str, ...]) -> bool:
    """True when the URL's host is one of the domains or a subdomain of one (or no list is set)."""
    if not allowed_domains:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().lstrip(".") for d in allowed_domains))


def media_type_for(content_type: str, body: bytes = b"") -> str | None:
    """The RawDocument media type for a response, or None when it is not a document we extract. A page
    served as text whose body begins as an HTML document does (`<!doctype html`, `<html`) is HTML: read
    as text, its markup would be the article."""
    if content_type in HTML_TYPES or content_type == "":
        return "html"
    if content_type in TEXT_TYPES:
        start = _content(body[:1024]).lower()
        return "html" if start.startswith((b"<!doctype html", b"<html")) else "text"
    return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_again(record: FetchRecord) -> None:
    """Save a listing's state without its validators and body hash: the next run reads it whole (never
    `not_modified` or `unchanged`) and walks its children and items again."""
    record.etag = record.last_modified = record.content_sha256 = None


def error_document(url: str, reason: str, source: str | None = None) -> RawDocument:
    """A RawDocument that goes straight to quarantine (stage "fetch") with `reason`."""
    fields = {"url": url, "stage": "fetch"}
    if source:
        fields["source"] = source
    return RawDocument(url, "html", None, sha256_hex(f"fetch-error\0{reason}"), 0, fields, error=reason)


# ---------------------------------------------------------------------------------------------------
# Walking a source

class Harvester:
    """Fetches the locations of one source, many hosts at once, and hands over documents and state.
    One per source run.

    Args:
        fetcher: the polite client for this run (thread-safe).
        state: what the warehouse knows about this source's URLs and items.
        source: the source name (kept in each document's fields).
        max_items: pages fetched at most in this run (feed/sitemap items, page URLs and retries alike).
        allowed_domains: hosts (and their subdomains) items may come from; empty allows all.
        emit: called from crawl threads with each document, its fetch records and the items it marks
            seen (streaming); without it they are collected in the Harvest.
    """

    def __init__(self, fetcher: Fetcher, state: FetchState | None = None, *, source: str = "",
                 max_items: int = settings.DEFAULT_MAX_ITEMS,
                 allowed_domains: tuple[str, ...] | list[str] = (), emit=None) -> None:
        self.fetcher = fetcher
        self.state = state or FetchState()
        self.source = source
        self.max_items = max_items
        self.allowed_domains = tuple(allowed_domains)
        self._domains_key = ",".join(sorted({d.lower().lstrip(".") for d in allowed_domains}))
        self.emit = emit
        self.harvest = Harvest()
        self.lanes: Lanes | None = None
        self._lock = threading.RLock()
        self._pages_attempted = 0
        self._listings_read = 0
        self._queued: set[str] = set()
        self._listed: set[str] = set()
        self._pages_read: set[str] = set()  # the final URLs of the pages this run handed over

    def run(self, locations: list[str], kind: str = "auto", opml_files: tuple[str, ...] | list[str] = ()
            ) -> Harvest:
        """Fetch every location as `kind` ("auto" detects page, feed, sitemap or OPML per response; "opml"
        reads each as a feed list), the feeds of local `opml_files`, and the items due for a retry.

        Each location and each item is its own failure boundary: whatever one raises becomes an error
        document (quarantined with the reason) and the others go on."""
        policy = self.fetcher.policy
        self.lanes = Lanes(policy.max_connections * LANES_PER_CONNECTION, policy.host_connections)
        try:
            for path in opml_files:
                self._opml_file(path)
            for location in locations:
                url = self._valid(location)
                if url is None:
                    continue
                if kind == "urls":
                    with self._lock:
                        self._queued.add(url)
                    self._submit_page(url, None)
                else:
                    self._submit(url, self._listing, url, kind, 0)
            for url in self.state.due:
                with self._lock:
                    if url in self._queued or url in self.state.seen_items:
                        continue
                    self._queued.add(url)
                    self.harvest.stats["retried"] += 1
                self._submit_page(url, Item(url))
            self.lanes.wait()
        finally:
            self.lanes.close()
        if self.lanes.failure is not None:
            raise self.lanes.failure
        self.harvest.stats["requests"] = self.fetcher.requests
        return self.harvest

    @property
    def progress(self) -> dict[str, int]:
        """Queued, fetched and failed URLs and hosts active, for the terminal."""
        with self._lock:
            stats = self.harvest.stats
            counts = {"fetched": stats["fetched"], "failed": stats["errors"]}
        lanes = self.lanes
        return {"queued": lanes.queued if lanes else 0, **counts, "hosts": lanes.hosts_active if lanes else 0}

    # -- bookkeeping (crawl threads share it) -------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.harvest.stats[key] += n

    def _submit(self, url: str, work, *args) -> None:
        self.lanes.submit(urlsplit(url).netloc.lower(), self._guarded, url, work, *args)

    def _submit_page(self, url: str, item: Item | None) -> bool:
        """Queue a page unless the run's page limit is reached (counted when queued: order-free);
        whether it was queued."""
        with self._lock:
            if self._pages_attempted >= self.max_items:
                self.harvest.stats["skipped_limit"] += 1
                return False
            self._pages_attempted += 1
        self._submit(url, self._page, url, item)
        return True

    def _emit(self, doc: RawDocument | None, records: list[FetchRecord], seen: list[str]) -> None:
        """Hand over a document with the state that goes with it; state alone goes to the Harvest."""
        if doc is not None and self.emit is not None:
            self.emit(doc, records, seen)
            return
        with self._lock:
            if doc is not None:
                self.harvest.documents.append(doc)
            self.harvest.records.extend(records)
            self.harvest.seen_items.extend(seen)

    def _fail(self, url: str, reason: str, records: list[FetchRecord] | None = None,
              seen: list[str] | None = None) -> None:
        """Quarantine `url` with the reason; its fetch_state `records` keep the reason too (a record
        without one would take the row out of quarantine when saved, `save_fetch_rows`)."""
        for record in records or ():
            record.error = record.error or reason
        with self._lock:
            self.harvest.stats["errors"] += 1
            key = reason_class(reason)
            self.harvest.failures[key] = self.harvest.failures.get(key, 0) + 1
        self._emit(error_document(url, reason, self.source), records or [], seen or [])

    def _valid(self, url: str) -> str | None:
        """check_url's canonical form, or None after quarantining the URL with the reason."""
        try:
            return check_url(url)
        except BadURL as exc:
            self._count("refused_urls")
            self._fail(url, f"refused: {exc.reason}")
            return None

    def _guarded(self, url: str, work, *args) -> None:
        """Run `work(*args)` for one URL; an unexpected exception quarantines that URL alone."""
        try:
            work(*args)
        except Exception as exc:  # noqa: BLE001 - the per-item boundary: any fault of one item
            self._fail(url, f"could not process {url[:200]}: {type(exc).__name__}: {exc}"[:500])

    # -- requests with state ------------------------------------------------------------------

    def _known(self, url: str) -> UrlState | None:
        """What the warehouse remembers about the URL; for a listing that skipped items for their domain
        under other allowed_domains than this run's, without its validators, so it is read whole."""
        known = self.state.urls.get(url)
        if known is not None and known.skipped_under is not None and known.skipped_under != self._domains_key:
            return UrlState(failures=known.failures, fetched_at=known.fetched_at)
        return known

    def _get(self, url: str, max_bytes: int | None = None) -> tuple[FetchResult | None, FetchRecord, FetchError | None]:
        """Conditional GET: the result (None when it failed), its fetch_state record and the error.
        `max_bytes`: the body cap when not the policy's."""
        known = self._known(url) or UrlState()
        host = urlsplit(url).netloc.lower()
        try:
            result = self.fetcher.fetch(url, etag=known.etag, last_modified=known.last_modified, max_bytes=max_bytes)
        except FetchError as exc:
            self._host_seen(host, failed=True)
            return None, FetchRecord(url, None, exc.status, known.etag, known.last_modified,
                                     known.content_sha256, _now(), exc.reason,
                                     skipped_under=known.skipped_under), exc
        self._host_seen(host, seconds=result.network_seconds)
        digest = sha256_hex(result.body) if result.body is not None else known.content_sha256
        return result, FetchRecord(url, result.final_url, result.status, result.etag or known.etag,
                                   result.last_modified or known.last_modified, digest, _now(),
                                   skipped_under=known.skipped_under), None

    def _host_seen(self, host: str, *, failed: bool = False, seconds: float = 0.0) -> None:
        with self._lock:
            row = self.harvest.hosts.setdefault(host, [0, 0, 0, 0.0, 0.0])
            row[0] += 1
            row[2 if failed else 1] += 1
            row[3] += seconds
            row[4] = max(row[4], seconds)

    def _unchanged(self, url: str, result: FetchResult) -> bool:
        known = self._known(url)
        if result.not_modified:
            self._count("not_modified")
            return True
        if known and known.content_sha256 and result.body is not None \
                and sha256_hex(result.body) == known.content_sha256:
            self._count("unchanged")
            return True
        return False

    # -- pages ------------------------------------------------------------------------------------

    def _page(self, url: str, item: Item | None, result: FetchResult | None = None,
              record: FetchRecord | None = None) -> None:
        if result is None:
            result, record, error = self._get(url)
            if error is not None:
                self._page_failed(url, item, record, error)
                return
        seen = [url] if item is not None else []
        if _sent_home(url, result):
            record.failure = "permanent"
            self._fail(url, f"redirected to the site's home page ({result.final_url}): the page is gone or "
                       "moved without a forwarding address, and a home page is no article", [record], seen)
            return
        if self._unchanged(url, result):
            self._emit(None, [record], seen)
            return
        body = result.body or b""
        media = media_type_for(result.content_type, body)
        if media is None:
            record.failure = "permanent"
            self._fail(url, f"unsupported content type '{result.content_type}' (expected an HTML page)",
                       [record], seen)
            return
        # A redirector (FeedBurner's /~r/...) adds campaign tags to the page it sends to, as feeds do
        # to their links: dropped alike, so the page's article is the one a clean link gives.
        page_url = without_tracking(result.final_url) if result.redirects else result.final_url
        with self._lock:  # links that redirect to one page (a story moved, tracking hops): one document
            again = page_url in self._pages_read
            self._pages_read.add(page_url)
            self.harvest.stats["skipped_seen"] += again
        if again:
            self._emit(None, [record], seen)
            return
        fields: dict[str, object] = {"url": page_url, "source": self.source,
                                     "http_status": result.status, "content_type": result.content_type}
        if item is not None:
            fields.update({k: v for k, v in (("feed_title", item.title), ("feed_published_at", item.published))
                           if v})
        self._count("fetched")
        sent = {"User-Agent": self.fetcher.policy.user_agent, "Accept": ACCEPT}  # kept in the raw store's request record
        self._emit(RawDocument(url, media, body, sha256_hex(body), len(body), fields,
                               **http_exchange(result.headers, sent)), [record], seen)

    def _page_failed(self, url: str, item: Item | None, record: FetchRecord, error: FetchError) -> None:
        """Quarantine the failure; an item that failed transiently gets its next attempt time (with
        backoff), one that failed for good (or too often) is marked seen so no run asks again."""
        policy = self.fetcher.policy
        seen: list[str] = []
        if item is not None:
            failures = (self.state.urls.get(url) or UrlState()).failures + 1
            if error.transient and failures < policy.max_failures:
                wait = min(policy.retry_backoff * 2 ** (failures - 1), settings.FETCH_RETRY_MAX_BACKOFF)
                record.failure, record.failures = "transient", failures
                record.next_attempt_at = (datetime.now(timezone.utc) + timedelta(seconds=wait)).isoformat()
            else:
                record.failure, record.failures, seen = "permanent", failures if error.transient else 0, [url]
                if error.transient:
                    record.error = f"{error.reason} (given up after {failures} failed runs)"
        self._fail(url, record.error or error.reason, [record], seen)

    # -- feeds, sitemaps and feed lists -------------------------------------------------------------

    def _opml_file(self, path: str) -> None:
        """Queue the feeds listed in a local OPML file; a file that cannot be read is quarantined."""
        try:
            with open(path, "rb") as fh:
                data = fh.read(self.fetcher.policy.max_bytes + 1)
            if len(data) > self.fetcher.policy.max_bytes:
                raise DiscoveryError(f"OPML file larger than {self.fetcher.policy.max_bytes:,} bytes")
            feeds = parse_opml(data)
        except (OSError, DiscoveryError) as exc:
            self._fail(path, f"could not read OPML file {path}: {exc}")
            return
        self._queue_feeds(feeds)

    def _queue_feeds(self, feeds: list[str]) -> None:
        for feed in feeds:
            url = self._valid(feed)
            if url is not None and url not in self._listed and url not in self._queued:
                with self._lock:
                    self._queued.add(url)
                self._submit(url, self._listing, url, "feed", 0)

    def _listing(self, url: str, kind: str, depth: int) -> None:
        """Fetch a feed, sitemap or OPML file (or, for "auto", a location that turns out to be a page)
        and queue its children and items."""
        with self._lock:
            self._listed.add(url)
        limit = max(self.fetcher.policy.max_bytes, settings.LISTING_MAX_BYTES)
        result, record, error = self._get(url, limit)
        if error is not None:
            self._fail(url, error.reason, [record])
            return
        if self._unchanged(url, result):
            self._emit(None, [record], [])
            return
        body = result.body or b""
        detected = detect_kind(body, result.content_type, result.final_url)
        if kind == "auto" and detected == "page":
            with self._lock:
                self._pages_attempted += 1
            if len(body) > self.fetcher.policy.max_bytes:  # read with a listing's cap
                self._fail(url, f"body larger than {self.fetcher.policy.max_bytes:,} bytes (limit; "
                                f"{settings.DOCUMENT_CAP_HINT})", [record])
                return
            self._page(url, None, result, record)
            return
        self._count("listings")
        try:
            if kind == "opml" or (kind == "auto" and detected == "opml"):
                feeds = parse_opml(body)
                _read_again(record)  # its feeds change while it does not
                self._emit(None, [record], [])  # a listing's state is saved once the run's documents are loaded
                self._queue_feeds(feeds)
                return
            if (kind if kind != "auto" else detected) == "feed":
                items, children = parse_feed(body, result.final_url), []
                if linkless := sum(not item.url for item in items):
                    items = [item for item in items if item.url]
                    with self._lock:
                        self.harvest.skipped.append((url, f"{linkless} item(s) without a link: nothing to fetch"))
            else:
                items, children = parse_sitemap(body, result.final_url, limit)
        except DiscoveryError as exc:  # read again by the next run, which quarantines it again if still so
            _read_again(record)
            self._fail(url, str(exc), [record])
            return
        taken = {self._child_sitemap(url, child, depth) for child in self._least_recently_read(children)}
        self._count("items_found", len(items))
        taken |= {self._item(item) for item in items}
        if children or LEFT in taken:  # an index's sitemaps change while it does not; a run's limit left
            _read_again(record)         # some unread: the next run reads the listing whole again
        # items skipped for their domain are read by a run whose allowed_domains differ (`_known`)
        record.skipped_under = self._domains_key if FOREIGN in taken else None
        self._emit(None, [record], [])

    def _least_recently_read(self, children: dict[str, datetime | None]) -> list[str]:
        """Child sitemaps never read first, then those the index says changed since they were read
        (`<lastmod>`), then those read longest ago: where a run's limit on sitemaps leaves some unread,
        the one that gained today's articles is read first, and every child in turn."""
        def order(child: str) -> tuple[bool, float]:
            try:
                known = self.state.urls.get(check_url(child))
            except BadURL:
                return False, 0.0
            read = known.fetched_at if known and known.fetched_at else None
            if read is None:
                return False, 0.0
            changed = children[child] is not None and children[child] > read
            return not changed, read.timestamp()

        return sorted(children, key=order)

    def _child_sitemap(self, parent: str, child: str, depth: int) -> str:
        """Queue a child sitemap; LEFT when the run's limit on sitemaps turned it away (counted when
        queued, so its parent knows), FOREIGN when its domain is not allowed, else TAKEN (queued or
        skipped)."""
        if depth + 1 > settings.SITEMAP_MAX_DEPTH:
            with self._lock:
                self.harvest.skipped.append((child, f"sitemaps nested deeper than {settings.SITEMAP_MAX_DEPTH} "
                                                    "levels are not read"))
            return TAKEN
        child_url = self._valid(child)
        if child_url is None:
            return TAKEN
        with self._lock:
            if child_url in self._listed or child_url in self._queued:
                self.harvest.stats["skipped_loop"] += 1
                self.harvest.skipped.append((child_url, f"listed again by {parent} (already read in this run)"))
                return TAKEN
            if not domain_allowed(child_url, self.allowed_domains):
                self.harvest.stats["skipped_domain"] += 1
                return FOREIGN
            if self._listings_read >= settings.SITEMAP_MAX_FILES:
                self.harvest.stats["skipped_limit"] += 1
                self.harvest.skipped.append((child_url, f"more than {settings.SITEMAP_MAX_FILES} sitemaps "
                                                        "in one run: read by the next run"))
                return LEFT
            self._listings_read += 1
            self._queued.add(child_url)
        self._submit(child_url, self._listing, child_url, "sitemap", depth + 1)
        return TAKEN

    def _item(self, item: Item) -> str:
        """Queue an item's page; LEFT when the run's page limit turned it away, FOREIGN when its domain
        is not allowed, else TAKEN (queued or skipped). A fragment (`#comments`) names a place in the page, not another page, and tracking parameters
        (`?utm_source=rss`) the link, not the page: both are dropped."""
        listed = self._valid(item.url.split("#", 1)[0])
        if listed is None:
            return TAKEN
        item.url = without_tracking(listed)
        with self._lock:  # seen before (as listed, by warehouses that kept tags), queued already, or a
            # listing of this run (`#top` on a feed)
            if (item.url in self.state.seen_items or listed in self.state.seen_items or item.url in self._queued
                    or item.url in self._listed):
                self.harvest.stats["skipped_seen"] += 1
                return TAKEN
            self._queued.add(item.url)
            if not domain_allowed(item.url, self.allowed_domains):
                self.harvest.stats["skipped_domain"] += 1
                return FOREIGN
            if item.url in self.state.waiting:
                self.harvest.stats["skipped_backoff"] += 1
                return TAKEN
        return TAKEN if self._submit_page(item.url, item) else LEFT


def harvest_source(urls: list[str], kind: str, policy: FetchPolicy, state: FetchState | None, *, source: str,
                   max_items: int = settings.DEFAULT_MAX_ITEMS,
                   allowed_domains: tuple[str, ...] | list[str] = (), opml_files: tuple[str, ...] = (),
                   emit=None, watch=None) -> Harvest:
    """Fetch one source's URLs with a fresh polite client; never raises for a URL that fails.
    `watch`, when given, is called with the Harvester once it starts (for progress)."""
    with Fetcher(policy) as fetcher:
        harvester = Harvester(fetcher, state, source=source, max_items=max_items,
                              allowed_domains=allowed_domains, emit=emit)
        if watch is not None:
            watch(harvester)
        return harvester.run(list(urls), kind, opml_files)


@task(name="fetch-source", cache_policy=NO_CACHE)
def fetch_source_task(urls: list[str], kind: str, policy: FetchPolicy, state: FetchState, source: str,
                      max_items: int, allowed_domains: tuple[str, ...], opml_files: tuple[str, ...] = (),
                      emit=None, watch=None) -> Harvest:
    """One task run per source: the retries live in the client, per request, not on the task. With
    `emit`, documents stream out as they are fetched (tasks/crawl.py CrawlStream)."""
    harvest = harvest_source(urls, kind, policy, state, source=source, max_items=max_items,
                             allowed_domains=allowed_domains, opml_files=opml_files, emit=emit, watch=watch)
    get_run_logger().info("fetched %s: %s", source, harvest.stats)
    return harvest


def stream_source(urls: list[str], kind: str, policy: FetchPolicy, state: FetchState, *, source: str,
                  max_items: int, allowed_domains: tuple[str, ...], opml_files: tuple[str, ...] = ()
                  ) -> CrawlStream:
    """Start fetching one source (one `fetch-source` task run) in the background; iterate over the
    returned stream for its documents as they arrive, then `finish()` it for the Harvest."""
    def watch(harvester: Harvester) -> None:
        stream.counts = lambda: harvester.progress

    def crawl(emit) -> Harvest:
        return fetch_source_task(list(urls), kind, policy, state, source, max_items, tuple(allowed_domains),
                                 tuple(opml_files), emit=emit, watch=watch)

    stream = CrawlStream(crawl, settings.STREAM_QUEUE_DOCS, settings.STREAM_FLUSH_S)
    return stream.start()
