"""The concurrent crawl against real sites on 127.0.0.2...: politeness per host, robots per host, slow
hosts, SSRF refusals under concurrency, the shared host record and the frontier of failed items."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace


from newsflow.settings import REPO_ROOT, FetchPolicy
from tasks.crawl import Lanes
from tasks.discover import FetchState, UrlState, harvest_source, parse_opml
from tasks.hostclock import HostClock
from webserver import LocalServer

sys.path.insert(0, str(REPO_ROOT / "bench"))
from sites import Sites  # noqa: E402

POLICY = FetchPolicy(allow_private_networks=True, connect_timeout=2.0, deadline=5.0, retries=0, backoff=0.05,
                     min_host_interval=0.25, max_bytes=1024 * 1024)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def crawl(feeds: list[str], policy: FetchPolicy = POLICY, state: FetchState | None = None, **kw):
    started = time.time()
    harvest = harvest_source(feeds, "feed", policy, state, source="t", **kw)
    return harvest, time.time() - started


def test_hosts_are_fetched_together_and_each_keeps_its_interval():
    with Sites(hosts=6, items=4, latency=0.02) as sites:
        harvest, seconds = crawl(sites.feeds())
        requests = dict(sites.requests)
    assert sorted(d.source_uri for d in harvest.documents) == sorted(
        u for a in sites.addresses for u in sites.pages(a))
    assert all(d.error is None for d in harvest.documents)
    for address in sites.addresses:
        times = [t for t, _ in requests[address]]
        assert len(times) == 6  # robots.txt, the feed, four pages
        # Arrival times at the server carry its thread scheduling (~10 ms on a loaded 2-core CI
        # machine): a broken interval shows as gaps near 0, far below this.
        assert min(gaps(times)) >= 0.25 - 0.03, (address, gaps(times))
    # One host alone needs 5 intervals; one host after another would need 6 x 5 = 30.
    assert seconds < 5 * 0.25 * 3, seconds
    assert set(harvest.hosts) == {sites.host(a) for a in sites.addresses}
    assert all(row[:3] == [5, 5, 0] for row in harvest.hosts.values())  # the feed and four pages


def test_a_host_keeps_its_interval_when_every_connection_is_busy():
    """Two slow hosts hold both connections: a request to a third host that waited for one sent at
    once after its slot had passed, and the host's next request followed right behind it."""
    policy = replace(POLICY, max_connections=2, deadline=20.0)
    with Sites(hosts=3, items=6) as sites:
        slow = sites.addresses[:2]
        for address in slow:
            sites.rules[address].latency = 0.4
        crawl(sites.feeds(), policy)
        times = [t for t, _ in sites.requests[sites.addresses[2]]]
    assert len(times) == 8 and min(gaps(times)) >= 0.25 - 0.03, gaps(times)


def test_redirects_from_other_hosts_keep_to_the_hosts_connection_limit():
    """Feeds of three link trackers whose items redirect to one slow publisher: each tracker's lane
    sent its hop there on its own, three requests open at the publisher at once (its limit is one)."""
    with Sites(hosts=4, items=2) as sites:
        trackers, publisher = sites.addresses[:3], sites.addresses[3]
        sites.rules[publisher].latency = 0.5
        targets = iter(sites.pages(publisher) * 3)
        for address in trackers:
            for path in ("/news/1.html", "/news/2.html"):
                sites.rules[address].redirects[path] = next(targets)
        crawl(sites.feeds()[:3], replace(POLICY, deadline=30.0))  # the trackers' feeds
        arrivals = sorted(t for t, path in sites.requests[publisher] if path.startswith("/news/"))
    assert len(arrivals) == 6 and min(gaps(arrivals)) >= 0.5 - 0.05, gaps(arrivals)


def test_an_item_listed_with_a_fragment_is_the_page_without_it():
    """A feed listing /news/1.html and /news/1.html#comments: the page was fetched twice and its
    article's URL became the fragment's spelling."""
    with LocalServer() as server:
        links = [server.url("/news/1.html"), server.url("/news/1.html#comments"), server.url("/news/2.html#top"),
                 server.url("/variants.xml#top")]  # the feed itself: not a page
        server.site.extra["/variants.xml"] = (
            ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
             + "".join(f"<item><title>i</title><link>{u}</link></item>" for u in links)
             + "</channel></rss>").encode(), "application/rss+xml")
        harvest, _ = crawl([server.url("/variants.xml")])
        hits = dict(server.site.hits)
    assert sorted(d.source_uri for d in harvest.documents) == [server.url("/news/1.html"), server.url("/news/2.html")]
    assert hits["/news/1.html"] == 1 and hits["/news/2.html"] == 1 and hits["/variants.xml"] == 1


