"""The cleaner on the bundled samples, hand-made edge cases and hostile input."""

from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path

import pytest

from newsflow.settings import SAMPLES_DIR
from tasks import rules as R
from tasks.clean import CLEANER_VERSION, clean_document, clean_segments, decode_text, extract_html
from tasks.extract import page_url
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


def _story_page(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>Council delays the budget vote</title></head><body><nav><a href='/'>Home</a>"
            f"</nav><article><h1>Council delays the budget vote</h1>{body}</article></body></html>").encode()


_SENTENCE = "The council met on Monday to discuss the new budget, and members argued about the school repairs. "


def test_trafilaturas_fast_pass_is_taken_for_a_long_page_of_paragraphs() -> None:
    import trafilatura

    from tasks.extract import FAST_TEXT_MIN_CHARS, TRAFILATURA_OPTIONS

    long_page = _story_page([f"Part {i}. " + _SENTENCE * 3 for i in range(16)])
    meta = extract_html(long_page, None)
    fast = trafilatura.bare_extraction(long_page, fast=True, **TRAFILATURA_OPTIONS).text
    assert len(fast) >= FAST_TEXT_MIN_CHARS
    assert meta.extraction == "trafilatura-fast" and meta.segments == fast.split("\n")
    story = clean_document(RawDocument("file:///long.html", "html", long_page, sha256_hex(long_page), len(long_page)))
    assert isinstance(story, Article) and story.extraction == "trafilatura-fast"


@pytest.mark.parametrize("paragraphs", [
    [f"Part {i}. " + _SENTENCE for i in range(4)],                           # short: under the minimum
    [f"Part {i}. " + _SENTENCE * 3 for i in range(8)] + [_SENTENCE * 25],    # long, with a run-together block
])
def test_the_full_cascade_runs_where_the_fast_text_is_short_or_run_together(paragraphs: list[str]) -> None:
    import trafilatura

    from tasks.extract import TRAFILATURA_OPTIONS

    page = _story_page(paragraphs)
    meta = extract_html(page, None)
    assert meta.extraction == "trafilatura"
    assert meta.segments == trafilatura.bare_extraction(page, **TRAFILATURA_OPTIONS).text.split("\n")


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


_FORM_PAGE = (b"<html><body><form><input name='q' value='x'><select><option>a</select></form>"
              b"<article><p>" + b"A sentence of the story inside a page with a form. " * 8 + b"</p></article></body></html>")
# Inputs that take each of trafilatura.load_html's repair and rejection paths.
_ODD_INPUTS: list[bytes | str] = [
    b"", b"\x00\x01\x02binary", b"<<<>>>" * 100, b"<p>a fragment, one block</p>", "<p>fragment as str</p>",
    b"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"http://www.w3.org/TR/xhtml1/DTD/x.dtd\"/>\n"
    b"<html><body><p>doctype with a slash</p></body></html>",
    b"<html lang='en'/>\n<head><title>T</title></head><body><p>self-closing html</p></body>",
    '<?xml version="1.0" encoding="utf-8"?>\n<html><body><p>declared encoding in a str</p></body></html>',
    "<html><body><p>control \x01 characters \x0b here \ufffe</p></body></html>",
    "<html><body><p>caf\u00e9 in Latin-1, not UTF-8</p></body></html>".encode("latin-1"),
    gzip.compress(b"<html><body><p>a gzip-compressed page</p></body></html>"),
    _FORM_PAGE,
    # UTF-8 bytes, which parse_html reads straight from the bytes when nothing needs mending
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/t.dtd">\n'
    b"<html><body><p>the usual XHTML doctype</p></body></html>",
    b'<!DOCTYPE html><html><body><p>one line, <a href="https://example.org/a/b">a link</a></p></body></html>',
    "<html>\u2028<body><p>caf\u00e9, a line separator \u2029 and \u00e9 again</p></body></html>".encode(),
    "<html><body><p>a noncharacter \ufffe in UTF-8 bytes</p></body></html>".encode(),
    b"<html><body><p>a control \x0b character in bytes</p></body></html>",
    b"\xef\xbb\xbf<html><body><p>a byte-order mark</p></body></html>",
]


def _bundled_pages() -> list[bytes]:
    import gzip

    pages = [gzip.decompress(p.read_bytes()) for p in sorted((Path(__file__).parent / "data" / "wcxb" / "html")
                                                              .glob("*.html.gz"))]
    return pages + [p.read_bytes() for p in sorted((EDGE_CASES / "html").glob("*.html"))]


def test_own_parser_builds_the_tree_trafilatura_builds() -> None:
    """`parse_html` (newsflow's lxml parser) gives the tree `trafilatura.load_html` gives, on real pages
    and on each repair and rejection path; trafilatura extracts the same text and metadata from it."""
    import trafilatura
    from lxml import etree

    from tasks.extract import TRAFILATURA_OPTIONS, parse_html

    pages = _bundled_pages()
    assert len(pages) >= 20
    for raw in pages + _ODD_INPUTS:
        ours, theirs = parse_html(raw), trafilatura.load_html(raw)
        assert (ours is None) == (theirs is None), raw[:200]
        if ours is not None:
            assert (etree.tostring(ours.getroottree(), encoding="unicode")
                    == etree.tostring(theirs.getroottree(), encoding="unicode")), raw[:200]
    for raw in pages:
        ours, theirs = parse_html(raw), trafilatura.load_html(raw)
        a = trafilatura.bare_extraction(ours, **TRAFILATURA_OPTIONS)
        b = trafilatura.bare_extraction(theirs, **TRAFILATURA_OPTIONS)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.text == b.text
        ma, mb = trafilatura.extract_metadata(ours, extensive=False), trafilatura.extract_metadata(theirs, extensive=False)
        assert (ma.title, ma.author, ma.date, ma.sitename, ma.categories, ma.url) == (
            mb.title, mb.author, mb.date, mb.sitename, mb.categories, mb.url)


