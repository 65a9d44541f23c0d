"""The metadata fallbacks: dates written out, the text around the headline, author lists, title labels."""

from __future__ import annotations

import pytest
from lxml import html

from tasks.extract import drop_title_label, page_headings, page_metadata
from tasks.meta import author_elsewhere, heading_text, join_names, text_days, to_day, visible_byline, visible_date


@pytest.mark.parametrize("text, days", [
    ("Updated July 17, 2025", ["2025-07-17"]),
    ("Published: 03 Dec 2025", ["2025-12-03"]),
    ("29th August, 2023 and Sept. 4 2024", ["2023-08-29", "2024-09-04"]),
    ("Last Updated: 2025-02-22", ["2025-02-22"]),
    ("As of 8/30/2021", ["2021-08-30"]),
    ("on 17.07.2025", ["2025-07-17"]),
    ("in May 2025, 40 people", []),  # no day: not a date
    ("13/45/2025 and February 30th", []),
    # other languages' month names, day first, and the CJK and Korean forms
    ("12 de marzo de 2024", ["2024-03-12"]), ("Publié le 1er févr. 2024", ["2024-02-01"]),
    ("12 марта 2024", ["2024-03-12"]), ("12 de março de 2024", ["2024-03-12"]), ("3. Mai 2024", ["2024-05-03"]),
    ("12 Mart 2024 Salı", ["2024-03-12"]), ("2024年3月12日 10:30", ["2024-03-12"]), ("2024년 3월 12일", ["2024-03-12"]),
    ("Mars 2024", []),
])
def test_text_days(text: str, days: list[str]) -> None:
    assert text_days(text) == days


def test_to_day_reads_iso_and_written_dates() -> None:
    assert to_day("2024-03-05T23:10:00-05:00") == "2024-03-05"  # as written, no time-zone shift
    assert to_day("July 17, 2025") == "2025-07-17"
    assert to_day("12 Minute Read") is None


PAGE = """<html><head><title>The Story | Site</title><script>var d = "January 1, 2020";</script></head>
<body><nav>Home | Posted January 2, 2021</nav><p>{menu}</p>{before}<h1>The Story of the Day</h1>{after}
<p>{body}</p></body></html>"""


def _tree(before: str = "", after: str = "", body: str = "Text. " * 20):
    return html.fromstring(PAGE.format(menu="Menu item " * 15, before=before, after=after, body=body))


def test_the_date_and_byline_shown_by_the_headline_are_read() -> None:
    chunks = heading_text(_tree(after='<div class="meta">By <a href="/a">Jane Q. Doe</a> · Updated March 3, 2024</div>'))
    assert visible_byline(chunks) == "Jane Q. Doe"
    assert visible_date(chunks) == "2024-03-03"  # not the script's date, not the navigation's (too far up)


def test_far_from_the_headline_nothing_is_read() -> None:
    chunks = heading_text(_tree(body="Text. " * 200 + "By John Smith on May 5, 2023"))
    assert visible_byline(chunks) is None and visible_date(chunks) is None
    assert heading_text(html.fromstring("<html><body><p>By John Smith, May 5, 2023</p></body></html>")) == []


@pytest.mark.parametrize("line, name", [
    ("By Jane Doe and John Roe", "Jane Doe and John Roe"),
    ("Written by: Ann Lee | 5 min read", "Ann Lee"),
    ("By Insights from the team", None),  # a phrase, not a name
    ("Stand by me", None),
])
def test_visible_byline_takes_names_only(line: str, name: str | None) -> None:
    assert visible_byline([line]) == name


def test_page_metadata_flags_a_date_read_from_the_text() -> None:
    page = page_metadata(_tree(after="<p>By Jane Doe</p><p>December 19, 2025</p>"), "https://example.org/story")
    assert (page.published_at, page.date_source, page.shown_author) == ("2025-12-19", "text", "Jane Doe")


@pytest.mark.parametrize("url, day", [
    ("https://example.org/2024/01/05/story", "2024-01-05"),
    ("https://example.org/news/20240105-story.html", "2024-01-05"),
    ("https://example.org/world/2024/jan/5/story", "2024-01-05"),
    ("https://example.org/blog/2023/october/03/story", "2023-10-03"),
    ("https://example.org/2024/feb/31/story", "2025-12-19"),  # no such day: the text's date
    ("https://example.org/2024/mayo/05/story", "2025-12-19"),  # not an English month
])
def test_the_urls_day_comes_before_the_text(url: str, day: str) -> None:
    page = page_metadata(_tree(after="<p>December 19, 2025</p>"), url)
    assert (page.published_at, page.date_source) == (day, "url" if day != "2025-12-19" else "text")


