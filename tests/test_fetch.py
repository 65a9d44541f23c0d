"""The fetcher against a real HTTP server on 127.0.0.1: manners, limits, retries and the SSRF guard."""

from __future__ import annotations

import gzip
import ipaddress
import time

import pytest

from tasks.fetch import (HOST_GIVE_UP_AFTER, AddressGuard, Fetcher, FetchError, FetchPolicy, LimitedDecoder,
                         RefusedError, address_kind, retry_after_seconds)
from webserver import LocalServer, page_html

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def policy(**changes) -> FetchPolicy:
    """Short timeouts and no politeness delay: the server is ours and on 127.0.0.1 (allow-listed)."""
    base = dict(allowed_hosts=("127.0.0.1",), connect_timeout=2.0, deadline=3.0, retries=2, backoff=0.05,
                min_host_interval=0.0, max_bytes=1 * MB)
    return FetchPolicy(**{**base, **changes})


def hits(server, path: str) -> int:
    return server.site.hits[path]


def test_page_is_fetched_with_user_agent_and_validators(server):
    with Fetcher(policy()) as f:
        result = f.fetch(server.url("/news/1.html"))
    assert result.status == 200
    assert b"report number 1" in result.body
    assert result.etag and result.last_modified
    sent = [h for p, h in server.site.requests if p == "/news/1.html"][-1]
    assert sent["User-Agent"].startswith("newsflow/")


def test_conditional_request_gets_304_and_no_body(server):
    with Fetcher(policy()) as f:
        first = f.fetch(server.url("/news/2.html"))
        again = f.fetch(server.url("/news/2.html"), etag=first.etag)
        by_date = f.fetch(server.url("/news/2.html"), last_modified=first.last_modified)
    assert again.not_modified and again.body is None
    assert by_date.status == 304
    sent = [h for p, h in server.site.requests if p == "/news/2.html"][-2]
    assert sent["If-None-Match"] == first.etag


def test_redirect_is_followed_hop_by_hop(server):
    with Fetcher(policy()) as f:
        result = f.fetch(server.url("/redirect"))
    assert result.final_url == server.url("/news/1.html")
    assert result.redirects == [server.url("/redirect")]


def test_redirect_loop_stops(server):
    with Fetcher(policy(max_redirects=3)) as f, pytest.raises(FetchError, match="more than 3 redirects"):
        f.fetch(server.url("/redirect-loop"))


def test_redirect_to_private_address_is_refused(server):
    with Fetcher(policy()) as f, pytest.raises(RefusedError) as err:
        f.fetch(server.url("/redirect-private"))
    assert err.value.reason == ("refused: 10.0.0.5 is a private address "
                                "(set NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true to allow)")


def test_redirect_to_a_malformed_url_is_refused_with_the_reason(server):
    """urljoin raised ValueError on it, which escaped the fetcher's FetchError contract."""
    with Fetcher(policy()) as f, pytest.raises(RefusedError) as err:
        f.fetch(server.url("/redirect-malformed"))
    assert err.value.reason == "refused: redirect to 'http://[::1/x': malformed URL (Invalid IPv6 URL)"


def test_loopback_is_refused_by_default(server):
    with Fetcher(policy(allowed_hosts=())) as f, pytest.raises(RefusedError, match="127.0.0.1 is a loopback"):
        f.fetch(server.url("/news/1.html"))
    with Fetcher(policy(allowed_hosts=())) as f, pytest.raises(RefusedError, match="localhost resolves to"):
        f.fetch(f"http://localhost:{server.port}/news/1.html")