def test_an_item_is_fetched_without_its_tracking_parameters():
    """Feeds tag every link with campaign parameters (`?utm_source=rss&utm_campaign=...`): one page
    listed by two feeds with different campaigns was fetched twice and became two articles, and
    every article's URL carried the tags. Other parameters name the page and stay; an item seen with
    its tags before is still seen."""
    with LocalServer() as server:
        page, other, old = server.url("/news/1.html"), server.url("/news/2.html"), server.url("/news/3.html")
        links = [f"{page}?utm_source=rss&utm_medium=feed&utm_campaign=a", f"{page}?UTM_Campaign=b&fbclid=X1",
                 f"{other}?id=7&gclid=Y2&mc_cid=z", f"{other}?id=8", f"{old}?utm_source=rss"]
        server.site.extra["/tagged.xml"] = (
            ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
             + "".join(f"<item><title>i</title><link>{u.replace('&', '&amp;')}</link></item>" for u in links)
             + "</channel></rss>").encode(), "application/rss+xml")
        state = FetchState(seen_items={f"{old}?utm_source=rss"})  # a warehouse's item from before
        harvest, _ = crawl([server.url("/tagged.xml")], state=state)
        hits = dict(server.site.hits)
    assert sorted(d.source_uri for d in harvest.documents) == [page, f"{other}?id=7", f"{other}?id=8"]
    assert hits["/news/1.html"] == 1 and "/news/3.html" not in hits


def test_robots_and_crawl_delay_hold_per_host():
    with Sites(hosts=3, items=3, latency=0.0) as sites:
        slow, picky, plain = sites.addresses
        sites.rules[slow].robots = "User-agent: *\nCrawl-delay: 1\n"
        sites.rules[picky].robots = "User-agent: *\nDisallow: /news/2.html\n"
        harvest, _ = crawl(sites.feeds())
        requests = dict(sites.requests)
    assert min(gaps([t for t, _ in requests[slow]])) >= 1.0 - 0.01  # from robots.txt on
    assert max(gaps([t for t, _ in requests[plain]])) < 0.9  # its own 0.25 s, not the neighbour's delay
    assert requests[plain][-1][0] < requests[slow][-1][0] - 1.0  # finished long before the slow host
    assert "/news/2.html" not in [p for _, p in requests[picky]]
    refused = [d for d in harvest.documents if d.error]
    assert [d.source_uri for d in refused] == [sites.url(picky, "/news/2.html")]
    assert refused[0].error.startswith(f"refused: robots.txt of http://{sites.host(picky)} disallows")


def test_a_slow_host_does_not_hold_up_the_others():
    with Sites(hosts=5, items=3, latency=0.0) as sites:
        slow = sites.addresses[0]
        sites.rules[slow].latency = 3.0  # every answer comes after the 1 s deadline
        started = time.time()
        harvest, _ = crawl(sites.feeds(), replace(POLICY, deadline=1.0))
        requests = dict(sites.requests)
    others_done = max(t for a in sites.addresses[1:] for t, _ in requests[a]) - started
    assert others_done < 2.0, others_done  # 5 requests x 0.25 s each, at the same time as the slow host
    fetched = {d.source_uri for d in harvest.documents if d.error is None}
    assert fetched == {u for a in sites.addresses[1:] for u in sites.pages(a)}
    failed = [d for d in harvest.documents if d.error]
    assert [d.source_uri for d in failed] == [sites.url(slow, "/feed.xml")]
    assert "robots.txt could not be read" in failed[0].error


def test_redirect_to_a_refused_address_is_refused_under_concurrency():
    with Sites(hosts=5, items=3, latency=0.01) as sites:
        allowed, refused = sites.addresses[:4], sites.addresses[4]
        for a in allowed:
            sites.rules[a].redirects["/news/2.html"] = sites.url(refused, "/news/1.html")
        policy = replace(POLICY, allow_private_networks=False, allowed_hosts=tuple(allowed))
        harvest, _ = crawl([sites.url(a, "/feed.xml") for a in allowed], policy)
        requests = dict(sites.requests)
    assert refused not in requests  # not one connection reached it
    errors = sorted(d.error for d in harvest.documents if d.error)
    assert errors == [f"refused: {refused} is a loopback address (set NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true "
                      "to allow)"] * 4
    assert sum(d.error is None for d in harvest.documents) == 8


