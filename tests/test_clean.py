"""The cleaner on the bundled samples, hand-made edge cases and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.settings import SAMPLES_DIR
from tasks import rules as R
from tasks.clean import CLEANER_VERSION, clean_document, clean_segments, decode_text, extract_html
from tasks.evaluate import evaluate
from tasks.models import Article, RawDocument, Rejected, sha256_hex

EDGE_CASES = Path(__file__).parent / "data" / "edge_cases"

# Every boilerplate line of the five samples, by rule (19 lines + the 003 standfirst duplicate).
EXPECTED_REMOVALS: dict[str, list[tuple[str, str]]] = {
    "000_591fded0c4f16c6b.txt": [("disclaimer", "Information for this story was found via Reuters.")],
    "001_97e79ec8ab510aad.txt": [("comment-prompt", "Discussion about this post")],
    "002_e0f0b5de1e8e843f.txt": [
        ("repeated-title", "Kim Jong Un to Visit Vladimir Putin for Weapons Talks"),
        ("teaser", "Also Read: Quran Burnings"),
        ("teaser", "Also Read: Antarctica"),
        ("teaser", "Also Read: Germany’s Largest Hindu Temple"),
        ("teaser", "Also Read: Burning Man Festival"),
        ("source-list", "Top Sources Related to Kim Jong Un"),
        ("outlet-list", "BBC News:"),
        ("outlet-list", "AP News:"),
        ("outlet-list", "AL Jazeera:"),
        ("outlet-list", "New York Times:"),
        ("outlet-list", "CNN News:"),
        ("outlet-list", "The Guardian:"),
        ("source-list", "Sources Related to Russia-Ukraine War (For R&D)"),
    ],
    "003_a050093b48585ff4.txt": [
        ("section-label", "Asia"),
        ("standfirst-duplicate", "North Korean leader Kim Jong Un is reportedly preparing"),
    ],
    "004_2fe4be489d5cafce.txt": [
        ("repeated-title", "North Korean Leader Kim Jong-un Receives Official Invitation"),
        ("navigation", "Back to blog"),
        ("comment-prompt", "Leave a comment"),
    ],
}


def _sample(name: str) -> list[str]:
    return decode_text((SAMPLES_DIR / name).read_bytes()).splitlines()


def test_expected_removals_cover_19_lines_and_one_standfirst() -> None:
    lines = [r for rs in EXPECTED_REMOVALS.values() for r in rs if r[0] != "standfirst-duplicate"]
    assert len(lines) == 19


@pytest.mark.parametrize("name", sorted(EXPECTED_REMOVALS))
def test_sample_removals_by_rule(name: str) -> None:
    cleaned = clean_segments(_sample(name), None, detect_title=True)
    got = [(r.rule, r.text) for r in cleaned.removed]
    assert len(got) == len(EXPECTED_REMOVALS[name]), got
    for (rule, text), (want_rule, want_start) in zip(got, EXPECTED_REMOVALS[name]):
        assert rule == want_rule and text.startswith(want_start), (rule, text)


@pytest.mark.parametrize("name", sorted(EXPECTED_REMOVALS))
def test_sample_story_sentences_all_kept(name: str) -> None:
    lines = [s.strip() for s in _sample(name) if s.strip()]
    cleaned = clean_segments(_sample(name), None, detect_title=True)
    removed_whole = {r.text for r in cleaned.removed}
    body = cleaned.body
    story = [s for s in lines if s not in removed_whole and s != cleaned.title]
    assert story, "a sample without story lines"
    for line in story:
        if cleaned.dateline and line.startswith(cleaned.dateline):  # "NORTH KOREA – In a significant ..."
            line = line[len(cleaned.dateline):].lstrip(" –—-")
        assert line in body
    assert R.find_leak(body) is None


def test_sample_dateline_and_section_move_to_fields() -> None:
    cleaned = clean_segments(_sample("003_a050093b48585ff4.txt"), None, detect_title=True)
    assert cleaned.section == "Asia"
    assert cleaned.dateline == "NORTH KOREA"
    assert cleaned.segments[0].startswith("In a significant geopolitical development")


def _html_doc(path: Path) -> RawDocument:
    raw = path.read_bytes()
    return RawDocument(path.as_uri(), "html", raw, sha256_hex(raw), len(raw))


def test_edge_cases_beat_plain_trafilatura() -> None:
    report = evaluate(EDGE_CASES, ["newsflow", "trafilatura (default)"], workers=1)
    ours, plain = report.summary("newsflow"), report.summary("trafilatura (default)")
    assert ours.f1 >= 0.98
    assert ours.f1 > plain.f1
    assert ours.without_leak_share == 0.0
    assert ours.boilerplate_pages == 0 < plain.boilerplate_pages
    assert ours.title_accuracy == 1.0


def test_edge_case_metadata_and_language() -> None:
    article = clean_document(_html_doc(EDGE_CASES / "html" / "e01_also_read.html"))
    assert isinstance(article, Article)
    assert article.title == "Council approves eastern tram extension after two-year debate"  # no "| Example News"
    assert article.author == "Maria Lopez"
    assert article.published_at.startswith("2025-03-04")
    assert article.sitename == "Example News"
    assert article.canonical_url == "https://news.example.org/city/tram-vote"
    assert article.language == "en"
    assert "Council member Ana Ruiz said she would also read the report" in article.body
    assert [(r.rule, r.text[:20]) for r in article.removed] == [
        ("repeated-title", "Council approves eas"), ("teaser", "Also Read: Bus fares"), ("teaser", "ALSO READ | Airport ")]
    german = clean_document(_html_doc(EDGE_CASES / "html" / "e04_german.html"))
    assert isinstance(german, Article) and german.language == "de"
    assert "Lesen Sie auch" not in german.body


def test_inline_furniture_is_removed_with_its_rule_and_the_dateline_moves() -> None:
    article = clean_document(_html_doc(EDGE_CASES / "html" / "e06_inline_furniture.html"))
    assert isinstance(article, Article)
    assert article.extra["dateline"] == "LONDON (Reuters)"
    assert article.body.startswith("Britain's biggest water companies will have to publish")
    assert [(r.rule, r.text[:24]) for r in article.removed] == [
        ("repeated-title", "Water companies must pub"),
        ("credit", "Photo: Jane Smith/Reuter"),
        ("call-to-action", "Sign up for our free Cli"),
        ("link-list", "Beach warnings rise afte"),
        ("credit", "Reporting by Sarah Young"),
        ("disclaimer", "Our Standards: The Thoms"),
    ]
    assert article.body.count("\n\n") == 4  # five story paragraphs, nothing else


def test_extract_html_returns_segments_and_link_texts() -> None:
    meta = extract_html((EDGE_CASES / "html" / "e05_related_list.html").read_bytes(), None)
    assert "farmers count losses after spring floods" in meta.link_texts
    assert any("flood warnings" in s for s in meta.segments)


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02binary", b"<html><body></body></html>", b"<<<>>>" * 100])
def test_hostile_html_never_raises(raw: bytes) -> None:
    result = clean_document(RawDocument("file:///x.html", "html", raw, sha256_hex(raw), len(raw)))
    assert isinstance(result, (Article, Rejected))


def test_cleaner_version_is_set() -> None:
    assert CLEANER_VERSION.isdigit() and int(CLEANER_VERSION) >= 3


def test_cleaned_subset_pages_do_not_trip_the_leak_check() -> None:
    """Whatever a line rule matches is removed, so the GX leak check passes on cleaned real pages."""
    pages = sorted((Path(__file__).parent / "data" / "wcxb" / "html").glob("*.html.gz"))[:15]
    assert pages
    import gzip

    for path in pages:
        meta = extract_html(gzip.decompress(path.read_bytes()), None)
        cleaned = clean_segments(meta.segments, meta.title, detect_title=False, link_texts=meta.link_texts)
        assert R.find_leak(cleaned.body) is None, path.name


def test_c_element_lookup_extracts_the_same_as_lxml_html() -> None:
    """trafilatura gives the same text and metadata whichever lxml lookup made the tree's elements."""
    import gzip

    import trafilatura
    from lxml import html

    from tasks.extract import TRAFILATURA_OPTIONS, use_c_element_lookup

    use_c_element_lookup()
    python_lookup = html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                                    remove_comments=True, remove_pis=True)
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((Path(__file__).parent / "data" / "wcxb" / "html")
                                                              .glob("*.html.gz"))]
    pages += [p.read_bytes() for p in sorted((EDGE_CASES / "html").glob("*.html"))]
    pages.append(b"<html><body><form><input name='q' value='x'><select><option>a</select></form>"
                 b"<article><p>" + b"A sentence of the story inside a page with a form. " * 8 + b"</p></article></body></html>")
    assert len(pages) >= 20
    for raw in pages:
        fast = trafilatura.utils.load_html(raw)
        slow = html.fromstring(raw.decode("utf-8", "replace").encode("utf-8"), parser=python_lookup)
        a = trafilatura.bare_extraction(fast, with_metadata=True, **TRAFILATURA_OPTIONS)
        b = trafilatura.bare_extraction(slow, with_metadata=True, **TRAFILATURA_OPTIONS)
        assert (a is None) == (b is None)
        if a is not None:
            assert (a.text, a.title, a.author, a.date, a.sitename) == (b.text, b.title, b.author, b.date, b.sitename)
    # The C lookup is in effect: form controls are plain elements, not lxml.html's InputElement.
    assert type(trafilatura.utils.load_html(pages[-1]).find(".//input")) is html.HtmlElement
    assert type(html.fromstring(pages[-1], parser=python_lookup).find(".//input")) is html.InputElement


