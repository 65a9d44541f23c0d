"""Feeds, sitemaps and page detection, parsed from bytes, and whole source walks against 127.0.0.1."""

from __future__ import annotations

import gzip
import json

import pytest

from tasks.discover import (DiscoveryError, FetchState, Harvester, UrlState, detect_kind, domain_allowed,
                            parse_feed, parse_opml, parse_sitemap)
from tasks.fetch import Fetcher, FetchPolicy
from webserver import ENTITY_FEED, LocalServer, Site, page_html


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allowed_hosts=("127.0.0.1",), connect_timeout=2.0, deadline=3.0, retries=1,
                               backoff=0.05, min_host_interval=0.0, max_bytes=1024 * 1024))


def site(base: str = "http://news.example") -> Site:
    s = Site.__new__(Site)  # content only: no bomb, no lock needed
    s.base = base
    return s


def test_detect_kind():
    s = site()
    assert detect_kind(s.rss().encode(), "application/xml") == "feed"
    assert detect_kind(s.atom().encode(), "text/xml") == "feed"
    assert detect_kind(s.rss().encode(), "text/html") == "feed"  # servers lie; the root element does not
    assert detect_kind(s.sitemap_index().encode(), "application/xml") == "sitemap"
    assert detect_kind(gzip.compress(s.sitemap((1,)).encode()), "application/gzip") == "sitemap"
    assert detect_kind(page_html(1).encode(), "text/html") == "page"
    assert detect_kind(b"https://a.example/1\nhttps://a.example/2\n", "text/plain", "/sitemap.txt") == "sitemap"
    assert detect_kind(b"plain words", "text/plain", "/story.txt") == "page"


def test_rss_items():
    items = parse_feed(site().rss().encode(), "http://news.example/feed.xml")
    assert [i.url for i in items] == [f"http://news.example/news/{n}.html" for n in (1, 2, 3)]
    assert items[0].title == "Report 1" and items[0].published.startswith("2026-01-01T10:00:00")


def test_an_item_date_feedparser_cannot_read_is_passed_on_as_written():
    """An RSS pubDate without a zone ("Sun, 10 Mar 2024 08:00:00") was dropped: the article had no
    date and no flag saying the feed gave one."""
    rss = ('<rss version="2.0"><channel><title>t</title>'
           "<item><title>a</title><link>http://x.example/a</link><pubDate>Sun, 10 Mar 2024 08:00:00</pubDate></item>"
           "<item><title>b</title><link>http://x.example/b</link><pubDate>last Tuesday</pubDate></item>"
           "</channel></rss>")
    items = parse_feed(rss.encode(), "http://x.example/feed.xml")
    assert [i.published for i in items] == ["Sun, 10 Mar 2024 08:00:00", "last Tuesday"]


def test_an_item_date_naming_its_zone_or_a_bare_number_is_read_by_the_cleaner_not_feedparser():
    """feedparser read "10:00 CEST" as 10:00 UTC, "IST" (India, Ireland or Israel) as one of them with no
    flag, and "1764583200" as the year 1764: these go on as written, for `parse_published`."""
    from tasks.clean import parse_published

    dates = ["Mon, 01 Dec 2025 10:00:00 CEST", "Mon, 01 Dec 2025 10:00:00 IST", "1764583200",
             "Mon, 01 Dec 2025 10:00:00 GMT", "Mon, 01 Dec 2025 10:00:00 +0200"]
    rss = ('<rss version="2.0"><channel><title>t</title>' + "".join(
        f"<item><title>a</title><link>http://x.example/{i}</link><pubDate>{d}</pubDate></item>"
        for i, d in enumerate(dates)) + "</channel></rss>")
    read = [parse_published(i.published) for i in parse_feed(rss.encode(), "http://x.example/feed.xml")]
    assert read == ["2025-12-01T10:00:00+02:00", None, None, "2025-12-01T10:00:00+00:00", "2025-12-01T08:00:00+00:00"]


def test_atom_relative_links_resolve_against_the_feed_url():
    items = parse_feed(site().atom().encode(), "http://news.example/feeds/atom.xml")
    assert [i.url for i in items] == ["http://news.example/news/3.html", "http://news.example/news/4.html"]