def test_transient_failures_come_back_due_and_permanent_ones_are_seen():
    with Sites(hosts=2, items=3, latency=0.0) as sites:
        a, b = sites.addresses
        sites.rules[a].status["/news/2.html"] = 503
        sites.rules[b].status["/news/3.html"] = 404
        harvest, _ = crawl(sites.feeds(), replace(POLICY, retry_backoff=60.0))
    records = {r.url: r for r in harvest.records}
    flaky, gone = sites.url(a, "/news/2.html"), sites.url(b, "/news/3.html")
    assert records[flaky].failure == "transient" and records[flaky].failures == 1
    assert records[flaky].next_attempt_at is not None and flaky not in harvest.seen_items
    assert records[gone].failure == "permanent" and records[gone].next_attempt_at is None
    assert gone in harvest.seen_items  # never asked again
    assert harvest.failures == {"HTTP 503 after 1 attempts": 1, "HTTP 404": 1}

    # The next run: the feeds answer 304, yet the due item is fetched again (and now succeeds).
    state = FetchState({r.url: UrlState(r.etag, r.last_modified, r.content_sha256, r.failures)
                        for r in harvest.records}, set(harvest.seen_items), due=[flaky])
    with Sites(hosts=2, items=3, port=sites.port) as sites:
        again, _ = crawl(sites.feeds(), POLICY, state)
        paths = {a: [p for _, p in sites.requests[a]] for a in sites.addresses}
    assert again.stats["not_modified"] == 2 and again.stats["retried"] == 1
    assert [d.source_uri for d in again.documents] == [flaky]
    assert paths[b] == ["/robots.txt", "/feed.xml"]


def test_opml_lists_feeds_for_a_source(tmp_path):
    with Sites(hosts=3, items=2) as sites:
        outlines = "".join(f'<outline type="rss" text="{a}" xmlUrl="{u}"/>' for a, u in zip(sites.addresses, sites.feeds()))
        opml = f'<?xml version="1.0"?><opml version="2.0"><body><outline text="news">{outlines}</outline></body></opml>'
        (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
        assert parse_opml(opml.encode()) == sites.feeds()
        harvest = harvest_source([], "opml", POLICY, None, source="t", opml_files=(str(tmp_path / "feeds.opml"),),
                                 max_items=5)
    assert len([d for d in harvest.documents if d.error is None]) == 5  # the source's max_items holds
    assert harvest.stats["skipped_limit"] == 1


def test_host_clock_spaces_requests_across_processes(tmp_path):
    """Two processes reserving slots for one host through the shared folder never come closer than
    the interval: the record of one run binds the other."""
    code = ("import sys, time; from tasks.hostclock import HostClock\n"
            "c = HostClock(sys.argv[1])\n"
            "for _ in range(5):\n"
            "    t = c.reserve('example.org', 0.1); time.sleep(max(0, t - time.time())); print(t, flush=True)\n")
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                             cwd=str(REPO_ROOT))
    mine = []
    clock = HostClock(tmp_path)
    for _ in range(5):
        t = clock.reserve("example.org", 0.1)
        time.sleep(max(0.0, t - time.time()))
        mine.append(t)
    theirs = [float(line) for line in other.communicate(timeout=30)[0].split()]
    assert len(theirs) == 5
    assert min(gaps(sorted(mine + theirs))) >= 0.1 - 1e-6


def test_lanes_run_one_job_per_host_at_a_time():
    lanes, running, most, lock = Lanes(max_lanes=8, per_host=1), {}, {}, threading.Lock()

    def job(host: str) -> None:
        with lock:
            running[host] = running.get(host, 0) + 1
            most[host] = max(most.get(host, 0), running[host])
        time.sleep(0.01)
        with lock:
            running[host] -= 1

    for i in range(40):
        lanes.submit(f"h{i % 4}", job, f"h{i % 4}")
    lanes.wait()
    lanes.close()
    assert most == {f"h{i}": 1 for i in range(4)}