# One page per way trafilatura's byline XPaths can match, and per kind of category link.
_BYLINE_PAGES = [
    '<a rel="author" href="/u/1">Jane Doe</a>', '<div id="author">Jane Doe</div>',
    '<span class="author">Jane Doe</span>', '<span itemprop="author name">Jane Doe</span>',
    '<div data-testid="AuthorCard">Jane Doe</div>', '<span class="post-AuthorName">Jane Doe</span>',
    "<author>Jane Doe</author>", "<p><rel>me</rel> Jane Doe</p>", '<p class="byline">Jane Doe</p>',
    '<span class="username">Jane Doe</span>', '<span class="byl">Jane Doe</span>',
    '<span class="BBL">Jane Doe</span>', '<span itemprop="creator author">Jane Doe</span>',
    '<div id="zuozhe">Jane Doe</div>', '<div id="bianji">Jane Doe</div>', '<div class="xiaobian">Jane Doe</div>',
    '<h4 class="channel-name">Jane Doe</h4>', '<p class="submitted-by">Jane Doe</p>',
    '<p class="posted-by">Jane Doe</p>', '<p class="journalist-name">Jane Doe</p>',
    '<section data-component="Byline">Jane Doe</section>', '<section id="theAuthor">Jane Doe</section>',
    '<section class="screenname">Jane Doe</section>', '<section class="staff-writer">Jane Doe</section>',
    '<section class="Byline">Jane Doe</section>',
]
_CATEGORY_PAGES = [
    '<div class="post-meta"><a href="/category/world/">World</a></div>',
    '<p class="postmeta"><a href="/categories/politics">Politics</a></p>',
    '<footer class="entry-footer"><a href="https://x.test/categor/europe/">Europe</a></footer>',
    '<div class="post-meta"><a href="/tag/world/">World</a></div>',
]


