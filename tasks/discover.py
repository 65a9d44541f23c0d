"""Turn web sources (page URLs, RSS/Atom feeds, sitemaps) into RawDocuments, skipping what is known.

Feeds are parsed from bytes with feedparser (never handed a URL; documents declaring XML entities are
refused). Sitemaps, sitemap indexes and gzipped sitemaps are parsed with lxml with entity resolution,
DTD loading and network access switched off. What was seen before comes in as a `FetchState` (plain
values read from the warehouse) and what changed goes out in a `Harvest`, so the flow saves it in the
same run that loads the documents.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from newsflow import settings
from newsflow.urls import BadURL, check_url
from tasks.archive import http_exchange
from tasks.fetch import ACCEPT, Fetcher, FetchError, FetchPolicy, FetchResult, gunzip_limited
from tasks.models import RawDocument, sha256_hex

Kind = Literal["page", "feed", "sitemap"]
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_TYPES = {"text/plain"}
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?(rss|feed|RDF|urlset|sitemapindex|html)\b")
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


@dataclass(slots=True)
class FetchState:
    """Known URLs and seen items of one source, read before a run."""

    urls: dict[str, UrlState] = field(default_factory=dict)
    seen_items: set[str] = field(default_factory=set)


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


@dataclass(slots=True)
class Harvest:
    """What one source run produced: new or changed documents, error documents, state to save."""

    documents: list[RawDocument] = field(default_factory=list)
    records: list[FetchRecord] = field(default_factory=list)
    seen_items: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("requests", "listings", "items_found", "fetched", "not_modified", "unchanged",
         "skipped_seen", "skipped_domain", "skipped_limit", "skipped_loop", "refused_urls", "errors"), 0))
    # Items passed over on purpose, with the reason (e.g. a sitemap that lists itself).
    skipped: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Pure parsing


def detect_kind(body: bytes, content_type: str = "", url: str = "") -> Kind:
    """Say whether a response is a page, a feed or a sitemap, from its first bytes, type and URL."""
    if body[:2] == b"\x1f\x8b":
        return "sitemap"  # only sitemaps are served as .gz files; pages arrive Content-Encoded
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in FEED_TYPES:
        return "feed"
    match = _ROOT.search(body[:4096])
    if match:
        root = match.group(2).decode()
        if root in ("rss", "feed", "RDF"):
            return "feed"
        if root in ("urlset", "sitemapindex"):
            return "sitemap"
        return "page"
    if ctype in HTML_TYPES:
        return "page"
    path = urlsplit(url).path.lower()
    if ctype == "text/plain" and "sitemap" in path:
        return "sitemap"  # the plain-text sitemap format: one URL per line
    return "page"


def _refuse_entities(data: bytes, what: str) -> None:
    if _ENTITY_DECL.search(data[:65536]):
        raise DiscoveryError(f"{what} declares XML entities; refused (entity expansion is never done)")


def parse_feed(data: bytes, base_url: str) -> list[Item]:
    """Items of an RSS/Atom/RDF feed, parsed from bytes; relative links resolved against base_url.

    Raises:
        DiscoveryError: not a feed, or a feed declaring XML entities.
    """
    _refuse_entities(data, "feed")
    # No base given: feedparser would rewrite links it cannot join (it drops them, or turns
    # "file:///x" into "file://x"); they are joined here and refused, as written, by check_url.
    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries and (parsed.bozo or not parsed.version):
        problem = getattr(parsed, "bozo_exception", None) or "no feed entries"
        raise DiscoveryError(f"not a readable RSS/Atom feed: {problem}")
    items: list[Item] = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if not link:
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        items.append(Item(
            url=join_link(base_url, _as_written(link.strip(), data)), title=entry.get("title"),
            published=datetime(*when[:6], tzinfo=timezone.utc).isoformat() if when else None,
            summary=entry.get("summary")))
    return items


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
                  ) -> tuple[list[Item], list[str]]:
    """Page items and child sitemap URLs of a sitemap, sitemap index, .gz sitemap or text sitemap.

    Raises:
        DiscoveryError: not a sitemap, or one declaring XML entities.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip_limited(data, max_bytes)
        except FetchError as exc:
            raise DiscoveryError(f"gzipped sitemap: {exc.reason}") from exc
    stripped = data.lstrip()
    if not stripped.startswith(b"<"):
        lines = [l.strip() for l in data.decode("utf-8", "replace").splitlines() if l.strip()]
        urls = [l for l in lines if l.startswith(("http://", "https://"))]
        if not urls:
            raise DiscoveryError("not a sitemap: neither XML nor a list of URLs")
        return [Item(u) for u in urls], []
    _refuse_entities(data, "sitemap")
    try:
        root = etree.fromstring(data, etree.XMLParser(**_SITEMAP_PARSER))
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"sitemap is not well-formed XML: {exc}") from exc
    tag = etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap: root element is <{tag}>")
    items, children = [], []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        fields = {etree.QName(child).localname: (child.text or "").strip()
                  for child in node if isinstance(child.tag, str)}
        loc = fields.get("loc")
        if not loc:
            continue
        loc = join_link(base_url, loc)
        if tag == "sitemapindex":
            children.append(loc)
        else:
            items.append(Item(loc, published=fields.get("lastmod") or None))
    return items, children


