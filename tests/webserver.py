"""A real HTTP server on 127.0.0.1 for fetch tests: pages, feeds, sitemaps, robots.txt and bad behaviour.

Runs in a thread (ThreadingHTTPServer); every request is logged so tests can assert what was sent
(User-Agent, conditional headers, how many attempts). Nothing here touches the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav>Home | World | Sport | Subscribe</nav>
<article><h1>{title}</h1><p class="byline">By Ada Reporter</p>
{paragraphs}
</article><footer>Copyright 2026 Example News. All rights reserved.</footer></body></html>"""

SENTENCES = [
    "The city council voted on Tuesday to expand the tram network to the northern districts.",
    "Officials said construction would begin next spring and last about three years in total.",
    "Residents who attended the meeting raised concerns about noise and the loss of parking spaces.",
    "The transport authority estimates that forty thousand people will use the new line every day.",
    "Opposition members argued that the budget was unrealistic and asked for an independent review.",
]

LAST_MODIFIED = formatdate(1_767_225_600, usegmt=True)  # 2026-01-01


def page_html(n: int) -> str:
    """A distinct article page with enough text to pass validation."""
    paras = "\n".join(f"<p>{SENTENCES[(n + i) % len(SENTENCES)]} (Report {n}, part {i}.)</p>" for i in range(6))
    return PAGE.format(title=f"Tram network expansion, report number {n}", paragraphs=paras)


class Site:
    """Content and behaviour of the test server; tests may change attributes between requests."""

    def __init__(self) -> None:
        self.base = ""  # set once the port is known
        self.robots: str | None = "User-agent: *\nDisallow: /private/\n"  # "" -> 404, None -> 503
        self.pages = {f"/news/{n}.html": page_html(n) for n in range(1, 6)}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
        self.flaky_failures = 2
        self.extra: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type), set by tests

    def rss(self) -> str:
        items = "".join(
            f"<item><title>Report {n}</title><link>{self.base}/news/{n}.html</link>"
            f"<guid>{self.base}/news/{n}.html</guid><pubDate>Thu, 0{n} Jan 2026 10:00:00 GMT</pubDate></item>"
            for n in (1, 2, 3))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Example News</title>'
                f"<link>{self.base}/</link><description>Test feed</description>{items}</channel></rss>")

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>Report {n}</title><link href="/news/{n}.html"/><id>urn:report:{n}</id>'
            f"<updated>2026-01-0{n}T10:00:00Z</updated></entry>" for n in (3, 4))
        return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f'<title>Example Atom</title><id>urn:example</id><updated>2026-01-05T00:00:00Z</updated>{entries}</feed>')

    def sitemap_index(self) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{self.base}/sitemap-a.xml</loc></sitemap>"
                f"<sitemap><loc>{self.base}/sitemap-b.xml.gz</loc></sitemap></sitemapindex>")

    def sitemap(self, numbers: tuple[int, ...]) -> str:
        urls = "".join(f"<url><loc>{self.base}/news/{n}.html</loc><lastmod>2026-01-0{n}</lastmod></url>"
                       for n in numbers)
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{urls}</urlset>")


ENTITY_FEED = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<rss version="2.0"><channel><title>&b;</title><item><link>http://127.0.0.1/x</link></item></channel></rss>"""