def _page(body: str, head: str = "") -> bytes:
    story = "<p>" + "A sentence of the story that the page is about. " * 8 + "</p>"
    return f"<html><head><title>T</title>{head}</head><body>{body}<article>{story}</article></body></html>".encode()


def test_byline_and_category_shortcuts_find_what_trafilatura_finds() -> None:
    """The author and category passes skip trafilatura's XPaths only where none can match: the results
    equal trafilatura's own functions on real pages and on a page for each way they can match."""
    import copy
    import gzip

    from trafilatura import metadata as M
    from trafilatura.utils import load_html

    from tasks.extract import _author_from_page, _categories, use_c_element_lookup

    use_c_element_lookup()
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((Path(__file__).parent / "data" / "wcxb" / "html")
                                                              .glob("*.html.gz"))]
    pages += [p.read_bytes() for p in sorted((EDGE_CASES / "html").glob("*.html"))]
    made = [_page(b) for b in _BYLINE_PAGES] + [_page(b) for b in _CATEGORY_PAGES]
    made.append(_page("", '<meta property="article:section" content="Science">'))
    authors = categories = 0
    for raw in pages + made:
        tree = load_html(raw)
        expected = M.extract_author(tree)
        expected = M.line_processing(M.unescape(expected)) if expected else None
        assert _author_from_page(copy.deepcopy(tree)) == expected, raw[:300]
        assert _categories(tree) == M.extract_catstags("category", tree), raw[:300]
        authors += expected is not None
        categories += bool(M.extract_catstags("category", tree))
    for raw in made[:len(_BYLINE_PAGES)]:  # every made byline page really exercises a match
        assert "Jane Doe" in (_author_from_page(load_html(raw)) or ""), raw
    assert [_categories(load_html(raw)) for raw in made[len(_BYLINE_PAGES):]] == [
        ["World"], ["Politics"], ["Europe"], [], ["Science"]]
    assert authors >= len(_BYLINE_PAGES) + 5 and categories >= 4
