"""Polite, bounded HTTP fetching: the only place newsflow talks to the network.

One `Fetcher` serves one source run. Every URL it fetches is bounded in time (a total deadline, not
only a socket timeout), in size (a cap on the decoded body, checked while streaming, so a gzip bomb
stops at the cap) and in where it may go (http/https only; hosts resolving to loopback, private,
link-local, CGNAT or other non-public addresses are refused at connect time, so every redirect hop
and every DNS answer is checked, unless private networks are allowed or the host is on the
allow-list). It obeys robots.txt (Protego) and Crawl-delay, keeps a minimum interval per host
(a `HostClock`, shared by threads and, through a folder, by concurrent runs), retries timeouts, 429
and 5xx with backoff honouring Retry-After, never retries other 4xx, and sends conditional requests
(ETag / Last-Modified) so unchanged pages are not downloaded again.

A `Fetcher` is thread-safe: the crawler (tasks/crawl.py) calls it from many threads, and at most
`max_connections` requests are open at once.

Failures raise `FetchError` whose `reason` is the sentence that goes to the quarantine table.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from newsflow import settings
from newsflow.settings import DOCUMENT_CAP_HINT, FetchPolicy
from newsflow.urls import BadURL, check_url
from tasks.hostclock import HostClock

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ACCEPT = ("text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
          "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5")
ALLOW_HINT = "set NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true to allow"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class FetchError(Exception):
    """A URL that could not be fetched. `reason` is written to quarantine as is.

    Args:
        reason: one sentence for an operator.
        status: the HTTP status when the server answered.
        transient: True when a later run may well succeed (timeouts, 429, 5xx).
    """

    def __init__(self, reason: str, *, status: int | None = None, transient: bool = False,
                 unanswered: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.unanswered = unanswered  # requests were sent and the host did not answer them in time
        self.transient = transient


class RefusedError(FetchError):
    """Refused before any request: bad scheme, non-public address or robots.txt."""


@dataclass(slots=True)
class FetchResult:
    """One answered request: 2xx with a body, or 304 (not modified) without one."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes | None
    elapsed: float
    redirects: list[str] = field(default_factory=list)
    network_seconds: float = 0.0  # time spent in requests (not waiting for the host's turn)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


# ---------------------------------------------------------------------------------------------------
# Address guard (SSRF)


def address_kind(ip: Address) -> str | None:
    """Why an address is not public ("loopback", "private", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_kind(ip.ipv4_mapped)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "CGNAT (shared)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


class AddressGuard:
    """Decides whether a host may be connected to, and resolves it once for the connection."""

    def __init__(self, allow_private_networks: bool, allowed_hosts: Iterable[str] = ()) -> None:
        self.allow_private = allow_private_networks
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed_hosts:
            entry = entry.strip().lower()
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry)

    def _name_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == n or (n.startswith(".") and host.endswith(n)) for n in self.names)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, all checked; raises RefusedError naming a refused one.

        Raises:
            RefusedError: an address is non-public and neither allowed nor allow-listed.
            httpcore.ConnectError: the name does not resolve.
        """
        host = host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host}: {exc.strerror}") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if self.allow_private or self._name_allowed(host):
            return addresses
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%")[0])
            kind = address_kind(ip)
            if kind is None or any(ip in net for net in self.networks):
                continue
            where = text if text == host else f"{host} resolves to {text}, which"
            article = "an" if kind[0] in "aeiou" else "a"
            raise RefusedError(f"refused: {where} is {article} {kind} address ({ALLOW_HINT})")
        return addresses


HOST_GIVE_UP_AFTER = 3  # URLs in a row a host leaves unanswered before a run stops asking it
CONNECTION_WAIT_S = 0.05  # a request that waited longer for a connection takes its host's turn again
_request = threading.local()  # `deadline_at`: when the request this thread is sending must be done


class DeadlinePassed(httpcore.ReadTimeout):
    """A read or write that the request's deadline, not the socket timeout, cut off."""


