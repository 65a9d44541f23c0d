"""Web archives for the tests, written with warcio as a crawler writes them (CC-NEWS's record mix)."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import brotli
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from webserver import page_html


@dataclass
class Page:
    url: str
    html: bytes
    date: str  # WARC-Date
    encoding: str = ""  # "", "gzip", "chunked" ... (_page_response): how the body travels in the record
    lang_header: str = ""
    charset: str = "utf-8"  # the Content-Type header's


def _chunked(body: bytes, size: int = 500) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def _response(writer: WARCWriter, url: str, status: str, ctype: str, body: bytes, date: str,
              extra: list[tuple[str, str]] = ()):
    headers = [("Content-Type", ctype), *extra]
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                     http_headers=http, warc_headers_dict={"WARC-Date": date})


def _page_response(writer: WARCWriter, page: Page):
    body, extra = page.html, []
    if page.encoding in ("gzip", "x-gzip"):
        body, extra = gzip.compress(page.html), [("Content-Encoding", page.encoding)]
    elif page.encoding == "gzip+chunked":
        body = _chunked(gzip.compress(page.html))
        extra = [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]
    elif page.encoding == "gzip-cut":  # the stream stops two thirds in: a crawler that kept what came
        packed = gzip.compress(page.html)
        body, extra = packed[: len(packed) * 2 // 3], [("Content-Encoding", "gzip")]
    elif page.encoding == "gzip-flipped":  # a byte flipped two thirds in
        flipped = bytearray(gzip.compress(page.html))
        flipped[len(flipped) * 2 // 3] ^= 0xFF
        body, extra = bytes(flipped), [("Content-Encoding", "gzip")]
    elif page.encoding == "gzip-members":  # two gzip members, each half the page (gzip files may be so)
        half = len(page.html) // 2
        body = gzip.compress(page.html[:half]) + gzip.compress(page.html[half:])
        extra = [("Content-Encoding", "gzip")]
    elif page.encoding == "gzip-label":  # stored decoded, the header kept
        extra = [("Content-Encoding", "gzip")]
    elif page.encoding.startswith("br"):  # brotli: whole, cut two thirds in, or garbage from a third on
        packed = brotli.compress(page.html)  # (no checksum: a flipped byte may decode, to other text)
        if page.encoding == "br-cut":
            packed = packed[: len(packed) * 2 // 3]
        elif page.encoding == "br-garbage":
            packed = packed[: len(packed) // 3] + bytes(range(256)) * 4
        body, extra = packed, [("Content-Encoding", "br")]
    elif page.encoding == "chunked":
        body, extra = _chunked(page.html), [("Transfer-Encoding", "chunked")]
    elif page.encoding == "Chunked":  # the header's value in another case: the same coding
        body, extra = _chunked(page.html), [("Transfer-Encoding", "Chunked")]
    elif page.encoding == "chunked-cut":  # the data stops two thirds in, inside a chunk
        whole = _chunked(page.html)
        body, extra = whole[: len(whole) * 2 // 3], [("Transfer-Encoding", "chunked")]
    elif page.encoding == "chunked-unended":  # every chunk but the last (0) one
        body, extra = _chunked(page.html)[: -len(b"0\r\n\r\n")], [("Transfer-Encoding", "chunked")]
    if page.lang_header:
        extra.append(("Content-Language", page.lang_header))
    return _response(writer, page.url, "200 OK", f"text/html; charset={page.charset}", body, page.date, extra)


def write_cc_news_warc(path: Path, pages: list[Page], gz: bool = True) -> None:
    """warcinfo; per page a request, its response and a metadata record; then a revisit, an image, a
    404 page and a robots.txt: the mix a CC-NEWS file has."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gz, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test crawler"}))
        for page in pages:
            response = _page_response(writer, page)
            request = writer.create_warc_record(page.url, "request", http_headers=StatusAndHeaders(
                "GET / HTTP/1.1", [("User-Agent", "test")], is_http_request=True))
            writer.write_request_response_pair(request, response)
            meta = io.BytesIO(b"fetchTimeMs: 120\r\n")
            writer.write_record(writer.create_warc_record(page.url, "metadata", payload=meta, length=18,
                                                          warc_content_type="application/warc-fields"))
        first = pages[0]
        writer.write_record(writer.create_revisit_record(first.url, "sha1:AAAA", first.url, first.date))
        writer.write_record(_response(writer, "https://img.example/a.png", "200 OK", "image/png", b"\x89PNG....",
                                      first.date))
        writer.write_record(_response(writer, "https://news.example/gone", "404 Not Found", "text/html",
                                      b"<html><body>gone</body></html>", first.date))
        writer.write_record(_response(writer, "https://news.example/robots.txt", "200 OK", "text/plain",
                                      b"User-agent: *\n", first.date))


def news_pages(n: int, host: str = "news.example", date: str = "2026-11-30T10:00:00Z") -> list[Page]:
    """n distinct article pages; the first gzip-encoded, the second chunked."""
    encodings = ["gzip", "chunked"]
    return [Page(f"https://{host}/story/{i}", page_html(100 + i).encode(), date,
                 encodings[i] if i < len(encodings) else "") for i in range(n)]


def truncate(path: Path, cut: int) -> None:
    """Cut the last `cut` bytes off a file, as an interrupted download leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:-cut])


# A minimal ARC v1 file (what the Internet Archive wrote before WARC): a version block, then one page.
def write_arc(path: Path, url: str, html: bytes) -> None:
    version = b"1 0 test\nURL IP-address Archive-date Content-type Archive-length\n"
    head = b"filedesc://%s 0.0.0.0 20261130100000 text/plain %d\n" % (path.name.encode(), len(version))
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(html) + html
    record = b"%s 127.0.0.1 20261130100000 text/html %d\n" % (url.encode(), len(http))
    path.write_bytes(head + version + b"\n" + record + http + b"\n")


def write_headerless_responses(path: Path, records: list[tuple[str, bytes, str]]) -> None:
    """`response` records whose block is the body alone, without an HTTP status line and headers (as some
    tools write them): (url, body, the record's Content-Type) each."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=str(path).endswith(".gz"), warc_version="1.1")
        for url, body, ctype in records:
            # warcio builds a response's HTTP headers from its block: build a resource record, then retype it
            record = writer.create_warc_record(url, "resource", payload=io.BytesIO(body), length=len(body),
                                               warc_content_type=ctype,
                                               warc_headers_dict={"WARC-Date": "2026-11-30T10:00:00Z"})
            record.rec_headers.replace_header("WARC-Type", "response")
            writer.write_record(record)