@pytest.mark.parametrize("ref, title", [
    ("&#55357;&#56832;", "Story \U0001f600"),  # an emoji written as its UTF-16 halves
    ("&#xD83D;&#xDE00;", "Story \U0001f600"),
    ("&#55357;x", "Story \ufffdx"),  # a lone half
    ("&#xDE00;&#xD83D;", "Story \ufffd\ufffd"),  # halves in the wrong order
    ("&#x110000;", "Story \ufffd"),  # past Unicode
    ("&#99999999999999999999;", "Story \ufffd"),
    ("&#x1F600;&#8217;", "Story \U0001f600\u2019"),  # valid references stay as they are
])
def test_a_feed_item_with_a_character_reference_python_cannot_decode_keeps_the_feed(ref: str, title: str):
    """feedparser raised on these (UnicodeEncodeError, ValueError, OverflowError), losing every item of
    the feed to one "could not process" row."""
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            f'<item><title>Story {ref}</title><link>http://x.example/1</link></item>'
            '<item><title>Next</title><link>http://x.example/2</link></item></channel></rss>')
    items = parse_feed(feed.encode(), "http://x.example/feed.xml")
    assert [(i.title, i.url) for i in items] == [(title, "http://x.example/1"), ("Next", "http://x.example/2")]


@pytest.mark.parametrize("before", [b"", b"<!--" + b" " * 70_000 + b"-->"])  # past the first 64 KB too
def test_feed_with_entities_is_refused(before: bytes):
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_feed(ENTITY_FEED.replace(b"<!DOCTYPE", before + b"<!DOCTYPE", 1), "http://x.example/")


@pytest.mark.parametrize("body", [
    b"<html><body>hello</body></html>",
    b"",  # feedparser's result then has no version: an AttributeError, not this reason
    b'<?xml version="1.0" encoding="ut\xff-8"?><rss version="2.0"><channel></channel></rss>',  # it raised
])
def test_not_a_feed(body: bytes):
    with pytest.raises(DiscoveryError, match="not a readable RSS or Atom feed"):
        parse_feed(body, "http://x.example/")


def test_sitemap_index_and_gz_sitemap():
    s = site()
    items, children = parse_sitemap(s.sitemap_index().encode(), "http://news.example/")
    assert items == [] and list(children) == ["http://news.example/sitemap-a.xml", "http://news.example/sitemap-b.xml.gz"]
    items, children = parse_sitemap(gzip.compress(s.sitemap((4, 5)).encode()), "http://news.example/")
    assert [i.url for i in items] == ["http://news.example/news/4.html", "http://news.example/news/5.html"]
    assert items[0].published is None and children == {}  # <lastmod> is when the page last changed


def test_a_news_sitemap_gives_each_page_its_publication_date_not_its_last_change():
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>/news/1.html</loc><lastmod>2026-12-05T09:00:00Z</lastmod>
  <news:news><news:publication><news:name>Ledger</news:name><news:language>en</news:language></news:publication>
  <news:publication_date>2019-05-01T10:00:00+02:00</news:publication_date><news:title>Old story</news:title></news:news></url>