def domain_allowed(url: str, allowed_domains: list[str] | tuple[str, ...]) -> bool:
    """True when the URL's host is one of the domains or a subdomain of one (or no list is set)."""
    if not allowed_domains:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().lstrip(".") for d in allowed_domains))


def media_type_for(content_type: str) -> str | None:
    """The RawDocument media type for a response, or None when it is not a document we extract."""
    if content_type in HTML_TYPES or content_type == "":
        return "html"
    if content_type in TEXT_TYPES:
        return "text"
    return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def error_document(url: str, reason: str, source: str | None = None) -> RawDocument:
    """A RawDocument that goes straight to quarantine (stage "fetch") with `reason`."""
    fields = {"url": url, "stage": "fetch"}
    if source:
        fields["source"] = source
    return RawDocument(url, "html", None, sha256_hex(f"fetch-error\0{reason}"), 0, fields, error=reason)


# ---------------------------------------------------------------------------------------------------
# Walking a source


class Harvester:
    """Fetches the locations of one source and collects documents and state. One per source run.

    Args:
        fetcher: the polite client for this run.
        state: what the warehouse knows about this source's URLs and items.
        source: the source name (kept in each document's fields).
        max_items: pages fetched at most in this run (feed/sitemap items and page URLs alike).
        allowed_domains: hosts (and their subdomains) items may come from; empty allows all.
    """

    def __init__(self, fetcher: Fetcher, state: FetchState | None = None, *, source: str = "",
                 max_items: int = settings.DEFAULT_MAX_ITEMS,
                 allowed_domains: tuple[str, ...] | list[str] = ()) -> None:
        self.fetcher = fetcher
        self.state = state or FetchState()
        self.source = source
        self.max_items = max_items
        self.allowed_domains = tuple(allowed_domains)
        self.harvest = Harvest()
        self._pages_attempted = 0
        self._listings_read = 0
        self._queued: set[str] = set()
        self._listed: set[str] = set()

    def run(self, locations: list[str], kind: Literal["auto", "urls", "feed", "sitemap"] = "auto") -> Harvest:
        """Fetch every location as `kind` ("auto" detects page, feed or sitemap per response).

        Each location and each item is its own failure boundary: whatever one raises becomes an error
        document (quarantined with the reason) and the others go on."""
        for location in locations:
            url = self._valid(location)
            if url is None:
                continue
            if kind == "urls":
                self._guarded(url, self._page, url, None)
            else:
                self._guarded(url, self._listing, url, kind, 0)
        self.harvest.stats["requests"] = self.fetcher.requests
        return self.harvest

    def _fail(self, url: str, reason: str) -> None:
        self.harvest.stats["errors"] += 1
        self.harvest.documents.append(error_document(url, reason, self.source))

    def _valid(self, url: str) -> str | None:
        """check_url's canonical form, or None after quarantining the URL with the reason."""
        try:
            return check_url(url)
        except BadURL as exc:
            self.harvest.stats["refused_urls"] += 1
            self._fail(url, f"refused: {exc.reason}")
            return None

    def _guarded(self, url: str, work, *args) -> None:
        """Run `work(*args)` for one URL; an unexpected exception quarantines that URL alone."""
        try:
            work(*args)
        except Exception as exc:  # noqa: BLE001 - the per-item boundary: any fault of one item
            self._fail(url, f"could not process {url[:200]}: {type(exc).__name__}: {exc}"[:500])

    # -- requests with state ------------------------------------------------------------------

    def _get(self, url: str) -> FetchResult | None:
        """Conditional GET; records the outcome. None when the request failed (error recorded)."""
        known = self.state.urls.get(url) or UrlState()
        try:
            result = self.fetcher.fetch(url, etag=known.etag, last_modified=known.last_modified)
        except FetchError as exc:
            self.harvest.stats["errors"] += 1
            self.harvest.records.append(FetchRecord(url, None, exc.status, known.etag, known.last_modified,
                                                    known.content_sha256, _now(), exc.reason))
            self.harvest.documents.append(error_document(url, exc.reason, self.source))
            return None
        digest = sha256_hex(result.body) if result.body is not None else known.content_sha256
        self.harvest.records.append(FetchRecord(
            url, result.final_url, result.status, result.etag or known.etag,
            result.last_modified or known.last_modified, digest, _now()))
        return result

    def _unchanged(self, url: str, result: FetchResult) -> bool:
        known = self.state.urls.get(url)
        if result.not_modified:
            self.harvest.stats["not_modified"] += 1
            return True
        if known and known.content_sha256 and result.body is not None \
                and sha256_hex(result.body) == known.content_sha256:
            self.harvest.stats["unchanged"] += 1
            return True
        return False

    # -- pages ------------------------------------------------------------------------------------

    def _page(self, url: str, item: Item | None, result: FetchResult | None = None) -> None:
        if result is None:
            if self._pages_attempted >= self.max_items:
                self.harvest.stats["skipped_limit"] += 1
                return
            self._pages_attempted += 1
            result = self._get(url)
            if result is None:
                return
        if item is not None:
            self.harvest.seen_items.append(url)
        if self._unchanged(url, result):
            return
        body = result.body or b""
        media = media_type_for(result.content_type)
        if media is None:
            reason = f"unsupported content type '{result.content_type}' (expected an HTML page)"
            self.harvest.stats["errors"] += 1
            self.harvest.documents.append(error_document(url, reason, self.source))
            return
        fields: dict[str, object] = {"url": result.final_url, "source": self.source,
                                     "http_status": result.status, "content_type": result.content_type}
        if item is not None:
            fields.update({k: v for k, v in (("feed_title", item.title), ("published_at", item.published))
                           if v})
        self.harvest.stats["fetched"] += 1
        sent = {"User-Agent": self.fetcher.policy.user_agent, "Accept": ACCEPT}  # kept in the raw store's request record
        self.harvest.documents.append(RawDocument(url, media, body, sha256_hex(body), len(body), fields,
                                                  **http_exchange(result.headers, sent)))

    # -- feeds and sitemaps -------------------------------------------------------------------

    def _listing(self, url: str, kind: str, depth: int) -> None:
        if self._listings_read >= settings.SITEMAP_MAX_FILES:
            self.harvest.stats["skipped_limit"] += 1
            self.harvest.skipped.append((url, f"more than {settings.SITEMAP_MAX_FILES} feeds or sitemaps "
                                              "in one run"))
            return
        self._listings_read += 1
        self._listed.add(url)
        result = self._get(url)
        if result is None:
            return
        if self._unchanged(url, result):
            return
        body = result.body or b""
        detected = detect_kind(body, result.content_type, result.final_url)
        if kind == "auto" and detected == "page":
            self._pages_attempted += 1
            self._page(url, None, result)
            return
        self.harvest.stats["listings"] += 1
        try:
            if (kind if kind != "auto" else detected) == "feed":
                items, children = parse_feed(body, result.final_url), []
            else:
                items, children = parse_sitemap(body, result.final_url, self.fetcher.policy.max_bytes)
        except DiscoveryError as exc:
            self.harvest.stats["errors"] += 1
            self.harvest.documents.append(error_document(url, str(exc), self.source))
            return
        for child in children:
            if depth + 1 > settings.SITEMAP_MAX_DEPTH:
                self.harvest.skipped.append((child, f"sitemaps nested deeper than {settings.SITEMAP_MAX_DEPTH} "
                                                    "levels are not read"))
                continue
            child_url = self._valid(child)
            if child_url is None:
                continue
            if child_url in self._listed or child_url in self._queued:
                self.harvest.stats["skipped_loop"] += 1
                self.harvest.skipped.append((child_url, f"listed again by {url} (already read in this run)"))
                continue
            if domain_allowed(child_url, self.allowed_domains):
                self._queued.add(child_url)
                self._guarded(child_url, self._listing, child_url, "sitemap", depth + 1)
            else:
                self.harvest.stats["skipped_domain"] += 1
        self.harvest.stats["items_found"] += len(items)
        for item in items:
            item.url = self._valid(item.url)  # type: ignore[assignment]
            if item.url is None:
                continue
            if item.url in self.state.seen_items or item.url in self._queued:
                self.harvest.stats["skipped_seen"] += 1
                continue
            self._queued.add(item.url)
            if not domain_allowed(item.url, self.allowed_domains):
                self.harvest.stats["skipped_domain"] += 1
                continue
            self._guarded(item.url, self._page, item.url, item)


def harvest_source(urls: list[str], kind: str, policy: FetchPolicy, state: FetchState, *, source: str,
                   max_items: int = settings.DEFAULT_MAX_ITEMS,
                   allowed_domains: tuple[str, ...] | list[str] = ()) -> Harvest:
    """Fetch one source's URLs with a fresh polite client; never raises for a URL that fails."""
    with Fetcher(policy) as fetcher:
        return Harvester(fetcher, state, source=source, max_items=max_items,
                         allowed_domains=allowed_domains).run(list(urls), kind)  # type: ignore[arg-type]


@task(name="fetch-source", cache_policy=NO_CACHE)
def fetch_source_task(urls: list[str], kind: str, policy: FetchPolicy, state: FetchState, source: str,
                      max_items: int, allowed_domains: tuple[str, ...]) -> Harvest:
    """One task run per source: the retries live in the client, per request, not on the task."""
    harvest = harvest_source(urls, kind, policy, state, source=source, max_items=max_items,
                             allowed_domains=allowed_domains)
    get_run_logger().info("fetched %s: %s", source, harvest.stats)
    return harvest