def test_own_parser_uses_the_c_lookup_and_leaves_trafilaturas_alone() -> None:
    """Our parser's elements get their class from lxml's C lookup (form controls are plain elements);
    trafilatura's own parser still hands out lxml.html's classes."""
    import trafilatura
    from lxml import html

    from tasks.extract import extract_html, parse_html

    extract_html(_FORM_PAGE)
    assert type(parse_html(_FORM_PAGE).find(".//input")) is html.HtmlElement
    assert type(trafilatura.load_html(_FORM_PAGE).find(".//input")) is html.InputElement


# One page per way trafilatura's byline XPaths can match, and per kind of category link.
_BYLINE_PAGES = [
    '<a rel="author" href="/u/1">Jane Doe</a>', '<div id="author">Jane Doe</div>',
    '<span class="author">Jane Doe</span>', '<span itemprop="author name">Jane Doe</span>',
    '<div data-testid="AuthorCard">Jane Doe</div>', '<span class="post-AuthorName">Jane Doe</span>',
    "<author>Jane Doe</author>", '<p class="byline">By Jane Doe | May 4, 2025</p>',
    '<span class="username">Jane Doe</span>', '<span class="byl">Jane Doe</span>',
    '<span itemprop="creator author">Jane Doe</span>', '<p class="submitted-by">Jane Doe</p>',
    '<p class="posted-by">Jane Doe</p>', '<p class="journalist-name">Jane Doe</p>',
    '<section data-component="Byline">Jane Doe</section>', '<section id="theAuthor">Jane Doe</section>',
    '<section class="screenname">Jane Doe</section>', '<section class="staff-writer">Jane Doe</section>',
    '<section class="Byline">Jane Doe</section>',
    '', '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": "Person", "name": "Jane Doe"}}</script>',
    '<script type="application/ld+json">{"@graph": [{"@type": "Article", "author": {"@id": "#a"}},'
    ' {"@type": "Person", "@id": "#a", "name": "Jane Doe"}]}</script>',
]
_BYLINE_HEADS = {19: '<meta name="author" content="Jane Doe">'}
_NOT_BYLINES = ['<div class="comment-author">Jane Doe</div>', '<div class="author-bio">Jane Doe writes.</div>',
                '<span class="author">Posted on 4 May 2025</span>']


def _page(body: str, head: str = "") -> bytes:
    story = "<p>" + "A sentence of the story that the page is about. " * 8 + "</p>"
    return f"<html><head><title>T</title>{head}</head><body>{body}<article>{story}</article></body></html>".encode()


def test_a_short_chinese_page_run_together_with_its_title_keeps_its_text() -> None:
    """trafilatura gives a short page's headline, byline and paragraphs as one line; read as a title
    variant of a few space-separated runs, that line, the whole story, was removed (`repeated-title`)."""
    story = ["中国人民银行12日宣布，自3月20日起下调金融机构存款准备金率0.5个百分点，预计释放长期资金约1万亿元。",
             "央行有关负责人表示，此次降准旨在保持银行体系流动性合理充裕，支持实体经济发展。"]
    title = "央行宣布下调存款准备金率0.5个百分点"
    raw = (f'<html lang="zh"><head><meta charset="utf-8"><title>{title}</title></head><body><nav><a href="/">首页</a>'
           f'</nav><main><article><h1>{title}</h1><div class="byline">陈静</div><div class="date">2024-03-12</div>'
           + "".join(f"<p>{p}</p>" for p in story) + "</article></main></body></html>").encode()
    article = clean_document(RawDocument("file:///zh.html", "html", raw, sha256_hex(raw), len(raw)))
    assert isinstance(article, Article) and all(p in article.body for p in story), article


def test_zero_width_joiners_and_non_joiners_are_kept() -> None:
    """trafilatura drops them (not printable): Persian "سه‌شنبه" became "سهشنبه", so a search for the
    right spelling missed the page, and the family emoji fell apart."""
    story = ["شورای شهر تهران روز سه‌شنبه با افزایش ۲۵ درصدی قیمت بلیت مترو و اتوبوس از ابتدای فروردین ماه موافقت کرد.",
             "رئیس کمیسیون عمران شورا گفت که این افزایش برای جبران بخشی از هزینه‌های نگهداری ناوگان حمل‌ونقل عمومی ضروری است.",
             "شهروندان در شبکه‌های اجتماعی از این تصمیم انتقاد کردند و آن را فشاری تازه بر خانواده‌ها 👨‍👩‍👧 دانستند."]
    raw = ('<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>افزایش قیمت بلیت مترو</title></head><body>'
           "<article><h1>افزایش قیمت بلیت مترو</h1>" + "".join(f"<p>{p}</p>" for p in story)
           + "</article></body></html>").encode()
    article = clean_document(RawDocument("file:///fa.html", "html", raw, sha256_hex(raw), len(raw)))
    assert isinstance(article, Article) and article.body.split("\n\n")[-3:] == story, article.body


def test_page_bylines_and_categories_reach_the_article() -> None:
    """extract_html reports the author the page's structured data or byline markup names (not a
    commenter's, not a bio), and the section its structured data states; pages without them report none."""
    from tasks.extract import extract_html

    for i, body in enumerate(_BYLINE_PAGES):
        assert extract_html(_page(body, _BYLINE_HEADS.get(i, ""))).author == "Jane Doe", body
    for body in _NOT_BYLINES:
        assert extract_html(_page(body)).author is None, body
    sections = [extract_html(_page("", head)).section for head in (
        '<meta property="article:section" content="Science">',
        '<script type="application/ld+json">{"@type": "NewsArticle", "articleSection": ["Science", "Space"]}</script>',
        '<div class="post-meta"><a href="/category/world/">World</a></div>',
    )]
    assert sections == ["Science", "Science, Space", None]  # categories come from structured data only
    assert extract_html(_page("")).author is None


@pytest.mark.parametrize(("canonical", "og_url", "url", "expected"), [
    ("/city/tram", None, "https://news.example.org/a?utm=1", "https://news.example.org/city/tram"),
    ("/city/tram", "https://news.example.org/x?share=1", None, "https://news.example.org/city/tram"),
    ("/city/tram", None, None, None),  # read from a file: nothing to resolve the path against
    ("Council approves tram", "https://news.example.org/x", None, "https://news.example.org/x"),  # words
    ("http://[::1", None, "https://news.example.org/a", "https://news.example.org/a"),
    ("javascript:void(0)", "ftp://example.org/f", None, None),
    ("https://news.example.org/c", "https://other.example/o", "https://news.example.org/a", "https://news.example.org/c"),
])
def test_page_url_takes_only_what_resolves_to_an_http_url(canonical, og_url, url, expected) -> None:
    assert page_url(canonical, og_url, url) == expected