def test_import_opml_prints_a_source_that_the_config_accepts(tmp_path):
    import tomllib

    from newsflow.config import parse_config

    opml = ('<?xml version="1.0"?><opml version="1.0"><body><outline text="a">'
            '<outline xmlUrl="https://a.example/rss"/><outline xmlUrl="https://b.example/atom.xml"/>'
            '</outline><outline xmlUrl="https://a.example/rss"/>'
            # an emoji (JSON writes a surrogate pair, which TOML refuses), a quote and a bracket
            '<outline xmlUrl="https://c.example/\U0001F600/&quot;]"/></body></opml>')
    (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "import-opml", str(tmp_path / "feeds.opml"),
                           "--name", "wire", "--interval", "1h"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    source = parse_config(tomllib.loads(proc.stdout)).source("wire")
    assert source.kind == "feed" and source.locations == ["https://a.example/rss", "https://b.example/atom.xml",
                                                          'https://c.example/\U0001F600/"]']
    assert "3 feed(s)" in proc.stderr
    from newsflow.cli import _toml_string

    delete = "a\x7fb"  # DEL, which TOML must escape
    assert tomllib.loads("x = " + _toml_string(delete))["x"] == delete


def test_import_opml_prints_only_what_the_config_loads(tmp_path):
    """Feeds that are no http(s) URL, the same feed spelt in two cases, a --name or --interval the
    config refuses: all printed as given, in an entry that then failed to load."""
    import tomllib

    from newsflow.config import parse_config

    (tmp_path / "feeds.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline xmlUrl="HTTPS://A.Example/rss"/>'
        '<outline xmlUrl="ftp://b.example/x"/><outline xmlUrl="not a url"/>'
        '<outline xmlUrl="https://a.example/rss"/></body></opml>', encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newsflow.cli", "import-opml", str(tmp_path / "feeds.opml"),
                               *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    proc = run("--name", "wire")
    assert proc.returncode == 0, proc.stderr
    assert parse_config(tomllib.loads(proc.stdout)).source("wire").locations == ["https://a.example/rss"]
    assert "skipped only http and https URLs are fetched (scheme: 'ftp:'): 'ftp://b.example/x'" in proc.stderr
    assert "skipped URL contains spaces or control characters: 'not a url'" in proc.stderr
    for args, says in ((["--name", "My Feeds"], "field 'name'"), (["--name", "w", "--interval", "lots"],
                                                                     "'lots' is not an interval")):
        proc = run(*args)
        assert proc.returncode == 2 and proc.stdout == "", proc.stdout
        assert "the entry would not load (mend --name or --interval)" in proc.stderr and says in proc.stderr



def test_a_deployment_of_hundreds_of_feeds_lists_a_few_in_its_description(tmp_path):
    """The description joined every location: a source of 500 feeds made a 20 KB blob in the UI."""
    from flows.serve import deployment_for
    from newsflow.config import parse_config

    feeds = [f"https://site{i}.example/rss" for i in range(500)]
    config = parse_config({"sources": [{"name": "wire", "kind": "feed", "locations": feeds, "interval": "15m"}]})
    text = deployment_for(config.source("wire"), config, str(tmp_path / "news.duckdb")).description
    assert text.startswith("newsflow source 'wire' (feed: https://site0.example/rss, https://site1.example/rss, "
                           "https://site2.example/rss and 497 more); ") and len(text) < 300

def test_the_run_artifact_shows_hosts_slowest_hosts_and_failures_by_reason():
    from tasks.pipeline import RunSummary, summary_markdown

    s = RunSummary(run_id="r", db="x.duckdb", fetch={"fetched": 7, "errors": 2},
                   fetch_hosts={"a.example": [5, 5, 0, 1.0, 0.4], "b.example": [4, 2, 2, 3.0, 2.5]},
                   fetch_failures={"HTTP 503 after 4 attempts": 2})
    md = summary_markdown(s)
    assert "## Fetch by host (2 hosts)" in md and "| `a.example` | 5 | 5 | 0 | 1.0 |" in md
    slowest = md.split("## Slowest hosts")[1]
    assert slowest.index("b.example") < slowest.index("a.example")  # 1.5 s per page against 0.2 s
    assert "| `HTTP 503 after 4 attempts` | 2 |" in md


def test_an_opml_source_plans_its_file_beside_the_config(tmp_path):
    from newsflow.config import plan_run, resolve_settings

    (tmp_path / "newsflow.toml").write_text('[[sources]]\nname = "wire"\nkind = "opml"\n'
                                            'locations = ["feeds.opml", "https://lists.example/feeds.opml"]\n'
                                            'limits = { max_items = 40 }\n', encoding="utf-8")
    plan = plan_run(resolve_settings(config=str(tmp_path / "newsflow.toml")), None, "wire")
    assert plan.kind == "opml" and plan.max_items == 40
    assert plan.opml_files == (str(tmp_path / "feeds.opml"),)
    assert plan.urls == ("https://lists.example/feeds.opml",)