def test_structured_date_wins_over_the_text() -> None:
    tree = _tree(before='<meta property="article:published_time" content="2024-01-02T10:00:00Z">',
                 after="<p>Updated December 19, 2025</p>")
    head = tree.find("head")
    head.append(html.fromstring('<meta property="article:published_time" content="2024-01-02T10:00:00Z">'))
    page = page_metadata(tree, "https://example.org/story")
    assert (page.published_at, page.date_source) == ("2024-01-02T10:00:00+00:00", None)  # the time kept


@pytest.mark.parametrize("meta", [
    '<meta name="published" content="July 17, 2025">',
    '<meta name="published_at" content="2025-07-17">',
    '<meta name="publication_date" content="2025-07-17T09:00:00-05:00">',
])
def test_a_date_meta_by_another_common_name_is_structured_data(meta: str) -> None:
    tree = _tree(after="<p>Updated December 19, 2025</p>")
    tree.find("head").append(html.fromstring(meta))
    page = page_metadata(tree, "https://example.org/story")
    assert (page.published_at[:10], page.date_source) == ("2025-07-17", None)


@pytest.mark.parametrize("lang, shown, day", [
    ("fr", "Publié le 12/03/2024 à 10h30", "2024-03-12"), ("es", "12/03/2024 - 10:30 CET", "2024-03-12"),
    ("en-GB", "Updated 12/03/2024", "2024-03-12"), ("vi", "Thứ ba, 12/3/2024, 10:30", "2024-03-12"),
    ("en-US", "Updated 12/03/2024", "2024-12-03"), ("en", "12/03/2024", "2024-12-03"), (None, "12/03/2024", "2024-12-03"),
    (None, "17/03/2024", "2024-03-17"), ("fr", "03/17/2024", "2024-03-17"),  # only one order gives a date
])
def test_a_date_shown_with_slashes_is_read_in_the_pages_language(lang: str | None, shown: str, day: str) -> None:
    """A French or Spanish page's "12/03/2024" under the headline was stored as 3 December."""
    attr = f' lang="{lang}"' if lang else ""
    tree = html.fromstring(f"<html{attr}><head><title>Strike</title></head><body><article><h1>Strike</h1>"
                           f"<div class='date'>{shown}</div><p>{'The strike went on. ' * 10}</p></article></body></html>")
    page = page_metadata(tree, None)
    assert (page.published_at, page.date_source) == (day, "text")


@pytest.mark.parametrize("body, name", [
    ('<a href="/blog/authors/jane-roe" aria-label="Jane Roe"><img src="j.png"></a>', "Jane Roe"),
    ('<p><a href="https://example.org/author/jane/">Jane Roe </a></p>', "Jane Roe"),
    ('<div class="post-authors"><img src="a.png" alt="Picture of Jane Roe"></div>', "Jane Roe"),
    ('<div class="author-box"><img alt="Jane Roe, Staff Writer"></div>', "Jane Roe"),
    ("<h3>Author</h3><p> Jane Roe</p>", "Jane Roe"),
    ("<div><strong>Contributors:</strong> Jane Roe and John Doe</div>", "Jane Roe and John Doe"),
    ('<div class="comments"><a href="/author/troll/">Some Troll</a></div>', None),  # a commenter
    ('<a href="/author/jane/">View all posts</a>', None),  # not a name
    ("<h3>Author</h3><p>Read more about our editorial policy</p>", None),
    ('<div class="author"><img alt="logo"></div>', None),
])
def test_author_found_beyond_byline_markup(body: str, name: str | None) -> None:
    assert author_elsewhere(html.fromstring(f"<html><body><h1>Story</h1>{body}</body></html>")) == name


@pytest.mark.parametrize("name, author", [
    ("Jane Roe", "Jane Roe"), ("Иван Петров", "Иван Петров"), ("王小明", "王小明"), ("记者 王小明", "王小明"),
    ("김민수", "김민수"), ("أحمد محمود", "أحمد محمود"), ("राहुल शर्मा", "राहुल शर्मा"), ("jane roe", None),
])
def test_byline_markup_names_in_scripts_with_and_without_capitals(name: str, author: str | None) -> None:
    """A name in byline markup was taken only when it began with a capital: never in Chinese, Korean,
    Arabic or Hindi, which have none."""
    page = (f'<html><head><title>T</title></head><body><article><h1>Council approves budget</h1>'
            f'<span class="author"><a rel="author" href="/author/x">{name}</a></span>'
            f'<p>{"The council approved the budget on Tuesday after a long debate. " * 6}</p></article></body></html>')
    assert page_metadata(html.fromstring(page), None).author == author


def test_author_lists_read_as_bylines() -> None:
    assert join_names(["A B"]) == "A B"
    assert join_names(["A B", "C D"]) == "A B and C D"
    assert join_names(["A B", "C D", "E F"]) == "A B, C D and E F"
    assert join_names(["A", "B", "C", "D"]) == "A, B, C, D"
    assert join_names([]) is None


