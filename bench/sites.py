"""Many small news sites on loopback addresses (127.0.0.2, 127.0.0.3, ...), all on one port.

Each site serves robots.txt, an RSS feed of K items at /feed.xml and K distinct article pages, after
a configurable latency, with ETag / Last-Modified. Every request is recorded per host with the time it
arrived, so tests can check the interval a crawler kept. Used by bench/fetch_bench.py and the crawl
tests; nothing here touches anything but 127.0.0.x.
"""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("council transport budget river school hospital election minister harbour festival storm "
         "museum market railway bridge library research farmers police court energy water housing "
         "village coast mountain factory workers union airport station tourism fishing students").split()
LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"


def article(host: str, n: int) -> str:
    """A distinct article page (about 2 KB of text) for page `n` of `host`."""
    rng = random.Random(f"{host}/{n}")
    paragraphs = "\n".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + f" (site {host}, story {n}).</p>"
        for _ in range(6))
    title = f"Story {n} from {host}: the {rng.choice(WORDS)} and the {rng.choice(WORDS)}"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f"<nav>Home | News | Sport</nav><article><h1>{title}</h1>{paragraphs}</article>"
            "<footer>Copyright 2026</footer></body></html>")


@dataclass
class SiteRules:
    """How one site behaves; tests change these per host."""

    latency: float = 0.0
    robots: str = "User-agent: *\nAllow: /\n"
    status: dict[str, int] = field(default_factory=dict)  # path -> status to answer instead
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location


class Sites:
    """Start with `with Sites(hosts, items, latency) as sites:`; `sites.feeds()` are the feed URLs.

    Args:
        hosts: number of sites (127.0.0.2 ... 127.0.0.<hosts+1>).
        items: items per feed and pages per site.
        latency: seconds each response waits before it is sent.
        first: the last octet of the first address.
        port: the port (default: a free one); the same port again gives the same URLs.
    """

    def __init__(self, hosts: int, items: int, latency: float = 0.0, first: int = 2, port: int | None = None) -> None:
        self.items = items
        self.addresses = [f"127.0.0.{first + i}" for i in range(hosts)]
        self.port = port or _free_port(self.addresses[0])
        self.rules = {a: SiteRules(latency=latency) for a in self.addresses}
        self.requests: dict[str, list[tuple[float, str]]] = defaultdict(list)  # host -> (arrival, path)
        self.lock = threading.Lock()
        handler = type("SiteHandler", (_Handler,), {"sites": self})
        self._servers = [_Server((a, self.port), handler) for a in self.addresses]
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
                         for s in self._servers]

    def host(self, address: str) -> str:
        return f"{address}:{self.port}"

    def url(self, address: str, path: str) -> str:
        return f"http://{self.host(address)}{path}"

    def feeds(self) -> list[str]:
        return [self.url(a, "/feed.xml") for a in self.addresses]

    def pages(self, address: str) -> list[str]:
        return [self.url(address, f"/news/{n}.html") for n in range(1, self.items + 1)]

    def feed(self, address: str) -> str:
        items = "".join(f"<item><title>Story {n}</title><link>{self.url(address, f'/news/{n}.html')}</link>"
                        f"<pubDate>Thu, 01 Jan 2026 10:00:00 GMT</pubDate></item>" for n in range(1, self.items + 1))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{address}</title>'
                f"<link>{self.url(address, '/')}</link><description>news</description>{items}</channel></rss>")

    def __enter__(self) -> Sites:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self._servers:
            s.shutdown()
            s.server_close()


class _Handler(BaseHTTPRequestHandler):
    sites: Sites
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites do

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        sites, address = self.sites, self.server.server_address[0]
        arrived, path = time.time(), self.path.split("?")[0]
        with sites.lock:
            sites.requests[address].append((arrived, path))
        rules = sites.rules[address]
        if rules.latency:
            time.sleep(rules.latency)
        if path in rules.status:
            return self._send(rules.status[path], b"unavailable", "text/plain", {"Retry-After": "0"})
        if path in rules.redirects:
            return self._send(302, b"", "text/plain", {"Location": rules.redirects[path]})
        if path == "/robots.txt":
            return self._send(200, rules.robots.encode(), "text/plain")
        if path == "/feed.xml":
            return self._conditional(sites.feed(address).encode(), "application/rss+xml")
        if path.startswith("/news/") and path.endswith(".html"):
            number = path[len("/news/"):-len(".html")]
            if number.isdigit() and 1 <= int(number) <= sites.items:
                return self._conditional(article(address, int(number)).encode(), "text/html; charset=utf-8")
        return self._send(404, b"no such page", "text/plain")

    def _conditional(self, body: bytes, ctype: str) -> None:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", ctype, {"ETag": etag})
        return self._send(200, body, ctype, {"ETag": etag, "Last-Modified": LAST_MODIFIED})

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """Clients hanging up (deadlines, a killed run) are expected here; stay quiet."""


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]
