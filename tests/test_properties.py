"""Property tests (hypothesis): generated URLs and JSON records never sink a run.

URLs in every host notation, port, scheme and junk go through check_url, then into sitemaps and feeds
served from a loopback server; JSON records with extreme values go through reading, cleaning, GX
validation and a real DuckDB load. Every item ends as exactly one thing: loaded, quarantined with a
reason, or counted as skipped. Only 127.0.0.1 is ever fetched: the sources allow no other domain.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prefect.task_runners import ThreadPoolTaskRunner

from newsflow.urls import BadURL, check_url, without_tracking
from tasks import load as L
from tasks.discover import harvest_source, join_link
from tasks.fetch import FetchPolicy
from tasks.sources import MAX_JSON_DEPTH, loads_strict, read_path
from warehouse_helpers import load_docs
from webserver import LocalServer

POLICY = FetchPolicy(allow_private_networks=True, min_host_interval=0, retries=0, backoff=0, deadline=5,
                     connect_timeout=2)
LOCAL_ONLY = ("127.0.0.1",)
PROPS = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

# --- generated URLs ----------------------------------------------------------------------------------

octet = st.integers(0, 255)
FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
hosts = st.one_of(
    st.just("127.0.0.1"),
    st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(map(str, t))),
    st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(f"0{n:o}" for n in t)),  # octal
    st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(hex(n) for n in t)),  # hex
    st.integers(0, 2**32 + 5).map(str),  # one number
    st.tuples(octet, st.integers(0, 2**24)).map(lambda t: f"{t[0]}.{t[1]}"),  # shortened
    st.just("127.0.0.1").map(lambda h: h.translate(FULLWIDTH)),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.sampled_from(["[zz::1]", "[::1", "::1]", "[fe80::1%eth0]", "[::ffff:127.0.0.1]"]),
    st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=12).map(
        lambda s: f"{s}.example"),  # IDNA
    st.text(max_size=20),  # junk
)
ports = st.sampled_from(["", ":0", ":-1", ":65536", ":99999", ":abc", ":80", ":PORT"])
schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "file", "javascript", "", "h t t p", "http:"])
paths = st.text(max_size=15)


@st.composite
def urls(draw) -> str:
    return f"{draw(schemes)}://{draw(hosts)}{draw(ports)}/{draw(paths)}"


@given(st.one_of(urls(), st.text(max_size=40)))
@settings(max_examples=500)
def test_check_url_accepts_a_usable_url_or_refuses_with_a_reason(url):
    try:
        canonical = check_url(url.replace(":PORT", ":8080"))
    except BadURL as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    parsed = httpx.URL(canonical)  # accepted by the HTTP client, as it is
    assert parsed.scheme in ("http", "https")
    assert parsed.port is None or 1 <= parsed.port <= 65535
    assert check_url(canonical) == canonical  # canonical means stable


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def _xml_text(text: str) -> str:
    return escape("".join(ch for ch in text if ch in "\t\n" or ch >= " " and ch not in "\ufffe\uffff"
                          and not 0xD800 <= ord(ch) <= 0xDFFF))


@given(st.lists(urls(), min_size=1, max_size=12))
@example(generated=["ftp://127.0.0.1/#", "https://127.0.0.1/#\n0", "http://127.0.0.1:0/#0", "http://127.0.0.1/#0",
                    "http://127.0.0.1:PORT/generated-sitemap.xml#top",  # fragments: the page, the listing
                    "http://127.0.0.1:PORT/news/1.html?utm_source=x", "http://127.0.0.1:PORT/?UTM_A=1&b=2"])
@PROPS
def test_every_sitemap_entry_is_fetched_quarantined_or_counted(server, generated):
    good = [server.url(f"/news/{n}.html") for n in (1, 2, 3)]
    entries = [u.replace(":PORT", f":{server.port}") for u in generated]
    entries = [e for e in (_xml_text(e).strip() for e in entries) if e] + good
    locs = "".join(f"<url><loc>{e}</loc></url>" for e in entries)
    server.site.extra["/generated-sitemap.xml"] = (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode(),
        "application/xml")
    listing = server.url("/generated-sitemap.xml")
    harvest = harvest_source([listing], "sitemap", POLICY, None, source="prop", allowed_domains=LOCAL_ONLY,
                             max_items=10_000)
    docs = {d.source_uri: d for d in harvest.documents}
    assert listing not in docs, docs.get(listing)  # the listing itself never failed
    for url in good:
        assert docs[url].error is None, docs[url].error
    refused, fetched = 0, set()
    for written in entries:
        joined = join_link(listing, _unescape(written)).split("#", 1)[0]  # an item's fragment is dropped
        try:
            canonical = without_tracking(check_url(joined))  # and its tracking parameters
        except BadURL as exc:  # refused each time it is listed (one quarantine row: same id)
            assert docs[joined].error == f"refused: {exc.reason}"
            refused += 1
            continue
        if canonical in docs:
            fetched.add(canonical)  # fetched once; a repeat counts as seen
    stats = harvest.stats
    assert refused + len(fetched) + stats["skipped_domain"] + stats["skipped_seen"] == len(entries)
    assert len(harvest.documents) == refused + len(fetched)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(st.lists(urls(), min_size=1, max_size=10))
@PROPS
def test_a_feed_of_generated_links_loses_no_good_item(server, generated):
    good = [server.url(f"/news/{n}.html") for n in (4, 5)]
    links = [_xml_text(u.replace(":PORT", f":{server.port}")) for u in generated] + good
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    server.site.extra["/generated-feed.xml"] = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>g</title>{items}</channel></rss>'.encode(),
        "application/rss+xml")
    harvest = harvest_source([server.url("/generated-feed.xml")], "feed", POLICY, None, source="prop",
                             allowed_domains=LOCAL_ONLY)
    docs = {d.source_uri: d for d in harvest.documents}
    for url in good:
        assert docs[url].error is None
    for d in harvest.documents:
        assert d.error is None or d.error.strip(), d  # every error document carries its reason


# --- generated JSON records --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
FIELDS = ["url", "title", "text", "html", "published_at", "author"]
STORY = ("The harbour authority said on Monday that the new ferry terminal would open in the spring, "
         "after two years of delays caused by storms and a shortage of steel. ")


def _good(i: int, oddity: str = "null") -> str:
    """A valid article record carrying `oddity` (JSON text) in a field of its own."""
    record = {"url": f"https://news.example.org/story/{i}", "title": f"Ferry terminal story number {i}",
              "text": f"{STORY * 3}This is report {i}."}
    return json.dumps(record)[:-1] + f', "oddity": {oddity}}}'


extreme = st.one_of(
    st.integers(4301, 6000).map(lambda n: "9" * n),  # Python refuses to convert it
    st.integers(1, 4000).map(lambda n: "-" + "7" * n),  # Python converts it
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0.0", "5e-324"]),
    st.integers(50, 3000).map(lambda n: "[" * n + "]" * n),  # deep nesting
    json_values.map(json.dumps),
)


@st.composite
def bad_records(draw) -> str:
    kind = draw(st.sampled_from(["wrong-type", "extreme", "duplicate", "not-object", "broken"]))
    if kind == "wrong-type":
        record = {f: draw(json_values) for f in draw(st.sets(st.sampled_from(FIELDS), min_size=1))}
        return json.dumps(record)
    if kind == "extreme":
        field = draw(st.sampled_from([*FIELDS, "other"]))
        return '{"url": "https://news.example.org/x", "%s": %s}' % (field, draw(extreme))
    if kind == "duplicate":
        return '{"title": "One title here", "title": %s, "text": "short"}' % json.dumps(draw(json_values))
    if kind == "not-object":
        return json.dumps(draw(json_values))
    return draw(st.text(max_size=40)).replace("\n", " ")


@given(st.lists(st.one_of(st.tuples(st.just("odd"), extreme), st.tuples(st.just("bad"), bad_records())),
                min_size=1, max_size=8))
@PROPS
def test_every_generated_record_is_loaded_or_quarantined_with_a_reason(tmp_path_factory, records):
    """A valid article record loads whatever valid JSON it carries besides; every other line is
    quarantined with a reason; nothing is lost or doubled."""
    lines, good = [], 0
    for kind, value in records:
        if kind == "odd":
            lines.append(_good(len(lines), value))
            good += _json_can_hold(value)
        else:
            lines.append(value)
    folder = tmp_path_factory.mktemp("records")
    source = folder / "records.jsonl"
    source.write_text("\n".join(lines), encoding="utf-8")
    docs = list(read_path(source))
    con = L.connect(folder / "news.duckdb")
    try:
        load_docs(con, docs)
        articles = con.execute("select count(*) from articles").fetchone()[0]
        quarantined = con.execute("select count(*) from quarantine where len(reasons) > 0 "
                                  "and len(reasons[1]) > 0").fetchone()[0]
        quarantine_rows = con.execute("select count(*) from quarantine").fetchone()[0]
        loaded_good = con.execute("select count(*) from articles where url like 'https://news.example.org/story/%'"
                                  ).fetchone()[0]
    finally:
        con.close()
    assert loaded_good == good  # every good record loads, whatever odd value it carries
    assert quarantined == quarantine_rows  # every quarantine row has a reason
    assert articles + quarantine_rows == len(docs)  # each record ends as exactly one of the two


def _json_can_hold(text: str) -> bool:
    """Whether `text` is JSON that can be read and written again (no NaN, no overflow) and that a record
    can carry: the record is one level, so the value may nest MAX_JSON_DEPTH - 1 levels."""
    try:
        value = loads_strict(text)
        json.dumps(value)
    except (ValueError, RecursionError):
        return False
    depth, level = 0, [value]  # the value's levels of lists and objects, counted a level at a time
    while level := [v for v in level if isinstance(v, (list, dict))]:
        depth += 1
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v)]
    return 1 + depth <= MAX_JSON_DEPTH


# --- the whole flow, once, over generated input ------------------------------------------------------

@pytest.mark.slow
@given(st.lists(bad_records(), min_size=3, max_size=6), st.lists(urls(), min_size=3, max_size=6))
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_run_over_generated_hostile_input_completes(server, tmp_path_factory, monkeypatch, bad, generated):
    from flows.ingest import ingest

    folder = tmp_path_factory.mktemp("run")
    (folder / "in").mkdir()
    (folder / "in" / "good.jsonl").write_text("\n".join(_good(i) for i in range(3)), encoding="utf-8")
    (folder / "in" / "bad.jsonl").write_text("\n".join(bad), encoding="utf-8")
    links = [_xml_text(u.replace(":PORT", f":{server.port}")) for u in generated]
    items = "".join(f"<url><loc>{link}</loc></url>" for link in links)
    server.site.extra["/run-sitemap.xml"] = (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
        f"<url><loc>{server.url('/news/1.html')}</loc></url></urlset>".encode(), "application/xml")
    config = folder / "newsflow.toml"
    config.write_text(f"""
[fetch]
allowed_hosts = ["127.0.0.1"]
min_host_interval = 0
deadline = 5

[[sources]]
name = "generated"
kind = "sitemap"
location = "{server.url('/run-sitemap.xml')}"
limits = {{ allowed_domains = ["127.0.0.1"] }}
""", encoding="utf-8")
    db = str(folder / "wh" / "news.duckdb")
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    files = run(sources=[str(folder / "in")], db=db)
    fetched = run(source="generated", config=str(config), db=db)
    assert files["articles_new"] == 3
    assert files["documents_seen"] == 3 + len([b for b in bad if b.strip()])
    assert fetched["articles_new"] >= 1  # /news/1.html
    con = duckdb.connect(db, read_only=True)
    try:
        assert con.execute("select count(*) from runs where status = 'completed'").fetchone()[0] == 2
        assert con.execute("select count(*) from quarantine where len(reasons) = 0").fetchone()[0] == 0
    finally:
        con.close()