@pytest.mark.parametrize("title, expected", [
    ("How meditation rewires brains | Opinion", "How meditation rewires brains"),
    ("Best Movers in NYC 2025 | Top 19 Companies", "Best Movers in NYC 2025"),
    ("Gym Workouts for Beginners — Strength Training", "Gym Workouts for Beginners"),
    ("Top 10 Digital Cameras | The Best Mirrorless Cameras on the Market", None),  # a long subtitle stays
    ("Covid - the aftermath", None),  # too short a head to be a headline plus a label
    ("A title without separators", None),
    ("Helping children sleep | Patient Education | UC Davis Children's Hospital", "Helping children sleep"),
    ("The long headline | One | Two | Three", "The long headline | One"),  # two labels at most
    # words of Chinese are counted, not space-separated runs: a subtitle stays, a site name goes
    ("四川雅安发生5.8级地震 | 消防救援队伍连夜赶赴震中开展搜救工作目前暂无人员死亡报告", None),
    ("四川雅安发生5.8级地震 | 新华网", "四川雅安发生5.8级地震"),
    # a dash between numbers is a score or a range, not a separator before a label
    ("Riverside United beat Ashford 3 - 0", None),
    ("The week in pictures: 5 - 11 May", None),
    ("Europe's borders redrawn 1914 – 1918", None),
    ("United beat Ashford 3 - 0 - The Courier", "United beat Ashford 3 - 0"),
    ("Storm closes the coast road - 9News", "Storm closes the coast road"),  # a name starting with a digit
])
def test_drop_title_label(title: str, expected: str | None) -> None:
    assert drop_title_label(title) == (expected or title)


@pytest.mark.parametrize("h1, text", [
    ("WEEKEND<br>CODING<br> <span>AGENT</span>", "WEEKEND CODING AGENT"),  # lines set apart by <br>
    ("Top Programs (US)<div>Your Guide</div>", "Top Programs (US) Your Guide"),
    ('<time datetime="2025-12-18">Dec 18 2025</time> Preparing a transition', "Preparing a transition"),
    ("Top Strategies for Security<h3>Posted on July 1, 2024 by Ann</h3>", "Top Strategies for Security"),
    ("Dr<span>.</span> Who<em>'s</em> story", "Dr. Who's story"),  # inline elements join as written
])
def test_headline_text_reads_as_shown(h1: str, text: str) -> None:
    assert page_headings(html.fromstring(f"<html><body><h1>{h1}</h1><p>Body.</p></body></html>"), None) == [text]


def _titled_page(head: str, h1s: list[str]) -> bytes:
    body = "".join(f"<h1>{h}</h1>" for h in h1s) + "".join(
        f"<p>The harbour board met on Tuesday to weigh the dredging plan, part {i} of the report.</p>" for i in range(4))
    return f"<html><head>{head}</head><body><main>{body}</main></body></html>".encode()


def test_an_h1_the_page_states_elsewhere_is_the_headline_whatever_og_title_says() -> None:
    """og:title a teaser sharing no words with the <h1>: the teaser was taken, though the JSON-LD
    headline and <title> both give the <h1>."""
    from tasks.extract import extract_html

    head = ('<meta property="og:title" content="You will not believe what the board decided">'
            '<title>Harbour board delays dredging plan | The Courier</title>'
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"headline": "Harbour board delays dredging plan"}</script>')
    assert extract_html(_titled_page(head, ["Harbour board delays dredging plan"])).title == \
        "Harbour board delays dredging plan"
    alone = '<meta property="og:title" content="You will not believe what the board decided">'
    assert extract_html(_titled_page(alone, ["Harbour board delays dredging plan"])).title == \
        "You will not believe what the board decided"  # nothing else states the <h1>: og:title stands


@pytest.mark.parametrize("head, h1s, title", [
    # a banner <h1> holding the site's name, which a site-wide <title> or twitter:title states too
    ('<title>Daily Planet</title><meta property="og:title" content="Floods kill 200 in Valencia">'
     '<meta property="og:site_name" content="Daily Planet">', ["Daily Planet"], "Floods kill 200 in Valencia"),
    ('<meta property="og:title" content="Floods kill 200 in Valencia"><meta property="og:site_name" '
     'content="Daily Planet"><meta name="twitter:title" content="Daily Planet">', ["Daily Planet"],
     "Floods kill 200 in Valencia"),
    # <title> is the headline where og:title names the site: the <h1> it states is the title
    ('<title>Council approves new budget for schools</title><meta property="og:title" content="City Gazette">'
     '<meta property="og:site_name" content="City Gazette">', ["Council approves new budget for schools"],
     "Council approves new budget for schools"),
])
def test_an_h1_naming_the_site_is_not_confirmed_as_the_headline(head: str, h1s: list[str], title: str) -> None:
    """A banner <h1> holding the site's name, stated too by a site-wide <title> or twitter:title, was
    taken for the headline (and an undated page quarantined as a wall)."""
    from tasks.extract import extract_html

    assert extract_html(_titled_page(head, h1s), "https://news.example/2025/11/floods").title == title