<url><loc>/news/2.html</loc><lastmod>2026-12-05</lastmod></url>
</urlset>"""
    items, _ = parse_sitemap(xml, "http://news.example/")
    assert [(i.url, i.published) for i in items] == [
        ("http://news.example/news/1.html", "2019-05-01T10:00:00+02:00"), ("http://news.example/news/2.html", None)]


def test_sitemap_gz_bomb_and_entities_are_refused():
    with pytest.raises(DiscoveryError, match="after decompression"):
        parse_sitemap(gzip.compress(b" " * (2 * 1024 * 1024)), "http://x.example/", max_bytes=1024 * 1024)
    packed = gzip.compress("".join(f"http://x.example/story-{n}\n" for n in range(500)).encode())
    with pytest.raises(DiscoveryError, match="gzip data ends before its end marker: the file is cut short"):
        parse_sitemap(packed[: len(packed) // 2], "http://x.example/")  # its last URL would be cut too
    doc = b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset><url><loc>&x;</loc></url></urlset>'
    with pytest.raises(DiscoveryError, match="entities"):
        parse_sitemap(doc, "http://x.example/")


@pytest.mark.parametrize("ref, kept", [
    ("&#55357;&#56832;", "\U0001f600"),  # an emoji written as its UTF-16 halves
    ("&#55357;", "\ufffd"),  # a lone half
    ("&#1;", "\ufffd"),  # a control character: not an XML character
    ("&#xFFFF;", "\ufffd"),
    ("&#x110000;", "\ufffd"),  # past Unicode
    ("&#233;&#x1F600;", "\u00e9\U0001f600"),  # valid references stay as they are
])
def test_a_character_reference_xml_refuses_does_not_lose_the_sitemap_or_opml_file(ref: str, kept: str):
    """lxml's strict parse refused the whole file on any of these: every URL of the sitemap, every feed
    of the OPML file lost for one character."""
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               f'<url><loc>http://x.example/a{ref}</loc></url><url><loc>http://x.example/b</loc></url></urlset>')
    items, _ = parse_sitemap(sitemap.encode(), "http://x.example/")
    assert [i.url for i in items] == [f"http://x.example/a{kept}", "http://x.example/b"]
    opml = ('<?xml version="1.0"?><opml version="2.0"><body>'
            f'<outline text="Fun {ref}" xmlUrl="http://x.example/a{ref}.xml"/>'
            '<outline text="B" xmlUrl="http://x.example/b.xml"/></body></opml>')
    assert parse_opml(opml.encode()) == [f"http://x.example/a{kept}.xml", "http://x.example/b.xml"]


def test_text_sitemap_and_garbage():
    items, _ = parse_sitemap(b"https://a.example/1\n\nhttps://a.example/2\n", "https://a.example/")
    assert [i.url for i in items] == ["https://a.example/1", "https://a.example/2"]
    with pytest.raises(DiscoveryError, match="not a sitemap"):
        parse_sitemap(b"<html/>", "https://a.example/")


def test_domain_allowed():
    assert domain_allowed("https://www.example.org/a", ["example.org"])
    assert not domain_allowed("https://example.org.evil.net/a", ["example.org"])
    assert domain_allowed("https://anything.net/", [])


# ------------------------------------------------------------------ walks against the local server


def test_feed_source_fetches_every_item_then_nothing_new(server):
    with fetcher() as f:
        first = Harvester(f, source="t1").run([server.url("/feed.xml")], "feed")
    pages = [d for d in first.documents if d.error is None]
    assert sorted(d.source_uri for d in pages) == [server.url(f"/news/{n}.html") for n in (1, 2, 3)]
    assert all(d.media_type == "html" and d.fields["url"] == d.source_uri for d in pages)
    assert pages[0].fields["feed_title"] == "Report 1"
    assert sorted(first.seen_items) == sorted(d.source_uri for d in pages)

    # what the warehouse would hand back on the next run
    state = FetchState({r.url: UrlState(r.etag, r.last_modified, r.content_sha256) for r in first.records},
                       set(first.seen_items))
    before = server.site.hits.copy()
    with fetcher() as f:
        second = Harvester(f, state, source="t1").run([server.url("/feed.xml")], "feed")
    assert second.documents == [] and second.stats["not_modified"] == 1
    assert server.site.hits["/feed.xml"] - before["/feed.xml"] == 1  # only the conditional feed request
    assert all(server.site.hits[f"/news/{n}.html"] == before[f"/news/{n}.html"] for n in (1, 2, 3))


def test_seen_items_are_skipped_when_the_feed_changed(server):
    seen = {server.url("/news/1.html"), server.url("/news/2.html")}
    with fetcher() as f:
        harvest = Harvester(f, FetchState({}, seen), source="t2").run([server.url("/feed.xml")], "auto")
    assert [d.source_uri for d in harvest.documents] == [server.url("/news/3.html")]
    assert harvest.stats["skipped_seen"] == 2


def test_sitemap_index_walk_with_limits(server):
    with fetcher() as f:
        harvest = Harvester(f, source="t3", max_items=3).run([server.url("/sitemap_index.xml")], "auto")
    urls = [d.source_uri for d in harvest.documents]
    assert urls == [server.url(f"/news/{n}.html") for n in (1, 2, 4)]
    assert harvest.stats["skipped_limit"] == 1 and harvest.stats["listings"] == 3


def test_allowed_domains_skip_foreign_items(server):
    with fetcher() as f:
        harvest = Harvester(f, source="t4", allowed_domains=["example.org"]).run([server.url("/feed.xml")], "feed")
    assert harvest.documents == [] and harvest.stats["skipped_domain"] == 3


def test_auto_detects_a_page_and_reports_errors_as_documents(server):
    urls = [server.url("/news/5.html"), server.url("/redirect-private"), server.url("/doc.pdf"),
            server.url("/entity-feed.xml")]
    with fetcher() as f:
        harvest = Harvester(f, source="t5").run(urls, "auto")
    by_url = {d.source_uri: d for d in harvest.documents}
    assert by_url[urls[0]].error is None and by_url[urls[0]].raw.startswith(b"<!doctype html>")
    assert by_url[urls[1]].error.startswith("refused: 10.0.0.5 is a private address")
    assert by_url[urls[1]].fields["stage"] == "fetch"
    assert "unsupported content type 'application/pdf'" in by_url[urls[2]].error
    assert "declares XML entities" in by_url[urls[3]].error
    assert harvest.stats["errors"] == 3
    # each failure's fetch_state row keeps its reason: saved without one, it took the quarantine row out
    failed = {r.url: r for r in harvest.records if r.error}
    assert sorted(failed) == sorted(urls[1:])
    assert "unsupported content type" in failed[urls[2]].error and failed[urls[2]].failure == "permanent"
    # a feed that cannot be read is read whole by the next run (not "unchanged"), and quarantined again
    assert (failed[urls[3]].etag, failed[urls[3]].content_sha256) == (None, None)


def test_a_page_redirected_to_the_home_page_is_quarantined_for_good(server):
    """A removed article's URL that redirects to the site's root stored the home page as an article."""
    urls = [server.url("/gone-home"), server.url("/")]
    with fetcher() as f:
        harvest = Harvester(f, source="t5b").run(urls, "urls")
    by_url = {d.source_uri: d for d in harvest.documents}
    assert by_url[urls[0]].error.startswith(f"redirected to the site's home page ({server.url('/?from=gone')})")
    assert by_url[urls[1]].error is None  # the root asked for is read as it is
    with fetcher() as f:  # a root whose query names a page is a page: WordPress's /?p=123
        plain = Harvester(f, source="t5b2").run([server.url("/plain-link")], "urls")
    assert [(d.fields["url"], d.error) for d in plain.documents] == [(server.url("/?p=123"), None)]
    failed = [r for r in harvest.records if r.error]
    assert [(r.url, r.failure) for r in failed] == [(urls[0], "permanent")]


def test_a_redirector_that_tags_its_target_gives_the_page_its_clean_url(server):
    """FeedBurner's /~r/ links answer with the page's URL plus utm_ tags: its article got the tagged URL,
    and the clean link another feed gives became a second article."""
    urls = [server.url("/~r/feed/1"), server.url("/news/1.html")]
    with fetcher() as f:
        harvest = Harvester(f, source="t5c").run(urls, "urls")
    assert [d.fields["url"] for d in harvest.documents] == [server.url("/news/1.html")]
    assert harvest.stats["skipped_seen"] == 1


def test_an_opml_list_given_as_a_url_is_read_as_one(server):
    """It was fetched as a page: "unsupported content type 'text/x-opml' (expected an HTML page)"."""
    with fetcher() as f:
        harvest = Harvester(f, source="t5d").run([server.url("/feeds.opml")], "auto")
    assert sorted(d.source_uri for d in harvest.documents) == [server.url(f"/news/{n}.html") for n in (1, 2, 3)]


def test_a_json_feed_is_read_whatever_type_it_is_served_as():
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "News", "items": [
        {"id": "1", "url": "/news/1.html", "title": "One", "date_published": "2024-03-01T10:00:00-05:00"},
        {"id": "2", "external_url": "https://other.example/2", "summary": "Two"},
        {"id": "3", "content_text": "no link"}]}).encode()
    assert detect_kind(feed, "application/json") == detect_kind(feed, "application/feed+json") == "feed"
    assert detect_kind(feed.replace(b"/", b"\\/"), "application/json") == "feed"  # as PHP's json_encode writes
    for start in (b"\xef\xbb\xbf", b"\n\n\xef\xbb\xbf"):  # a BOM, after blank lines too
        items = parse_feed(start + feed, "http://news.example/feed.json")
        assert [(i.url, i.title, i.published, i.summary) for i in items] == [
            ("http://news.example/news/1.html", "One", "2024-03-01T10:00:00-05:00", None),
            ("https://other.example/2", None, None, "Two"), ("", None, None, None)]
    with pytest.raises(DiscoveryError, match="not a readable JSON Feed: no 'items' list"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1"}', "http://news.example/feed.json")


@pytest.mark.parametrize("start", [b"\xef\xbb\xbf", b"\n", b"\r\n  \n", b"\n\n\xef\xbb\xbf"])
def test_a_sitemap_after_a_byte_order_mark_or_blank_lines_is_read(start: bytes):
    """A BOM made an XML sitemap "neither XML nor a list of URLs" and hid a text sitemap's first URL;
    lxml refused a blank line before the XML declaration."""
    xml = (b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           b"<url><loc>http://a.example/1</loc></url></urlset>")
    assert [i.url for i in parse_sitemap(start + xml, "http://a.example/s.xml")[0]] == ["http://a.example/1"]
    text = start + b"http://a.example/1\r\nhttp://a.example/2\r\n"
    assert [i.url for i in parse_sitemap(text, "http://a.example/sitemap.txt")[0]] == [
        "http://a.example/1", "http://a.example/2"]


def test_atom_links_under_nested_relative_xml_bases():
    atom = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="/blog/">'
            b"<title>t</title><id>urn:x</id><updated>2025-12-01T00:00:00Z</updated><entry xml:base=\"news/\">"
            b'<title>A</title><link rel="alternate" href="6.html"/><id>urn:1</id><updated>2025-01-01T00:00:00Z'
            b"</updated></entry></feed>")
    assert [i.url for i in parse_feed(atom, "http://a.example/feeds/atom.xml")] == ["http://a.example/blog/news/6.html"]


def test_unchanged_body_without_validators_is_not_processed_again(server):
    url = server.url("/gzipped")  # served without ETag or Last-Modified
    with fetcher() as f:
        first = Harvester(f, source="t6").run([url], "urls")
    state = FetchState({url: UrlState(None, None, first.records[0].content_sha256)})
    with fetcher() as f:
        second = Harvester(f, state, source="t6").run([url], "urls")
    assert len(first.documents) == 1 and second.documents == [] and second.stats["unchanged"] == 1


def test_an_unchanged_sitemap_index_still_has_its_sitemaps_read(server):
    """News sites keep the index and change its sitemaps: an index answering 304 (or the same bytes)
    left every sitemap unread, so no new article arrived. The index is saved without its validators,
    read whole by each run, and its sitemaps each asked conditionally."""
    with fetcher() as f:
        first = Harvester(f, source="t7").run([server.url("/sitemap_index.xml")], "sitemap")
    index = next(r for r in first.records if r.url == server.url("/sitemap_index.xml"))
    assert (index.etag, index.last_modified, index.content_sha256) == (None, None, None)
    child = next(r for r in first.records if r.url == server.url("/sitemap-a.xml"))
    assert child.etag is not None  # a sitemap of pages keeps them
    state = FetchState({r.url: UrlState(r.etag, r.last_modified, r.content_sha256) for r in first.records},
                       set(first.seen_items))
    before = server.site.hits.copy()
    with fetcher() as f:
        second = Harvester(f, state, source="t7").run([server.url("/sitemap_index.xml")], "sitemap")
    assert server.site.hits["/sitemap-a.xml"] - before["/sitemap-a.xml"] == 1
    assert server.site.hits["/sitemap-b.xml.gz"] - before["/sitemap-b.xml.gz"] == 1
    # sitemap-a.xml answers 304; sitemap-b.xml.gz has no validators (and gzip stamps the second it was
    # made in its header): read again, unchanged or with its pages seen items
    assert second.documents == [] and second.stats["not_modified"] == 1


def test_an_html_page_served_as_plain_text_is_read_as_html(server):
    """Read as text, its markup became the article (title `<!doctype html>`, 21,000 words of tags)."""
    server.site.extra["/plain/page"] = (b"\n  " + page_html(8).encode(), "text/plain; charset=utf-8")
    server.site.extra["/plain/notes"] = (b"Notes: a < b and <b> is bold.\n" * 20, "text/plain")
    urls = [server.url("/plain/page"), server.url("/plain/notes")]
    with fetcher() as f:
        harvest = Harvester(f, source="t8").run(urls, "urls")
    assert {d.source_uri: d.media_type for d in harvest.documents} == {urls[0]: "html", urls[1]: "text"}


def test_a_sitemap_as_large_as_the_protocol_allows_is_read_while_pages_keep_their_limit(server):
    """A sitemap of 50,000 URLs (8.5 MB) failed the 5 MB document limit: "gzipped sitemap: body larger
    than 5,242,880 bytes after decompression". A listing's cap is the sitemap protocol's 50 MB; a page
    found at a location of unknown kind keeps the document limit. (Here the fetcher's limit is 1 MB.)"""
    urls = "".join(f"<url><loc>{server.url('/news/')}{n}-a-long-slug-for-a-story-of-the-day.html</loc>"
                   f"<lastmod>2026-01-01</lastmod></url>" for n in range(20_000))
    body = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()
    assert len(body) > 2 * 1024 * 1024
    server.site.extra["/huge-sitemap.xml.gz"] = (gzip.compress(body), "application/gzip")
    server.site.extra["/huge-page.html"] = (page_html(9).encode() + b"<p>words</p>" * 200_000, "text/html")
    with fetcher() as f:
        harvest = Harvester(f, source="t9", max_items=2).run(
            [server.url("/huge-sitemap.xml.gz"), server.url("/huge-page.html")], "auto")
    assert harvest.stats["items_found"] == 20_000 and harvest.stats["skipped_limit"] == 20_000 - 2
    (big,) = [d for d in harvest.documents if d.source_uri == server.url("/huge-page.html")]
    assert big.error.startswith("body larger than 1,048,576 bytes (limit;")


def test_the_sitemap_an_index_says_changed_is_read_first_when_a_run_reads_only_some(server, monkeypatch):
    """Every run reads an index whole, but at most SITEMAP_MAX_FILES of its sitemaps, those read longest
    ago first: the one gaining today's articles waited its turn behind old months."""
    from datetime import datetime, timezone

    from newsflow import settings

    monkeypatch.setattr(settings, "SITEMAP_MAX_FILES", 1)
    read_at = datetime(2026, 1, 10, tzinfo=timezone.utc)
    months = {"/months/2025-11.xml": "2025-11-30", "/months/2025-12.xml": "2026-01-12T08:00:00+01:00",
              "/months/2025-10.xml": "2025-10-31"}
    server.site.extra["/months/index.xml"] = (
        ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
            f"<sitemap><loc>{server.url(p)}</loc><lastmod>{m}</lastmod></sitemap>" for p, m in months.items())
         + "</sitemapindex>").encode(), "application/xml")
    for path in months:
        server.site.extra[path] = (server.site.sitemap((1,)).encode(), "application/xml")
    state = FetchState({server.url(p): UrlState(fetched_at=read_at.replace(hour=h)) for h, p in enumerate(months)})
    before = server.site.hits.copy()
    with fetcher() as f:
        Harvester(f, state, source="t10").run([server.url("/months/index.xml")], "sitemap")
    assert [p for p in months if server.site.hits[p] > before[p]] == ["/months/2025-12.xml"]


def test_feed_items_without_a_link_are_said_to_be_passed_over(server):
    rss = ('<rss version="2.0"><channel><title>t</title>'
           f"<item><title>a</title><link>{server.url('/news/1.html')}</link></item>"
           "<item><title>b</title><description>a teaser with no link</description></item>"
           "<item><title>c</title></item></channel></rss>")
    server.site.extra["/linkless.xml"] = (rss.encode(), "application/rss+xml")
    with fetcher() as f:
        harvest = Harvester(f, source="t11").run([server.url("/linkless.xml")], "feed")
    assert harvest.stats["items_found"] == 1
    assert harvest.skipped == [(server.url("/linkless.xml"), "2 item(s) without a link: nothing to fetch")]


def test_links_that_redirect_to_one_page_give_one_document(server):
    """Four feed items that redirected to one page gave four documents (and four raw records) of one
    article, each cleaned."""
    urls = [server.url("/redirect"), server.url("/news/1.html"), server.url("/redirect?via=feed")]
    with fetcher() as f:
        harvest = Harvester(f, source="t12").run(urls, "urls")
    assert [d.fields["url"] for d in harvest.documents] == [server.url("/news/1.html")]
    assert harvest.stats["skipped_seen"] == 2 and len(harvest.records) == 3