class Handler(BaseHTTPRequestHandler):
    server_version = "newsflow-test/1.0"
    site: Site

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _conditional(self, body: bytes, ctype: str) -> None:
        """200 with ETag and Last-Modified, or 304 when the client already has this version."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self._send(304, b"", ctype, {"ETag": etag})
        else:
            self._send(200, body, ctype, {"ETag": etag, "Last-Modified": LAST_MODIFIED})

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        site = self.site
        path = self.path.split("?")[0]
        with site.lock:
            site.requests.append((path, dict(self.headers.items())))
            site.hits[path] += 1
            hits = site.hits[path]
        if path == "/robots.txt":
            if site.robots is None:
                return self._send(503, b"robots unavailable", "text/plain")
            return self._send(200, site.robots.encode(), "text/plain") if site.robots else self._send(404)
        if path in site.pages:
            return self._conditional(site.pages[path].encode(), "text/html; charset=utf-8")
        if path in site.extra:
            return self._send(200, *site.extra[path])
        if path == "/feed.xml":
            return self._conditional(site.rss().encode(), "application/rss+xml")
        if path == "/atom.xml":
            return self._conditional(site.atom().encode(), "application/atom+xml")
        if path == "/sitemap_index.xml":
            return self._conditional(site.sitemap_index().encode(), "application/xml")
        if path == "/sitemap-a.xml":
            return self._conditional(site.sitemap((1, 2)).encode(), "application/xml")
        if path == "/sitemap-b.xml.gz":
            return self._send(200, gzip.compress(site.sitemap((4, 5)).encode()), "application/gzip")
        if path == "/private/secret.html":
            return self._send(200, page_html(99).encode())
        if path == "/redirect":
            return self._send(302, headers={"Location": "/news/1.html"})
        if path == "/feeds.opml":  # a feed reader's export, as they serve it
            opml = f'<?xml version="1.0"?><opml version="2.0"><body><outline xmlUrl="{site.base}/feed.xml"/></body></opml>'
            return self._send(200, opml.encode(), "text/x-opml")
        if path == "/~r/feed/1":  # a feed redirector that tags the page it sends to
            return self._send(301, headers={"Location": "/news/1.html?utm_source=feedburner&utm_medium=feed"})
        if path == "/plain-link":  # a redirector ending at WordPress's plain permalink of an article
            return self._send(301, headers={"Location": "/?p=123&utm_source=feed"})
        if path == "/gone-home":  # what many servers answer for a removed article
            return self._send(301, headers={"Location": "/?from=gone"})
        if path == "/":
            return self._send(200, page_html(0).encode())
        if path == "/always-304":  # a cache that answers "not modified" to any request
            return self._send(304, b"")
        if path == "/redirect-utf8":  # the Location's raw bytes UTF-8, as many servers send them
            return self._send(301, headers={"Location": "/umlaut/münchen.html".encode().decode("latin-1")})
        if path == "/redirect-private":
            return self._send(302, headers={"Location": "http://10.0.0.5/internal"})
        if path == "/redirect-loop":
            return self._send(302, headers={"Location": "/redirect-loop"})
        if path == "/redirect-malformed":
            return self._send(302, headers={"Location": "http://[::1/x"})  # urljoin raises on it
        if path == "/flaky":
            if hits <= site.flaky_failures:
                return self._send(503, b"busy", "text/plain", {"Retry-After": "0"})
            return self._send(200, page_html(7).encode())
        if path == "/rate-limited":
            if hits == 1:
                return self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
            return self._send(200, page_html(8).encode())
        if path == "/retry-much-later":
            return self._send(503, b"maintenance", "text/plain", {"Retry-After": "3600"})
        if path == "/always-500":
            return self._send(500, b"broken", "text/plain")
        if path == "/missing":
            return self._send(404, b"not here", "text/plain")
        if path == "/slow":
            return self._slow()
        if path == "/slow-headers":
            return self._slow_headers()
        if path == "/big":
            return self._stream(b"<p>" + b"x" * 1024 + b"</p>\n", 3000)  # ~3 MB, no Content-Length
        if path == "/big-declared":
            return self._send(200, b"x" * (3 * 1024 * 1024))
        if path == "/bomb":
            return self._send(200, site.bomb, "text/html", {"Content-Encoding": "gzip"})
        if path == "/gzipped":
            return self._send(200, gzip.compress(site.pages["/news/2.html"].encode()), "text/html",
                              {"Content-Encoding": "gzip"})
        if path == "/gzipped-empty":  # no body at all, labelled gzip
            return self._send(200, b"", "text/html", {"Content-Encoding": "gzip"})
        if path == "/gzipped-cut":  # a complete HTTP message whose gzip stream stops half-way
            packed = gzip.compress(site.pages["/news/2.html"].encode())
            return self._send(200, packed[: len(packed) // 2], "text/html", {"Content-Encoding": "gzip"})
        if path == "/doc.pdf":
            return self._send(200, b"%PDF-1.4 not really", "application/pdf")
        if path == "/entity-feed.xml":
            return self._send(200, ENTITY_FEED, "application/rss+xml")
        return self._send(404, b"no such page", "text/plain")

    def _slow(self) -> None:
        """Headers at once, then one byte every 0.2 s for 10 s: each read is quick, the whole is not."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self._drip()

    def _slow_headers(self) -> None:
        """The status line at once, then a header one byte every 0.2 s for 10 s: never a whole response."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self._drip()
        self.close_connection = True

    def _drip(self) -> None:
        """One byte every 0.2 s for 10 s, until the client hangs up."""
        try:
            for _ in range(50):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self, chunk: bytes, times: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            for _ in range(times):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Clients hanging up mid-body (size caps, deadlines) are expected here; stay quiet."""


class LocalServer:
    """Start with `with LocalServer() as srv:`; `srv.url("/feed.xml")` gives an absolute URL."""

    def __init__(self) -> None:
        self.site = Site()
        handler = type("BoundHandler", (Handler,), {"site": self.site})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.base = self.site.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