def test_a_relative_canonical_in_a_file_neither_sets_the_url_nor_quarantines(tmp_path: Path) -> None:
    from tasks.validate import validate_articles

    story = "".join(f"<p>The council voted on the tram extension, sentence {i} of the story, after a long debate.</p>"
                    for i in range(12))
    page = tmp_path / "tram.html"
    page.write_text(f"<html><head><title>Council approves tram</title><link rel=canonical href='/city/tram'>"
                    f"</head><body><article><h1>Council approves tram</h1>{story}</article></body></html>")
    article = clean_document(_html_doc(page))
    assert isinstance(article, Article) and "sentence 11" in article.body
    assert article.url is None and article.canonical_url is None
    validation = validate_articles([article])
    assert validation.valid == [article], validation.rejected


# "Investor’s Guide — café" with its text encoded twice as UTF-8, as some publishers serve it.
_TWICE = "Investor’s Guide — café".encode("utf-8").decode("latin-1").encode("utf-8")


@pytest.mark.parametrize("raw, expected", [
    (b"<p>An " + _TWICE + b"</p>", "<p>An Investor’s Guide — café</p>"),
    (("<p>An " + _TWICE.decode("utf-8") + "</p>"), "<p>An Investor’s Guide — café</p>"),  # a JSON record's HTML
])
def test_text_encoded_twice_is_decoded_once_more(raw, expected) -> None:
    from tasks.extract import mend_double_encoding

    assert mend_double_encoding(raw) == expected


@pytest.mark.parametrize("raw", [
    "<p>São Paulo, pâté, Âge, déjà vu: “quoted” — 5 €</p>".encode("utf-8"),  # accents written as such
    "<p>Garçon</p>".encode("latin-1"),                                         # not UTF-8: left to the parser
    b"<p>\xc3\x83\xc2\xa9 \xff</p>",                                           # encoded twice, but not UTF-8
])
def test_text_encoded_once_is_left_as_it_is(raw) -> None:
    from tasks.extract import mend_double_encoding

    assert mend_double_encoding(raw) is raw