def _within_deadline(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout for a connection's next read or write under the deadline of this thread's request,
    and whether the deadline set it."""
    deadline_at = getattr(_request, "deadline_at", None)
    if deadline_at is None:
        return timeout, False
    left = deadline_at - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("the request's deadline passed")
    return (left, True) if timeout is None or left < timeout else (timeout, False)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the request being sent in this
    thread (`_request.deadline_at`, monotonic seconds), not only within the socket timeout: a server
    that drips its status line and headers a byte at a time (each read quick, the whole endless) is
    cut off at the request's deadline, as a body sent that way is."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, capped = _within_deadline(timeout)
        try:
            return self.stream.read(max_bytes, timeout)
        except httpcore.ReadTimeout:
            if capped:
                raise DeadlinePassed("the request's deadline passed") from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, capped = _within_deadline(timeout)
        try:
            self.stream.write(buffer, timeout)
        except httpcore.WriteTimeout:
            if capped:
                raise DeadlinePassed("the request's deadline passed") from None
            raise

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[override]
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, _within_deadline(timeout)[0]))

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but it connects only to addresses the guard accepted.

    Resolving here, not before the request, means the address checked is the address used (no DNS
    rebinding window) and every redirect hop to a new host is checked without extra code.
    """

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[override]
        last: Exception | None = None
        for address in self.guard.resolve(host, port):
            try:
                return DeadlineStream(super().connect_tcp(address, port, timeout, local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")


def guarded_pool(guard: AddressGuard, max_connections: int = 10) -> httpcore.ConnectionPool:
    """A thread-safe keep-alive connection pool whose every connection goes through `guard` (never a
    proxy)."""
    return httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=max_connections,
                                   max_keepalive_connections=max_connections, keepalive_expiry=5.0,
                                   network_backend=GuardedBackend(guard))


def _checked(url: str, redirect: bool = False) -> str:
    """check_url's canonical form of a URL about to be requested; RefusedError with its reason."""
    try:
        return check_url(url)
    except BadURL as exc:
        where = f"redirect to {url[:200]!r}: " if redirect else ""
        raise RefusedError(f"refused: {where}{exc.reason}") from None


# ---------------------------------------------------------------------------------------------------
# Bounded decompression


class _Brotli:
    """brotli's decompressor as LimitedDecoder uses zlib's: `decompress(data, max_length)`, `eof`; its
    errors raised as zlib.error."""

    def __init__(self) -> None:
        import brotli

        self._d, self._error = brotli.Decompressor(), brotli.error

    def decompress(self, data: bytes, max_length: int) -> bytes:
        # Output stops growing at max_length: past it, LimitedDecoder refuses the body anyway.
        try:
            return self._d.process(data, output_buffer_limit=max_length)
        except self._error as exc:
            raise zlib.error(str(exc) or "invalid data") from exc

    @property
    def eof(self) -> bool:
        return self._d.is_finished()


class LimitedDecoder:
    """Decodes gzip / deflate / br / identity chunks, refusing to produce more than `limit` bytes.

    zlib's `max_length` (brotli's output limit) caps every call, so a bomb costs at most `limit` bytes
    of memory.
    """

    def __init__(self, encoding: str, limit: int, hint: str = DOCUMENT_CAP_HINT) -> None:
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped; raw deflate retried below
        elif encoding == "br":
            self._z = _Brotli()
        elif encoding == "identity":
            self._z = None
        else:
            raise FetchError(f"unsupported Content-Encoding '{encoding}'")
        self.encoding = encoding
        self.limit = limit
        self.hint = hint
        self.produced = 0
        self._first = True

    def feed(self, chunk: bytes) -> bytes:
        """Decode one chunk; raises FetchError once the output would pass the limit."""
        if self._z is None:
            out = chunk
        else:
            room = self.limit - self.produced + 1
            try:
                out = self._z.decompress(chunk, room)
                while len(out) < room and (rest := self._next_member()) is not None:  # gzip's members in turn
                    out += self._z.decompress(rest, room - len(out))
            except zlib.error as exc:
                if self.encoding == "deflate" and self._first:
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    return self.feed(chunk)
                raise FetchError(f"corrupt {self.encoding} body: {exc}") from exc
            self._first = False
        self.produced += len(out)
        if self.produced > self.limit:
            what = "after decompression " if self._z is not None else ""
            raise FetchError(f"body larger than {self.limit:,} bytes {what}(limit; {self.hint})")
        return out

    def _next_member(self) -> bytes | None:
        """When a gzip member has ended and another begins after it (a body of several members, as gzip
        files may be: the first alone is not the whole body), the data from that one on, the decoder
        started afresh for it; else None. Other bytes after a member are left unread, as before."""
        if self.encoding not in ("gzip", "x-gzip") or not self._z.eof or self._z.unused_data[:2] != b"\x1f\x8b":
            return None
        rest, self._z = self._z.unused_data, zlib.decompressobj(16 + zlib.MAX_WBITS)
        return rest

    @property
    def finished(self) -> bool:
        """Whether the compressed data fed so far reached its end marker (always, uncompressed): a body
        that ends before it was cut short, though HTTP may show no other sign of it (a connection
        closed early where no Content-Length was sent, a file cut at its source)."""
        return self._z is None or self._z.eof


class CutShort(Exception):
    """A compressed body that ends before its end marker: retried as a failed connection is."""


def gunzip_limited(data: bytes, limit: int) -> bytes:
    """Decompress a .gz file body (e.g. sitemap.xml.gz) without ever holding more than `limit` bytes."""
    decoder = LimitedDecoder("gzip", limit)
    out = decoder.feed(data)
    if not decoder.finished:
        raise FetchError("the gzip data ends before its end marker: the file is cut short")
    return out


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After (seconds or an HTTP date) into seconds from now; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# ---------------------------------------------------------------------------------------------------
# Manners: robots.txt and the interval between requests to one host


class HostManners:
    """Per-host politeness for one run: robots.txt rules, Crawl-delay and the minimum interval.

    The fetcher asks it before each request; robots.txt itself is fetched by the fetcher (it is a
    request like any other) and handed over with `set_robots`. When each host may next be asked is
    the `clock`'s business (shared by threads, and by runs when it has a folder).
    """

    def __init__(self, policy: FetchPolicy, clock: HostClock | None = None) -> None:
        self.policy = policy
        self.clock = clock or HostClock(policy.hosts_dir)
        self._robots: dict[str, Protego | FetchError | None] = {}
        self._interval: dict[str, float] = {}
        self._lock = threading.Lock()
        self._robots_locks: dict[str, threading.Lock] = {}
        self._unanswered: dict[str, int] = {}  # host -> URLs in a row it did not answer

    def check_answering(self, host: str) -> None:
        """Refuse at once, as transient, a URL of a host that left HOST_GIVE_UP_AFTER URLs in a row
        unanswered in this run: each costs its retries and timeouts (~45 s at the defaults), so a dead
        host with hundreds of items would hold the run for hours. A later run asks it again."""
        with self._lock:
            missed = self._unanswered.get(host, 0)
        if missed >= HOST_GIVE_UP_AFTER:
            raise FetchError(f"{host} left {missed} requests in a row unanswered (timeouts, dropped "
                             "connections): not asked again in this run", transient=True)

    def count_answer(self, host: str, answered: bool) -> None:
        with self._lock:
            self._unanswered[host] = 0 if answered else self._unanswered.get(host, 0) + 1

    def robots_lock(self, origin: str) -> threading.Lock:
        """Held while one thread reads an origin's robots.txt, so others wait instead of reading it too."""
        with self._lock:
            return self._robots_locks.setdefault(origin, threading.Lock())

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def knows_robots(self, origin: str) -> bool:
        return origin in self._robots

    def set_robots(self, origin: str, rules: Protego | FetchError | None) -> None:
        """Rules for `origin`: parsed, None (no robots.txt: all allowed) or the error reading it
        (nothing allowed, RFC 9309). A Crawl-delay lengthens the host's interval, up to a cap."""
        self._robots[origin] = rules
        if isinstance(rules, Protego):
            delay = rules.crawl_delay(self.policy.user_agent)
            if delay:
                host = urlsplit(origin).netloc.lower()
                self._interval[host] = max(self.policy.min_host_interval, min(float(delay), self.policy.max_crawl_delay))
                self.clock.defer(host, time.time() + self._interval[host])  # from the robots.txt request on

    def check_robots(self, url: str) -> None:
        """Raise RefusedError when robots.txt forbids `url` or could not be read."""
        origin = self.origin(url)
        rules = self._robots.get(origin)
        if isinstance(rules, FetchError):
            raise RefusedError(f"refused: {origin}/robots.txt could not be read ({rules.reason}); "
                               "not fetching until it can", transient=True)
        if rules is not None and not rules.can_fetch(url, self.policy.user_agent):
            raise RefusedError(f"refused: robots.txt of {origin} disallows {urlsplit(url).path or '/'}")

    def interval(self, host: str) -> float:
        return self._interval.get(host, self.policy.min_host_interval)

    def wait_turn(self, url: str, deadline_at: float) -> None:
        """Reserve the host's next request slot on the clock and sleep until it starts."""
        host = urlsplit(url).netloc.lower()
        interval = self.interval(host)
        latest = time.time() + (deadline_at - time.monotonic())
        wait = self.clock.reserve(host, interval, latest) - time.time()
        if wait > 0:
            if time.monotonic() + wait >= deadline_at:
                if wait > interval + 1:  # deferred: a Retry-After, or a backoff after failures
                    raise FetchError(f"{host} is not asked again for {wait:.0f} s (its Retry-After, or a backoff "
                                     "after failures): past this URL's deadline", transient=True)
                raise FetchError(f"the {interval:g} s interval between requests to {host} "
                                 "does not fit in the deadline", transient=True)
            time.sleep(wait)

    def defer(self, url: str, seconds: float) -> None:
        """Ask the host nothing more for `seconds` (Retry-After or backoff), in this run and others."""
        self.clock.defer(urlsplit(url).netloc.lower(), time.time() + seconds)


# ---------------------------------------------------------------------------------------------------
# The fetcher

def _utf8_header(value: str) -> str:
    """A header value decoded as Latin-1 (as HTTP's bytes are), read as UTF-8 where its bytes are that:
    a Location of raw UTF-8 (`/artikel/münchen`, as browsers follow it) rather than mojibake."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Fetcher:
    """A polite HTTP client for one source run. Use as a context manager.

    Args:
        policy: limits and manners; see FetchPolicy.
    """

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self.guard = AddressGuard(self.policy.allow_private_networks, self.policy.allowed_hosts)
        self._pool = guarded_pool(self.guard, self.policy.max_connections)
        self._headers = {"User-Agent": self.policy.user_agent, "Accept": ACCEPT,
                         "Accept-Encoding": "gzip, deflate"}
        self.manners = HostManners(self.policy)
        self._connections = threading.BoundedSemaphore(self.policy.max_connections)
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._count_lock = threading.Lock()
        self._network = threading.local()  # seconds this thread spent in requests (FetchResult.network_seconds)
        self.requests = 0  # requests actually sent, for run statistics and tests

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              max_bytes: int | None = None) -> FetchResult:
        """GET a URL within the policy's deadline, following redirects hop by hop.

        Args:
            url: an http(s) URL.
            etag: the ETag stored from the last fetch (sent as If-None-Match).
            last_modified: the Last-Modified stored from the last fetch (sent as If-Modified-Since).
            max_bytes: another body cap for this URL (robots.txt has a smaller one, feeds and sitemaps a
                larger one).

        Returns:
            A FetchResult with status 2xx and the decoded body, or 304 and no body.

        Raises:
            FetchError: with a reason for quarantine (RefusedError when refused before any request).
        """
        host = urlsplit(url).netloc.lower()
        self.manners.check_answering(host)
        try:
            result = self._get(url, etag, last_modified, max_bytes or self.policy.max_bytes,
                               obey_robots=self.policy.respect_robots)
        except FetchError as exc:
            self.manners.count_answer(host, answered=not exc.unanswered)
            raise
        self.manners.count_answer(host, answered=True)
        return result

    def _get(self, url: str, etag: str | None, last_modified: str | None, max_bytes: int, *,
             obey_robots: bool, cap_hint: str | None = DOCUMENT_CAP_HINT) -> FetchResult:
        started = time.monotonic()
        deadline_at = started + self.policy.deadline
        network_before = getattr(self._network, "seconds", 0.0)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, hops = _checked(url), []
        while True:
            if obey_robots:
                origin = self.manners.origin(current)
                if not self.manners.knows_robots(origin):
                    with self.manners.robots_lock(origin):
                        if not self.manners.knows_robots(origin):
                            self.manners.set_robots(origin, self._load_robots(origin))
                self.manners.check_robots(current)
            status, resp_headers, body = self._send_with_retries(current, headers, deadline_at, max_bytes,
                                                                 cap_hint)
            if status in REDIRECT_CODES:
                location = resp_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location header", status=status)
                if len(hops) >= self.policy.max_redirects:
                    raise FetchError(f"more than {self.policy.max_redirects} redirects", status=status)
                hops.append(current)
                location = _utf8_header(location)
                try:
                    target = urljoin(current, location.strip())
                except ValueError:  # e.g. a malformed IPv6 host: check_url then says why
                    target = location.strip()
                current = _checked(target, redirect=True)
                continue
            if status == 304 and not headers:  # nothing to reuse: the page would be taken as read, unread
                raise FetchError("HTTP 304 (not modified) to a request that named no version of the page; "
                                 "a cache between answered for another client", status=status, transient=True)
            if status == 304 or 200 <= status < 300:
                return FetchResult(url, current, status, resp_headers, body, time.monotonic() - started,
                                   hops, getattr(self._network, "seconds", 0.0) - network_before)
            raise FetchError(f"HTTP {status}", status=status)

    # -- one URL --------------------------------------------------------------------------------

    def _send_with_retries(self, url: str, headers: dict[str, str], deadline_at: float,
                           max_bytes: int, cap_hint: str | None) -> tuple[int, dict[str, str], bytes | None]:
        policy = self.policy
        for attempt in range(policy.retries + 1):
            self.manners.wait_turn(url, deadline_at)
            status, asked = None, None
            try:
                status, resp_headers, body = self._send_counted(url, headers, deadline_at, max_bytes, cap_hint)
            except httpcore.TimeoutException:
                problem, wait = "timed out", policy.backoff * 2 ** attempt
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError, CutShort) as exc:
                problem, wait = f"connection failed ({exc})", policy.backoff * 2 ** attempt
            else:
                if status != 429 and status < 500:
                    return status, resp_headers, body
                problem = f"HTTP {status}"
                asked = retry_after_seconds(resp_headers.get("retry-after"))
                if asked is not None:  # asked of the host, whether or not this URL is tried again
                    self.manners.defer(url, asked)
                if asked is not None and asked > policy.max_retry_after:
                    raise FetchError(f"{problem}; server asks to retry after {asked:.0f} s, more than "
                                     f"the {policy.max_retry_after:.0f} s limit", status=status,
                                     transient=True)
                wait = asked if asked is not None else policy.backoff * 2 ** attempt
            if attempt == policy.retries:
                raise FetchError(f"{problem} after {attempt + 1} attempts", status=status, transient=True,
                                 unanswered=status is None)
            if time.monotonic() + wait >= deadline_at:
                raise FetchError(f"{problem}; no time left to retry within the {policy.deadline:g} s "
                                 "deadline", transient=True, unanswered=status is None)
            if asked is None:
                self.manners.defer(url, wait)  # the next attempt's wait_turn sleeps until then
        raise AssertionError("unreachable")

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        """One of the `host_connections` request slots of the URL's host. A lane holds its own host's
        requests in order, but a redirect hop goes to another host outside that host's lanes: five
        link trackers redirecting to one publisher had five requests open there at once."""
        host = urlsplit(url).netloc.lower()
        with self._count_lock:
            slot = self._host_slots.get(host)
            if slot is None:
                slot = self._host_slots[host] = threading.BoundedSemaphore(self.policy.host_connections)
            return slot

    def _send_counted(self, url: str, headers: dict[str, str], deadline_at: float,
                      max_bytes: int, cap_hint: str | None) -> tuple[int, dict[str, str], bytes | None]:
        """`_send_once` holding one of its host's slots and one of the `max_connections`, its time added to
        the thread's count. A request that waited for them (every connection busy, say with slow hosts)
        takes its host's turn again: the one it took before may have passed, and with it the interval to
        the host's request before and after."""
        asked = time.monotonic()
        with self._host_slot(url), self._connections:
            if time.monotonic() - asked > CONNECTION_WAIT_S:
                self.manners.wait_turn(url, deadline_at)
            sent = time.monotonic()
            try:
                return self._send_once(url, headers, deadline_at, max_bytes, cap_hint)
            finally:
                self._network.seconds = getattr(self._network, "seconds", 0.0) + time.monotonic() - sent

    def _send_once(self, url: str, headers: dict[str, str], deadline_at: float,
                   max_bytes: int, cap_hint: str | None) -> tuple[int, dict[str, str], bytes | None]:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"deadline of {self.policy.deadline:g} s exceeded", transient=True)
        timeout = min(self.policy.connect_timeout, remaining)
        try:
            parsed = httpx.URL(url)  # percent-encodes the path and query as browsers do
        except httpx.InvalidURL as exc:  # check_url's canonical form should always pass; say so if not
            raise RefusedError(f"refused: the HTTP client cannot use this URL ({exc})") from None
        target = httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                              target=parsed.raw_path)
        host = parsed.netloc.decode("ascii")
        with self._count_lock:
            self.requests += 1
        _request.deadline_at = deadline_at
        try:
            return self._exchange(target, host, headers, timeout, deadline_at, max_bytes, cap_hint)
        except DeadlinePassed:
            raise FetchError(f"deadline of {self.policy.deadline:g} s exceeded before the response was "
                             "complete", transient=True, unanswered=True) from None
        finally:
            _request.deadline_at = None

    def _exchange(self, target: httpcore.URL, host: str, headers: dict[str, str], timeout: float,
                  deadline_at: float, max_bytes: int, cap_hint: str | None
                  ) -> tuple[int, dict[str, str], bytes | None]:
        """One request and its response, the body read within `max_bytes` and the deadline: a larger one
        is an error that ends with `cap_hint`, or with `cap_hint` None cut to its first `max_bytes`."""
        with self._pool.stream("GET", target, headers={"Host": host, **self._headers, **headers},
                               extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"),
                                                                    timeout)}) as response:
            status = response.status
            resp_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            if not 200 <= status < 300:
                return status, resp_headers, None
            declared = resp_headers.get("content-length", "")
            if cap_hint is None:
                return status, resp_headers, self._first_bytes(response, resp_headers, max_bytes)
            if declared.isdigit() and "content-encoding" not in resp_headers and int(declared) > max_bytes:
                raise FetchError(f"body larger than {max_bytes:,} bytes (Content-Length {int(declared):,}; "
                                 f"{cap_hint})")
            decoder = LimitedDecoder(resp_headers.get("content-encoding", "identity"), max_bytes, cap_hint)
            parts, raw_seen = [], 0
            for chunk in response.iter_stream():  # as received: a chunk size would buffer a slow drip
                raw_seen += len(chunk)
                if raw_seen > max_bytes:
                    raise FetchError(f"body larger than {max_bytes:,} bytes (limit; {cap_hint})")
                parts.append(decoder.feed(chunk))
                if time.monotonic() > deadline_at:
                    raise FetchError(f"deadline of {self.policy.deadline:g} s exceeded while "
                                     "downloading the body", transient=True, unanswered=True)
            if raw_seen and not decoder.finished:  # (an empty body is empty, whatever its encoding)
                raise CutShort(f"the {decoder.encoding} body ends before its end marker: the transfer was cut short")
            return status, resp_headers, b"".join(parts)

    def _first_bytes(self, response, resp_headers: dict[str, str], max_bytes: int) -> bytes:
        """The body's first `max_bytes` decoded bytes, the rest unread (a file whose start is usable
        without its end, such as robots.txt)."""
        decoder = LimitedDecoder(resp_headers.get("content-encoding", "identity"), 2 * max_bytes)
        parts = []
        try:
            for chunk in response.iter_stream():
                parts.append(decoder.feed(chunk))  # room for one chunk past max_bytes
                if decoder.produced >= max_bytes:
                    break
        except FetchError:  # a chunk that decompresses past even that, or a corrupt one: what came before
            pass
        return b"".join(parts)[:max_bytes]

    def _load_robots(self, origin: str) -> Protego | FetchError | None:
        """Protego rules; None when there is no robots.txt (4xx: all allowed, RFC 9309);
        the error when it is unreachable (5xx or network: nothing allowed, RFC 9309)."""
        try:
            # RFC 9309 2.5: the rules in the first ROBOTS_MAX_BYTES (at least 500 KiB) are obeyed
            result = self._get(origin + "/robots.txt", None, None, settings.ROBOTS_MAX_BYTES,
                               obey_robots=False, cap_hint=None)
        except RefusedError:
            raise
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return None
            return exc
        return Protego.parse((result.body or b"").decode("utf-8-sig", "replace"))  # (an editor's BOM: RFC 9309 2.3)