def test_private_networks_allowed_on_purpose(server):
    with Fetcher(policy(allowed_hosts=(), allow_private_networks=True)) as f:
        assert f.fetch(server.url("/news/1.html")).status == 200
    with Fetcher(policy(allowed_hosts=("127.0.0.0/8",))) as f:  # a network on the allow-list
        assert f.fetch(f"http://localhost:{server.port}/news/1.html").status == 200


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"])
def test_only_http_and_https(url):
    with Fetcher(policy()) as f, pytest.raises(RefusedError, match="only http and https"):
        f.fetch(url)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.1", "private"),
    ("172.16.5.5", "private"), ("169.254.169.254", "link-local"), ("100.64.0.1", "CGNAT (shared)"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"),
    ("::1", "loopback"), ("fd00::1", "private"), ("fe80::1", "link-local"), ("::ffff:10.0.0.1", "private"),
    ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_guard_names_the_host_and_address():
    guard = AddressGuard(False, ["localhost"])
    assert "127.0.0.1" in guard.resolve("localhost", 80)  # allowed by name
    with pytest.raises(RefusedError, match=r"refused: 169\.254\.169\.254 is a link-local address"):
        guard.resolve("169.254.169.254", 80)


def test_robots_txt_is_obeyed(server):
    with Fetcher(policy()) as f, pytest.raises(RefusedError, match="robots.txt of .* disallows /private/"):
        f.fetch(server.url("/private/secret.html"))
    assert hits(server, "/private/secret.html") == 0


def test_crawl_delay_spaces_requests_to_a_host(server):
    server.site.robots = "User-agent: *\nCrawl-delay: 0.3\n"
    try:
        with Fetcher(policy()) as f:
            started = time.monotonic()
            f.fetch(server.url("/news/3.html"))  # reads robots.txt first
            f.fetch(server.url("/news/4.html"))
            waited = time.monotonic() - started
    finally:
        server.site.robots = "User-agent: *\nDisallow: /private/\n"
    # three requests (robots, 3, 4), each at least 0.3 s after the one before: a lower bound only
    assert waited >= 0.6


def test_503_then_200_is_retried(server):
    with Fetcher(policy()) as f:
        result = f.fetch(server.url("/flaky"))
    assert result.status == 200
    assert hits(server, "/flaky") == 3  # two 503s, then the page


def test_429_waits_for_retry_after(server):
    with Fetcher(policy(backoff=0.01)) as f:
        started = time.monotonic()
        result = f.fetch(server.url("/rate-limited"))
    assert result.status == 200
    assert time.monotonic() - started >= 1.0  # Retry-After: 1, not the 0.01 s backoff


def test_retry_after_longer_than_limit_gives_up_at_once(server):
    with Fetcher(policy(max_retry_after=5)) as f, pytest.raises(FetchError, match="retry after 3600 s") as err:
        f.fetch(server.url("/retry-much-later"))
    assert err.value.transient and hits(server, "/retry-much-later") == 1


def test_5xx_gives_up_after_the_retries(server):
    with Fetcher(policy(retries=2)) as f, pytest.raises(FetchError, match="HTTP 500 after 3 attempts") as err:
        f.fetch(server.url("/always-500"))
    assert err.value.status == 500 and hits(server, "/always-500") == 3


def test_4xx_is_never_retried(server):
    with Fetcher(policy(retries=3)) as f, pytest.raises(FetchError, match="HTTP 404") as err:
        f.fetch(server.url("/missing"))
    assert not err.value.transient and hits(server, "/missing") == 1


def test_slow_body_stops_at_the_total_deadline(server):
    with Fetcher(policy(deadline=1.0, connect_timeout=5.0, retries=0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline of 1 s exceeded"):
            f.fetch(server.url("/slow"))
    # every byte arrives well within the socket timeout, so only the deadline can have stopped it
    assert time.monotonic() - started < 8.0  # the server would drip for 10 s


def test_headers_sent_a_byte_at_a_time_stop_at_the_total_deadline(server):
    """Each byte of the header arrives well within the socket timeout; httpcore would read on until
    its 100 KB header limit (a day at this pace), so only the deadline can stop it."""
    with Fetcher(policy(deadline=1.0, connect_timeout=5.0, retries=0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline of 1 s exceeded before the response was complete"):
            f.fetch(server.url("/slow-headers"))
    assert time.monotonic() - started < 4.0


def test_oversized_body_stops_while_streaming(server):
    with Fetcher(policy()) as f, pytest.raises(FetchError, match="body larger than 1,048,576 bytes"):
        f.fetch(server.url("/big"))
    with Fetcher(policy()) as f, pytest.raises(FetchError, match="Content-Length 3,145,728"):
        f.fetch(server.url("/big-declared"))


def test_gzip_bomb_stops_at_the_limit(server):
    assert len(server.site.bomb) < 64 * 1024  # 20 MB of zeros in a few kB
    with Fetcher(policy()) as f, pytest.raises(FetchError, match="after decompression"):
        f.fetch(server.url("/bomb"))


def test_gzip_content_encoding_is_decoded(server):
    with Fetcher(policy()) as f:
        result = f.fetch(server.url("/gzipped"))
    assert result.body == server.site.pages["/news/2.html"].encode()


def test_a_gzip_body_cut_short_is_an_error_not_a_shorter_page(server):
    """The HTTP message is whole (its Content-Length matches), the gzip stream in it is not: the half
    page was taken as the page. Now an error, retried like a failed connection."""
    hits = server.site.hits["/gzipped-cut"]
    with Fetcher(policy(retries=1)) as f, pytest.raises(FetchError) as err:
        f.fetch(server.url("/gzipped-cut"))
    assert err.value.reason == ("connection failed (the gzip body ends before its end marker: the transfer "
                                "was cut short) after 2 attempts")
    assert server.site.hits["/gzipped-cut"] == hits + 2
    with Fetcher(policy()) as f:  # an empty body labelled gzip is an empty body, not a cut one
        assert f.fetch(server.url("/gzipped-empty")).body == b""


def test_limited_decoder_never_returns_more_than_the_limit():
    import brotli

    for encoding, compress in (("gzip", gzip.compress), ("br", brotli.compress)):
        bomb = compress(b"\0" * (8 * MB))
        decoder = LimitedDecoder(encoding, 1000)
        with pytest.raises(FetchError, match="body larger than 1,000 bytes after decompression"):
            for i in range(0, len(bomb), 512):
                assert len(decoder.feed(bomb[i:i + 512])) <= 1001
        decoder = LimitedDecoder(encoding, 100)
        assert decoder.feed(compress(b"hello")) == b"hello" and decoder.finished
    members = gzip.compress(b"first half, ") + gzip.compress(b"second half")  # a body of two gzip members
    decoder = LimitedDecoder("gzip", 100)
    assert b"".join(decoder.feed(members[i:i + 7]) for i in range(0, len(members), 7)) == b"first half, second half"
    with pytest.raises(FetchError, match="body larger than 15 bytes"):
        LimitedDecoder("gzip", 15).feed(members)
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'zstd'"):
        LimitedDecoder("zstd", 100)


def test_a_retry_after_holds_for_the_host_after_its_url_is_given_up(server):
    """A server that asks for an hour's rest is asked nothing more, not only not that URL again: its
    other pages wait (the host's record is shared by the run's threads and other runs)."""
    with Fetcher(policy(max_retry_after=5)) as f:
        with pytest.raises(FetchError, match="retry after 3600 s"):
            f.fetch(server.url("/retry-much-later"))
        before = hits(server, "/news/4.html")
        with pytest.raises(FetchError, match=r"is not asked again for 36\d\d s \(its Retry-After") as err:
            f.fetch(server.url("/news/4.html"))
    assert err.value.transient and hits(server, "/news/4.html") == before


def test_a_robots_txt_over_the_size_limit_is_obeyed_as_far_as_it_was_read(server):
    """RFC 9309 asks crawlers to parse at least 500 KiB of a robots.txt: a larger one (comments after
    its rules) was taken as unreadable, and the whole site refused on every run."""
    rules = server.site.robots
    server.site.robots = rules + "# an old path\n" * 60_000  # ~840 KB
    try:
        with Fetcher(policy()) as f:
            assert f.fetch(server.url("/news/3.html")).status == 200
            with pytest.raises(RefusedError, match="disallows /private/"):
                f.fetch(server.url("/private/secret.html"))
    finally:
        server.site.robots = rules


def test_a_host_that_leaves_urls_unanswered_is_not_asked_again_in_the_run(server):
    """Each unanswered URL costs its retries and timeouts; a dead host's hundreds of items held a run
    for hours. After HOST_GIVE_UP_AFTER in a row, its other URLs fail at once, as transient."""
    with Fetcher(policy(deadline=0.5, retries=0)) as f:
        for _ in range(HOST_GIVE_UP_AFTER):
            with pytest.raises(FetchError, match="deadline of 0.5 s exceeded"):
                f.fetch(server.url("/slow"))
        before = hits(server, "/news/5.html")
        with pytest.raises(FetchError, match="left 3 requests in a row unanswered") as err:
            f.fetch(server.url("/news/5.html"))
        assert err.value.transient and hits(server, "/news/5.html") == before
    with Fetcher(policy()) as f:  # the next run asks again
        assert f.fetch(server.url("/news/5.html")).status == 200


def test_an_answer_between_unanswered_urls_keeps_the_host_asked(server):
    with Fetcher(policy(deadline=0.5, retries=0)) as f:
        for _ in range(HOST_GIVE_UP_AFTER):
            with pytest.raises(FetchError, match="deadline"):
                f.fetch(server.url("/slow"))
            f.fetch(server.url("/news/5.html"))


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 01 Jan 2020 00:00:00 GMT") == 0.0  # in the past
    assert 50 < retry_after_seconds("Thu, 01 Jan 2026 00:01:00 GMT", now=1767225600.0) <= 60
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_unreachable_port_is_a_transient_error():
    with Fetcher(policy(retries=1)) as f, pytest.raises(FetchError, match="connection failed") as err:
        f.fetch("http://127.0.0.1:9/")  # discard port: nothing listens
    assert err.value.transient


@pytest.mark.parametrize("robots", [
    "User-agent: newsflow\nDisallow: /news/5.html\n\nUser-agent: *\nAllow: /\n",  # rules for newsflow by name
    # saved with a byte-order mark: Protego did not know the first line behind it, and allowed everything
    "\ufeffUser-agent: *\nDisallow: /news/5.html\n",
])
def test_robots_rules_are_obeyed(server, robots: str):
    server.site.robots = robots
    try:
        with Fetcher(policy()) as f, pytest.raises(RefusedError, match="disallows /news/5.html"):
            f.fetch(server.url("/news/5.html"))
    finally:
        server.site.robots = "User-agent: *\nDisallow: /private/\n"


def test_a_redirect_to_a_location_of_raw_utf8_is_followed_to_that_page(server):
    """httpx gives header values as Latin-1: the Location /umlaut/münchen.html became
    /umlaut/m%C3%83%C2%BCnchen.html, a page the server does not have (HTTP 404)."""
    server.site.extra["/umlaut/m%C3%BCnchen.html"] = (page_html(7).encode(), "text/html; charset=utf-8")
    with Fetcher(policy()) as f:
        result = f.fetch(server.url("/redirect-utf8"))
    assert (result.status, result.final_url) == (200, server.url("/umlaut/münchen.html"))


def test_a_304_to_a_request_that_named_no_version_is_a_failure_tried_again(server):
    """It was taken as "not modified": the feed item was marked seen, unread, with no row anywhere."""
    with Fetcher(policy()) as f, pytest.raises(FetchError, match=r"HTTP 304 \(not modified\) to a request that "
                                                                 "named no version") as err:
        f.fetch(server.url("/always-304"))
    assert err.value.transient and err.value.status == 304
    with Fetcher(policy()) as f:  # asked with a version, it is what it says
        assert f.fetch(server.url("/always-304"), etag='"v1"').status == 304


def test_missing_robots_allows_and_broken_robots_refuses(server):
    server.site.robots = ""  # the server answers 404
    try:
        with Fetcher(policy()) as f:
            assert f.fetch(server.url("/news/1.html")).status == 200
        server.site.robots = None  # the server answers 503: nothing may be fetched (RFC 9309)
        with Fetcher(policy(retries=1)) as f, pytest.raises(RefusedError, match=r"robots.txt could not be read \(HTTP 503"):
            f.fetch(server.url("/news/1.html"))
    finally:
        server.site.robots = "User-agent: *\nDisallow: /private/\n"