def test_a_page_encoded_twice_gives_mended_title_and_body_and_says_so() -> None:
    paragraphs = [f"Part {i}. An investor’s guide to the café’s accounts — in full. " + _SENTENCE for i in range(6)]
    page = (b"<html><head><meta charset='utf-8'><title>" + _TWICE + b"</title></head><body><article><h1>"
            + _TWICE + b"</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs).encode("utf-8").decode("latin-1").encode()
            + b"</article></body></html>")
    article = clean_document(RawDocument("file:///twice.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article)
    assert article.title == "Investor’s Guide — café"
    assert "An investor’s guide to the café’s accounts — in full." in article.body
    assert "double_encoding_mended" in article.flags
    plain = _story_page(paragraphs)
    story = clean_document(RawDocument("file:///plain.html", "html", plain, sha256_hex(plain), len(plain)))
    assert "café’s" in story.body and "double_encoding_mended" not in story.flags


def _page_with_discards(article: str) -> bytes:
    return ("<html><head><title>Council delays the budget vote</title><style>p {color: red}</style>"
            "<script>window.ads = [1, 2, 3];</script></head><body><nav><a href='/'>Home</a></nav>"
            f"{article}<svg><g><path d='M0 0'/></g></svg><footer><p>Contact us</p><p>© 2026 The Gazette</p>"
            "</footer></body></html>").encode()


@pytest.mark.parametrize("name", sorted(p.name for p in (EDGE_CASES / "html").glob("*.html")) + [
    "article", "every paragraph in an aside", "text in JSON-LD only"])
def test_dropping_what_trafilatura_discards_leaves_its_text_as_it_was(name: str) -> None:
    import copy
    from tasks.extract import drop_unread, extract_lines, parse_html

    paragraphs = "".join(f"<p>Part {i}. {_SENTENCE * 2}</p>" for i in range(8))
    if name == "article":
        raw = _page_with_discards(f"<article><h1>Council delays the budget vote</h1>{paragraphs}</article>")
    elif name == "every paragraph in an aside":
        raw = _page_with_discards(f"<aside class='story'>{paragraphs}</aside>")
    elif name == "text in JSON-LD only":
        ld = json.dumps({"@type": "NewsArticle", "articleBody": _SENTENCE * 12})
        raw = _page_with_discards(f"<script type='application/ld+json'>{ld}</script><div id='app'>Loading</div>")
    else:
        raw = (EDGE_CASES / "html" / name).read_bytes()
    tree = parse_html(raw)
    whole = extract_lines(copy.deepcopy(tree), None)
    drop_unread(tree)
    assert tree.find(".//footer") is None and tree.find(".//svg") is None
    assert extract_lines(tree, None) == whole and whole[0] != [""]


def test_drop_unread_keeps_json_ld_and_the_text_after_a_dropped_element() -> None:
    from tasks.extract import drop_unread, parse_html

    tree = parse_html(b"<html><head><script>var a;</script><script type='application/ld+json'>{}</script>"
                      b"<style>p{}</style><meta name='x' content='y'><link rel='icon' href='/i.png'></head>"
                      b"<body><p>Before<svg><path/></svg> and after.</p><form><input name='q'>Search</form>"
                      b"<footer>Legal</footer>Closing words.</body></html>")
    drop_unread(tree)
    assert [el.get("type") for el in tree.iter("script")] == ["application/ld+json"]
    assert [el.tag for el in tree.iter("style", "meta", "link", "input")] == []
    assert tree.find(".//form").text_content() == "Search"
    assert tree.find(".//p").text_content() == "Before and after."
    assert "Legal" not in tree.text_content() and "Closing words." in tree.text_content()


def test_a_record_holding_an_html_fragment_or_unreadable_html():
    from tasks.clean import clean_document
    from tasks.models import Article, RawDocument, Rejected, sha256_hex

    def record(**fields) -> RawDocument:
        raw = json.dumps({"url": "https://news.example.org/a", "title": "Bridge reopens", **fields}).encode()
        return RawDocument("file:///r.jsonl#L1", "record", raw, sha256_hex(raw), len(raw))

    story = "Officials in the harbour town reopened the bridge after repairs lasting several months. " * 8
    fragment = clean_document(record(html=f"<p>{story}</p><p>{story}</p>"))
    assert isinstance(fragment, Article) and fragment.body.count("reopened the bridge") == 16
    assert fragment.extraction.startswith("trafilatura")
    fallback = clean_document(record(html="\x00\x01 not markup", text=story))
    assert isinstance(fallback, Article) and "html_unreadable" in fallback.flags
    assert fallback.extraction == "record" and "reopened the bridge" in fallback.body
    refused = clean_document(record(html="\x00\x01 not markup"))
    assert isinstance(refused, Rejected) and refused.reasons == ["not parseable as HTML (empty or binary content)"]


def test_impossible_offsets_are_unparsed_dates_and_utf16_text_reads():
    import codecs

    from tasks.clean import parse_published
    from tasks.reader import decode_text

    assert parse_published("2024-01-01T00:00:00+25:00") is None  # not an exception naming no field
    assert parse_published("2024-01-01T23:00:00-05:00") == "2024-01-01T23:00:00-05:00"  # its own offset
    assert parse_published("0001-01-01T00:00:00Z") is None  # a placeholder, not a date
    assert parse_published("1851-09-18") == "1851-09-18T00:00:00+00:00"  # an old newspaper's is kept
    assert parse_published(-1e14) is None and parse_published(float("nan")) is None  # epoch out of range
    text = "Café owners protest\nThe café owners met on Monday."
    assert decode_text(codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == text
    assert decode_text(codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == text
    # UTF-32's little-endian mark starts with UTF-16's: read as UTF-16, every other character was a NUL
    assert decode_text(text.encode("utf-32")) == text  # with its byte-order mark
    assert decode_text(codecs.BOM_UTF32_BE + text.encode("utf-32-be")) == text
    with pytest.raises(ValueError, match="UTF-16 text without a byte-order mark reads so: re-save it as UTF-8"):
        decode_text(text.encode("utf-16-le"))


def test_record_fields_come_on_one_line_without_control_characters():
    from tasks.reader import record_fields

    raw = json.dumps({"url": "https://e.org/a\n", "title": "Bridge\x00 reopens\r\n after\trepairs",
                      "author": "\x1bA. Writer", "text": "Body\x00 text.\nSecond line."}).encode()
    fields = record_fields(raw, {})
    assert fields["title"] == "Bridge reopens after repairs" and fields["author"] == "A. Writer"
    assert fields["url"] == "https://e.org/a" and fields["text"] == "Body text.\nSecond line."
    assert "title" not in record_fields(json.dumps({"title": "\x00\n", "text": "x"}).encode(), {})


_FERRY = " ".join(["The harbour authority said on Friday that the new ferry terminal would open in spring, after two "
                   "years of building work and a long dispute over its cost."] * 4)


@pytest.mark.parametrize("ref", ["&#27;", "&#x1B;", "&#11;", "&#0011;", "&#12 ", "&#xFFFF;", "&#65534;"])
@pytest.mark.parametrize("as_text", [False, True])
def test_a_character_reference_to_a_control_character_keeps_the_page(ref: str, as_text: bool) -> None:
    """libxml2 puts the character into the tree; the first element trafilatura made with it failed ("All
    strings must be XML compatible"), and the whole body was lost: an empty article, quarantined."""
    page = (f"<html><head><title>Ferry{ref} terminal opens</title></head><body><article>"
            f"<h1>Ferry terminal opens</h1><p>{_FERRY}</p><p>A second{ref} paragraph about the ferry, the "
            "harbour and the town council meeting that approved it.</p></article></body></html>")
    raw = page if as_text else page.encode()
    article = clean_document(RawDocument("file:///ferry.html", "html", raw, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.body.startswith(_FERRY) and article.body.endswith("approved it.")
    assert "A second paragraph about the ferry" in " ".join(article.body.split())
    assert article.title == "Ferry terminal opens"


def test_one_line_fields_from_structured_data_carry_no_control_characters() -> None:
    """JSON-LD decodes "\\u001b" to an escape character: it reached the warehouse, the CSV exports and
    the terminals analysts print authors in."""
    ld = ('{"@type": "NewsArticle", "headline": "Ferry\\u001b[31m terminal\\u0007 opens",'
          ' "author": {"@type": "Person", "name": "Ann\\u001b[5m Lee\\u000b"},'
          ' "articleSection": "Lo\\u0000cal\\nNews", "publisher": {"@type": "Organization", "name": "Harbour\\tPost"}}')
    page = (f'<html><head><title>x</title><script type="application/ld+json">{ld}</script></head><body><article>'
            f"<p>{_FERRY}</p></article></body></html>").encode()
    article = clean_document(RawDocument("file:///ld.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert (article.title, article.author, article.section, article.sitename) == (
        "Ferry terminal opens", "Ann Lee", "Lo cal News", "Harbour Post")


@pytest.mark.parametrize("kind", ["record", "text"])
def test_text_bodies_carry_no_escape_sequences_or_control_characters(kind: str) -> None:
    """Text given as text (a .txt file, a JSON record's `text`) is stored as written, but for terminal
    escape sequences and control characters, which garbled the terminals analysts print bodies in.
    Tabs stay; form feeds and vertical tabs break lines, as Python's splitlines reads them."""
    body = (f"{_FERRY}\n\nThe \x1b[1;31mnew\x1b[0m terminal\x07 has\x08 two\tberths and a\x7f cafe, the "
            "council said on\x1b Friday after the vote.\x0cA page\x1f later.")
    if kind == "record":
        raw = json.dumps({"url": "https://e.org/ferry", "title": "Ferry terminal opens", "text": body}).encode()
    else:
        raw = f"Ferry terminal opens\n\n{body}\n".encode()
    article = clean_document(RawDocument("file:///ferry", kind, raw, sha256_hex(raw), len(raw)))
    assert isinstance(article, Article), article
    assert article.body.split("\n\n")[1:] == [
        "The new terminal has two\tberths and a cafe, the council said on Friday after the vote.", "A page later."]


_CAFE = "Le café du port a rouvert vendredi: crème brûlée, une façade naïve et un señor au piano. " * 4


@pytest.mark.parametrize("encoding, content_type, decoded", [
    ("latin-1", "text/html; charset=ISO-8859-1", True),  # the header alone says it: read so
    ("cp1252", 'text/html;charset="windows-1252"', True),
    ("utf-8", "text/html; charset=iso-8859-1", False),  # an old server default over UTF-8 bytes: UTF-8
    ("latin-1", "text/html; charset=utf-16", False),  # would read any bytes: not taken
    ("latin-1", "text/html; charset=base64", False),  # not a text encoding
    ("latin-1", "text/html; charset=no-such", False),
    ("latin-1", "text/html", False),
])
def test_a_page_is_decoded_in_the_charset_its_http_header_names(encoding, content_type, decoded) -> None:
    from tasks.extract import decode_as_declared

    raw = f"<html><head><title>Café</title></head><body><p>{_CAFE}</p></body></html>".encode(encoding)
    out = decode_as_declared(raw, [("Server", "x"), ("Content-Type", content_type)])
    assert out == (raw.decode(encoding) if decoded else raw)
    assert decode_as_declared(raw, None) is raw  # a file's bytes: no header
    article = clean_document(RawDocument("https://e.org/cafe", "html", raw, sha256_hex(raw), len(raw),
                                         headers=[("Content-Type", content_type)]))
    if decoded or encoding == "utf-8":
        assert _CAFE.strip() in article.body
    bom = codecs.BOM_UTF16_LE + raw.decode(encoding).encode("utf-16-le")  # a byte-order mark beats the header
    assert decode_as_declared(bom, [("Content-Type", content_type)]) is bom


@pytest.mark.parametrize("ld", [
    "[" * 100_000 + "]" * 100_000,                     # deeper than Python's JSON decoder goes
    '{"@graph": ' * 50_000 + "[]" + "}" * 50_000,
    "[" + "0," * 300_000 + '{"@type": "NewsArticle", "author": "Ann Lee"}]',  # a long list before the article
])
def test_a_json_ld_script_too_deep_or_too_long_keeps_the_page(ld: str) -> None:
    """A JSON-LD script nested past the decoder's depth raised RecursionError, so the whole page was
    quarantined for its metadata. A list of 300,000 items took ~8 s to walk (each step moved the rest);
    the walk now stops after 10,000 items, so the article past them is not read."""
    page = (f'<html><head><title>Ferry terminal opens</title><script type="application/ld+json">{ld}</script>'
            f"</head><body><article><h1>Ferry terminal opens</h1><p>{_FERRY}</p></article></body></html>").encode()
    article = clean_document(RawDocument("file:///ld.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.body == _FERRY and article.title == "Ferry terminal opens" and article.author is None


def test_a_page_too_large_for_the_cascade_keeps_the_fast_text() -> None:
    """jusText's time grows with the square of a run of short paragraphs: a short article above a table
    of 10,000 rows took ~40 s, past the document time limit, and the page was lost."""
    from tasks.extract import CASCADE_MAX_BLOCKS

    rows = "".join(f"<tr><td>Ward {i}</td><td>{i * 7 % 1000} votes</td></tr>"
                   for i in range(CASCADE_MAX_BLOCKS // 3 + 1))
    page = (f"<html><head><title>Ferry terminal opens</title></head><body><article><h1>Ferry terminal opens</h1>"
            f"<p>{_FERRY}</p></article><table>{rows}</table></body></html>").encode()
    meta = extract_html(page, None)
    assert meta.extraction == "trafilatura-fast"
    article = clean_document(RawDocument("file:///votes.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.body.startswith(_FERRY) and article.extraction.startswith("trafilatura-fast")


def _nested_page(depth: int, article_first: bool, encoding: str = "utf-8") -> bytes:
    """A page whose template leaves a <div> open `depth` times (once per comment, say)."""
    deep = "<div>Comment." * depth
    article = f"<article><h1>Ferry terminal opens</h1><p>{_FERRY}</p></article>"
    parts = (article, deep) if article_first else (deep, article)
    page = f"<html><head><title>Ferry terminal opens</title></head><body>{''.join(parts)}</body></html>"
    return page.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])  # UTF-8 bytes, and text the parser reads decoded
def test_a_page_nested_hundreds_of_levels_deep_is_read_to_its_end(encoding: str) -> None:
    """libxml2 stopped reading at the 256th level of nesting, so the article after 300 open <div>s was
    missing from the tree and the page came out empty."""
    page = _nested_page(300, article_first=False, encoding=encoding)
    article = clean_document(RawDocument("file:///deep.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.body.endswith(_FERRY) and "html_truncated" not in article.flags


def test_a_headline_nested_past_pythons_recursion_limit_is_read() -> None:
    """The parser reads 2,048 levels; the headline's text was read by a recursive walk, which raised
    RecursionError past ~1,000, and the page was quarantined for it."""
    headline = "<span>" * 1_500 + "Ferry terminal opens" + "</span>" * 1_500
    page = (f"<html><head><title>Ferry terminal opens | Harbour Post</title></head><body><article>"
            f"<h1>{headline}</h1><p>{_FERRY}</p></article></body></html>").encode()
    article = clean_document(RawDocument("file:///h1.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.title == "Ferry terminal opens" and article.body == _FERRY


def test_a_page_nested_past_the_parsers_limit_says_so() -> None:
    """Past 2,048 levels the parser stops: an article read before that point is kept and flagged, and a
    page with none before it is quarantined with the reason, not as an empty body."""
    from tasks.clean import TRUNCATED_EMPTY

    kept = _nested_page(3000, article_first=True)
    article = clean_document(RawDocument("file:///kept.html", "html", kept, sha256_hex(kept), len(kept)))
    assert isinstance(article, Article), article
    assert article.body.startswith(_FERRY) and "html_truncated" in article.flags
    assert article.extraction in ("trafilatura", "trafilatura-fast")  # no line recovery past a cut

    lost = _nested_page(3000, article_first=False)
    rejected = clean_document(RawDocument("file:///lost.html", "html", lost, sha256_hex(lost), len(lost)))
    assert isinstance(rejected, Rejected) and rejected.reasons == [TRUNCATED_EMPTY]


def test_a_list_nested_past_pythons_recursion_limit_is_read_to_the_first_cut() -> None:
    """trafilatura walks nested lists recursively: on the tree read to 2,048 levels, a list nested 600
    deep raised RecursionError. The page is then read as the first parse gave it, to 256 levels."""
    page = (f"<html><head><title>Ferry terminal opens</title></head><body><article><h1>Ferry terminal opens</h1>"
            f"<p>{_FERRY}</p>{'<ul><li>A point of the plan' * 600}</article></body></html>").encode()
    article = clean_document(RawDocument("file:///list.html", "html", page, sha256_hex(page), len(page)))
    assert isinstance(article, Article), article
    assert article.body.startswith(_FERRY) and "A point of the plan" in article.body
    assert "html_truncated" in article.flags


def test_a_page_stating_a_whole_text_as_its_author_or_url_gives_none() -> None:
    """A meta tag holding a whole text reached the warehouse as the article's author (900,000
    characters), section or site name, and a 500,000-character canonical link as its URL."""
    from newsflow.settings import META_MAX_CHARS, URL_MAX_CHARS

    def ferry(head: str) -> Article:
        page = (f"<html><head><title>Ferry terminal opens</title>{head}</head><body><article><h1>Ferry terminal "
                f"opens</h1><p>{_FERRY}</p></article></body></html>").encode()
        article = clean_document(RawDocument("https://e.org/ferry", "html", page, sha256_hex(page), len(page),
                                             {"url": None}))
        assert isinstance(article, Article) and article.body == _FERRY, article
        return article

    name, long_name = "Ann Lee " * (META_MAX_CHARS // 8), "Ann Lee " * (META_MAX_CHARS // 8 + 1)
    meta = ('<meta name="author" content="{0}"><meta property="article:section" content="{0}">'
            '<meta property="og:site_name" content="{0}">')
    kept, dropped = ferry(meta.format(name)), ferry(meta.format(long_name))
    assert (kept.author, kept.section, kept.sitename) == (name.strip(),) * 3
    assert (dropped.author, dropped.section, dropped.sitename) == (None, None, None)
    path = "a" * (URL_MAX_CHARS - len("https://e.org/"))
    assert ferry(f'<link rel="canonical" href="https://e.org/{path}">').url == f"https://e.org/{path}"
    assert ferry(f'<link rel="canonical" href="https://e.org/{path}a">').url is None


@pytest.mark.parametrize("written, stored", [
    ("Sun, 10 Mar 2024 08:00:00 EST", "2024-03-10T08:00:00-05:00"),  # RFC 2822's zone names
    ("2024-03-10 08:00 JST", "2024-03-10T08:00:00+09:00"),
    ("2024-03-10T08:00:00 GMT+1", "2024-03-10T08:00:00+01:00"),  # east of UTC, not POSIX's west
    ("2024-03-10 08:00 UTC-5", "2024-03-10T08:00:00-05:00"),
    ("Sun Mar 10 2024 08:00:00 GMT+0530 (India Standard Time)", "2024-03-10T08:00:00+05:30"),  # JavaScript's
    ("2024-03-10 08:00:00 +0100 CET", "2024-03-10T08:00:00+01:00"),  # Go's
    ("2024-03-10T08:00:00+01:00[Europe/Paris]", "2024-03-10T08:00:00+01:00"),  # RFC 9557
    ("2024-03-10T08:00:00", "2024-03-10T08:00:00+00:00"),  # no zone: UTC
    ("2024-03-10", "2024-03-10T00:00:00+00:00"),
    (1710057600, "2024-03-10T08:00:00+00:00"), (1710057600000, "2024-03-10T08:00:00+00:00"),  # epoch s, ms
    ("2024-03-10 08:00 IST", None),  # India, Ireland or Israel: not guessed
    ("March 2024", None), ("2024-03", None), ("10:30", None),  # no day: not today's day filled in
    # numeric dates: day first with dots or dashes (Europe, Asia), month first with slashes (the US)
    ("12.03.2024", "2024-03-12T00:00:00+00:00"), ("05.04.2024 14:30", "2024-04-05T14:30:00+00:00"),
    ("12-03-2024", "2024-03-12T00:00:00+00:00"), ("03/12/2024", "2024-03-12T00:00:00+00:00"),
])
def test_written_dates_read_the_same_on_every_machine(written, stored) -> None:
    """dateutil took a zone name as UTC, or as the machine's zone where it had that name, read "GMT+1"
    as an hour west, and filled a missing day, month or year from today."""
    import time

    from tasks.clean import parse_published

    before = os.environ.get("TZ")
    try:
        for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
            os.environ["TZ"] = zone
            time.tzset()
            assert parse_published(written) == stored, zone
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _council_page(head: str = "") -> bytes:
    body = "".join(f"<p>The council approved the budget on Tuesday after a long debate, part {i}.</p>"
                   for i in range(4))
    return (f"<html><head><title>Council approves budget</title>{head}</head>"
            f"<body><article>{body}</article></body></html>").encode()


def test_the_pages_own_date_comes_before_its_feeds_and_the_feeds_before_its_url():
    """A sitemap's <lastmod> (a page edited today) overrode a 2019 page's own date; a feed's date still
    fills in for a page that states none in its markup, before the day in its URL."""
    def page(head: str, url: str, listed: str | None) -> Article:
        raw = _council_page(head)
        fields = {"url": url, **({"feed_published_at": listed} if listed else {})}
        return clean_document(RawDocument(url, "html", raw, sha256_hex(raw), len(raw), fields))

    stated = '<meta property="article:published_time" content="2019-05-01T10:00:00+02:00">'
    own = page(stated, "https://news.example.com/story", "2026-12-05T09:00:00+00:00")
    listed = page("", "https://news.example.com/2026/12/01/story", "2026-12-05T09:00:00+00:00")
    url_only = page("", "https://news.example.com/2026/12/01/story", None)
    assert (own.published_at, own.flags) == ("2019-05-01T10:00:00+02:00", [])
    assert (listed.published_at, listed.flags) == ("2026-12-05T09:00:00+00:00", [])
    assert (url_only.published_at, url_only.flags) == ("2026-12-01T00:00:00+00:00", ["date_from_url"])


@pytest.mark.parametrize("charset", ["windows-1252", "windows-1251", "gb18030"])
def test_a_page_is_read_in_the_charset_its_meta_tag_declares(charset: str) -> None:
    """A page in a legacy charset that declares it only in its <meta> was decoded by a guess from its
    bytes, which for this page found nothing and replaced each of its quotes, dashes and no-break
    spaces with U+FFFD."""
    import re

    page = gzip.decompress((Path(__file__).parent / "data" / "charset" / "0140.html.gz").read_bytes()).decode()
    page = re.sub(r"(?i)<meta[^>]*charset[^>]*>", "", page)
    page = re.sub(r"(?i)<head([^>]*)>", lambda m: f'{m[0]}<meta charset="{charset}">', page, count=1)
    want = clean_document(RawDocument("file:///p.html", "html", page.encode(), sha256_hex(page.encode()), 1))
    raw = page.encode(charset)
    assert not raw.isascii()
    got = clean_document(RawDocument("file:///p.html", "html", raw, sha256_hex(raw), len(raw)))
    assert "\ufffd" not in got.body and got.body == want.body and got.title == want.title


def test_a_listed_date_that_does_not_read_gives_way_to_the_pages_url():
    raw = _council_page()
    url = "https://news.example.com/2026/12/01/story"
    listed = {"url": url, "feed_published_at": "Sun, 10 Mar 2024 08:00:00"}  # RSS without a zone: UTC
    unread = {"url": url, "feed_published_at": "last Tuesday"}
    a, b = (clean_document(RawDocument(url, "html", raw, sha256_hex(raw), len(raw), f)) for f in (listed, unread))
    assert (a.published_at, a.flags) == ("2024-03-10T08:00:00+00:00", [])
    assert (b.published_at, b.flags) == ("2026-12-01T00:00:00+00:00", ["date_from_url"])


@pytest.mark.parametrize("headline, first", [
    ("上海浦东新区发布人工智能产业扶持新政", "本报讯 上海市浦东新区人民政府昨日发布《关于支持人工智能产业高质量发展的若干措施》，提出到二〇二五年，"
                                 "区内人工智能核心产业规模力争突破一千五百亿元。"),
    ("ครม.อนุมัติโครงการแจกเงินดิจิทัลหนึ่งหมื่นบาท", "คณะรัฐมนตรีมีมติอนุมัติหลักการโครงการเติมเงินดิจิทัลวอลเล็ตคนละหนึ่งหมื่นบาทให้แก่ประชาชน"
                                                  "ที่มีอายุสิบหกปีขึ้นไปและมีรายได้ไม่เกินเจ็ดหมื่นบาทต่อเดือน"),
])
def test_a_headline_in_a_script_without_spaces_is_the_title_of_a_text_file(headline: str, first: str) -> None:
    """A Chinese or Thai headline, one run of characters without spaces, was never a title: the article
    was flagged title_missing and began with its headline."""
    text = f"{headline}\n\n{first}\n\n{first}".encode()
    article = clean_document(RawDocument("file:///zh.txt", "text", text, sha256_hex(text), len(text)))
    assert article.title == headline and article.body.startswith(first[:20]) and "title_missing" not in article.flags


def _fetched(raw: bytes, url: str = "https://news.example.com/2025/05/council-budget") -> Article | Rejected:
    return clean_document(RawDocument(url, "html", raw, sha256_hex(raw), len(raw), {"url": url}))


def _page_titled(title: str, head: str = "", h1: str | None = None) -> bytes:
    body = "".join(f"<p>{_SENTENCE}Part {i}.</p>" for i in range(3))
    return (f"<html><head><title>{title}</title>{head}</head><body><main><h1>{h1 or title}</h1>{body}</main>"
            "</body></html>").encode()


@pytest.mark.parametrize("title", ["Page not found", "Oops! That page can’t be found.", "Something went wrong",
                                   "Error establishing a database connection", "Log in to your account",
                                   "Seite nicht gefunden", "Página no encontrada", "Страница не найдена",
                                   "Seite nicht gefunden (404)", "Page not found (Error 404)"])
def test_an_error_or_login_page_served_with_200_is_quarantined_as_no_article(title: str) -> None:
    """Soft 404s, error messages and login forms answered with 200 were stored as articles (and, at a
    stored article's URL, replaced it)."""
    result = _fetched(_page_titled(title))
    assert isinstance(result, Rejected) and result.reasons == [
        f"not an article: its title {title!r} is an error, login or robot-check page's (rule error-page)"]


def test_a_headline_about_an_error_is_an_article() -> None:
    assert isinstance(_fetched(_page_titled("Something went wrong at the county records office")), Article)


def test_a_page_forwarding_readers_elsewhere_is_no_article_but_a_reloading_one_is() -> None:
    moved = _fetched(_page_titled("This story has a new home", '<meta http-equiv="refresh" content="5; url=/new">'))
    assert isinstance(moved, Rejected) and moved.reasons == [
        "not an article: the page forwards readers to https://news.example.com/new (a meta refresh); "
        "ingest that URL instead"]
    for head in ('<meta http-equiv="refresh" content="300">',
                 '<meta http-equiv="Refresh" content="60;URL=\'https://news.example.com/2025/05/council-budget\'">'):
        assert isinstance(_fetched(_page_titled("Council delays the budget vote", head)), Article), head


def test_a_page_whose_structured_data_calls_it_a_listing_is_no_article() -> None:
    listing = '<script type="application/ld+json">{"@type": "CollectionPage", "name": "Transport"}</script>'
    result = _fetched(_page_titled("Transport", listing))
    assert isinstance(result, Rejected) and result.reasons == [
        "not an article: its structured data calls it a CollectionPage, a page listing articles"]
    graph = ('<script type="application/ld+json">{"@graph": [{"@type": "CollectionPage"}, {"@type": "NewsArticle", '
             '"headline": "Council delays the budget vote"}]}</script>')  # a page of both: the article wins
    assert isinstance(_fetched(_page_titled("Council delays the budget vote", graph)), Article)


def test_a_page_named_only_by_its_site_is_no_article_when_it_states_no_date() -> None:
    """A cookie or consent wall: no headline, the site's name as title, consent text as body."""
    site = '<meta property="og:site_name" content="The Riverside Courier">'
    wall = _fetched(_page_titled("The Riverside Courier", site))
    assert isinstance(wall, Rejected) and wall.reasons[0].startswith(
        "not an article: no headline and no date, its title 'The Riverside Courier' is only the site's name")
    dated = _fetched(_page_titled("The Riverside Courier", site + '<meta property="article:published_time" '
                                  'content="2025-05-14T07:30:00Z">'))  # a poor title, but an article
    assert isinstance(dated, Article) and dated.title == "The Riverside Courier"


def test_a_page_marked_not_free_to_read_is_flagged_paywalled() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Council delays the budget '
          'vote", "isAccessibleForFree": false}</script>')
    assert "paywalled" in _fetched(_page_titled("Council delays the budget vote", ld)).flags
    assert "paywalled" not in _fetched(_page_titled("Council delays the budget vote", ld.replace("false", "true"))).flags


def test_an_amp_copy_is_its_canonical_pages_article() -> None:
    """Fetched beside its page (a sitemap listing both), the AMP copy was a second article of one text."""
    canonical = "https://www.news.example.com/2025/05/council-budget"
    head = f'<link rel="canonical" href="{canonical}">'
    amp = _page_titled("Council delays the budget vote", head).replace(b"<html>", "<html ⚡ lang='en'>".encode())
    copy = _fetched(amp, "https://amp.news.example.com/2025/05/council-budget")
    page = _fetched(_page_titled("Council delays the budget vote", head), canonical)
    assert (copy.url, copy.article_id, copy.flags) == (canonical, page.article_id, ["amp_copy"])
    elsewhere = amp.replace(b"www.news.example.com", b"other.example")  # another site's page: not taken
    other = _fetched(elsewhere, "https://amp.news.example.com/2025/05/council-budget")
    assert other.url == "https://amp.news.example.com/2025/05/council-budget" and other.flags == []


@pytest.mark.parametrize("refresh", [
    '<meta http-equiv="refresh" content="900; url=https://news.example.com/2025/05/council-budget?refresh=1">',
    '<meta http-equiv="refresh" content="600;url=http://news.example.com/2025/05/council-budget/">',
    '<noscript><meta http-equiv="refresh" content="0; url=/nojs"></noscript>'])
def test_a_page_reloading_itself_or_sending_only_readers_without_scripts_elsewhere_is_an_article(refresh: str) -> None:
    assert isinstance(_fetched(_page_titled("Council delays the budget vote", refresh)), Article)


@pytest.mark.parametrize("content, target", [("0; https://news.example.com/new", "https://news.example.com/new"),
                                             ("3;URL=/it's-here", "https://news.example.com/it's-here")])
def test_a_meta_refresh_is_read_in_every_form_the_spec_allows(content: str, target: str) -> None:
    moved = _fetched(_page_titled("This story has a new home", f'<meta http-equiv="refresh" content="{content}">'))
    assert isinstance(moved, Rejected) and f"forwards readers to {target} (a meta refresh)" in moved.reasons[0]


def test_an_amp_copy_whose_canonical_is_the_home_page_keeps_its_own_url() -> None:
    """A template naming the home page as every AMP copy's canonical put every copy in one article."""
    amp = _page_titled("Council delays the budget vote", '<link rel="canonical" href="https://news.example.com/">')
    copy = _fetched(amp.replace(b"<html>", b"<html amp>"), "https://news.example.com/amp/council-budget")
    assert (copy.url, copy.flags) == ("https://news.example.com/amp/council-budget", [])


def test_a_headline_like_an_error_title_on_a_page_its_markup_dates_is_an_article() -> None:
    ld = '<meta property="article:published_time" content="2025-05-14T07:30:00Z">'
    assert isinstance(_fetched(_page_titled("Just a Moment", ld)), Article)
    assert isinstance(_fetched(_page_titled("Just a Moment")), Rejected)  # undated: a robot check


def test_a_title_of_punctuation_alone_is_not_taken_for_the_site_name() -> None:
    raw = _page_titled("…")
    result = clean_document(RawDocument("file:///p.html", "html", raw, sha256_hex(raw), len(raw)))
    assert not (isinstance(result, Rejected) and "only the site's name" in result.reasons[0]), result


def test_a_title_naming_the_host_is_the_site_name_and_a_word_www_is_not() -> None:
    wall = _fetched(_page_titled("www.news.example"), "https://www.news.example/2025/05/council-budget")
    assert isinstance(wall, Rejected) and "only the site's name" in wall.reasons[0]
    named = _fetched(_page_titled("WWW Conference", '<meta property="og:site_name" content="Conference">'))
    assert isinstance(named, Article), named


def test_every_flag_the_cleaner_sets_is_explained_for_analysts() -> None:
    """docs/warehouse.md's table of `articles.flags` names every flag the code can set."""
    import re

    repo = Path(__file__).resolve().parent.parent
    code = "\n".join(p.read_text(encoding="utf-8") for p in (repo / "tasks").glob("*.py"))
    set_flags = re.findall(r'flags\.append\("(\w+)"\)|flags\)? \+ \(\["(\w+)"\]|flags=\[\] if \w+ else \["(\w+)"\]', code)
    names = {a or b or c for a, b, c in set_flags} | {f"date_from_{w}" for w in ("url", "text")}
    table = (repo / "docs" / "warehouse.md").read_text(encoding="utf-8").split("| flag | meaning |", 1)[1]
    assert len(names) >= 10 and not [n for n in names if f"`{n}`" not in table]
