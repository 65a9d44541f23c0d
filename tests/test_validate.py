from datetime import datetime, timedelta, timezone

import pytest

from tasks.models import Article
from tasks.validate import validate_articles

BODY = "The council approved the budget on Tuesday after a long debate about schools. " * 5


def art(i: int, **kw) -> Article:
    base = dict(article_id=f"id{i}", document_id=f"doc{i}", source_uri=f"file:///tmp/{i}.txt",
                url=f"https://news.example.com/{i}", title="Council approves budget", body=BODY)
    base.update(kw)
    return Article(**base)


@pytest.mark.slow
def test_suite_splits_valid_and_rejected_with_reasons():
    future = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    past = (datetime.now(timezone.utc) - timedelta(days=3)).isoformat()
    batch = [
        art(0, published_at=past),
        art(1, body="Too short."),
        art(2, title="x" * 400),
        art(3, url="not a url"),
        art(4, published_at=future),
        art(5, article_id="dup"),
        art(6, article_id="dup"),
        art(7, body=BODY + "\n\nAlso Read: Ten things about the budget"),
        art(8, title=None),  # a missing title is flagged, not rejected
        art(9, url="HTTPS://news.example.com/9", source_uri="Http://news.example.com/9"),  # schemes ignore case
    ]
    result = validate_articles(batch)
    assert [a.article_id for a in result.valid] == ["id0", "id8", "id9"]
    reasons = {r.document_id: " ".join(r.reasons) for r in result.rejected}
    assert "values_to_be_between(body_size): body has 10 characters" in reasons["doc1"]
    assert "values_to_be_between(title_size): title has 400 characters" in reasons["doc2"]
    assert "match_regex(url)" in reasons["doc3"]
    assert "to_be_between(published_age_s)" in reasons["doc4"]
    assert "unique(article_id)" in reasons["doc5"] and "unique(article_id)" in reasons["doc6"]
    assert "to_be_null(boilerplate_left)" in reasons["doc7"]
    assert "rule teaser: Also Read: Ten things" in reasons["doc7"]
    assert result.per_expectation["expect_column_values_to_be_unique(article_id)"] == (8, 2)


@pytest.mark.slow
def test_data_docs_never_hold_an_articles_text(tmp_path):
    """GX's Data Docs put the unexpected values of a failed expectation into their HTML unescaped: an
    article quoting "<script>" that failed the body check ran that script in the operator's browser."""
    from tasks.validate import build_data_docs

    hostile = "Too short. <script>alert('quarantined body')</script> <img src=x onerror=alert(1)>"
    result = validate_articles([art(0), art(1, body=hostile), art(2, title="<script>alert('title')</script>" * 20)],
                               run_name="data-docs-escape")
    assert [a.article_id for a in result.valid] == ["id0"]
    assert {r.document_id for r in result.rejected} == {"doc1", "doc2"}
    index = build_data_docs(tmp_path / "docs")
    assert index is not None
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "docs").rglob("*.html")]
    assert any("data-docs-escape" in page for page in pages)  # the run's validation page is there
    assert not any("alert(" in page or "onerror" in page for page in pages)


def _page(published_time: str, url: str = "https://news.example.com/world/story") -> bytes:
    return (f'<html><head><title>Council approves budget</title>'
            f'<meta property="article:published_time" content="{published_time}">'
            f'<link rel="canonical" href="{url}"></head><body><article><h1>Council approves budget</h1>'
            + "".join(f"<p>{BODY} Paragraph {i}.</p>" for i in range(3)) + "</article></body></html>").encode()


@pytest.mark.slow
def test_a_page_published_minutes_ago_east_of_utc_keeps_its_time_and_is_not_in_the_future():
    """A page stamped 11:05+14:00 on the next day (Kiribati) 30 minutes ago was read as that day at
    midnight UTC, hours ahead, and quarantined as in the future; so were Tokyo's after 15:00 UTC."""
    from tasks.clean import clean_document
    from tasks.models import RawDocument, sha256_hex

    now = datetime.now(timezone.utc).replace(microsecond=0)
    then = now - timedelta(minutes=30)
    docs = []
    for i, hours in enumerate((14, 9, 5.75, 0, -10)):
        stamp = then.astimezone(timezone(timedelta(hours=hours))).isoformat()
        local_day = stamp[:10].replace("-", "/")  # a URL with the publisher's day: the stamp still wins
        raw = _page(stamp, f"https://news.example.com/{local_day}/story-{i}")
        docs.append(RawDocument(f"file:///tmp/{i}.html", "html", raw, sha256_hex(raw), len(raw)))
    articles = [clean_document(d) for d in docs]
    assert [datetime.fromisoformat(a.published_at) for a in articles] == [then] * 5
    result = validate_articles(articles, now=now)
    assert len(result.valid) == 5 and not result.rejected


@pytest.mark.slow
def test_a_day_without_a_time_is_in_the_future_only_once_it_has_begun_nowhere():
    now = datetime(2026, 12, 5, 21, 30, tzinfo=timezone.utc)  # 11:30 on 6 December at UTC+14
    batch = [art(0, published_at="2026-12-06T00:00:00+00:00"),  # today in Kiribati
             art(1, published_at="2026-12-07T00:00:00+00:00"),  # begins nowhere for 12.5 hours
             art(2, published_at="2026-12-05T23:00:00+00:00")]  # a stated time: 1.5 hours ahead
    result = validate_articles(batch + [art(3, published_at="2026-12-07T00:00:00+00:00", body="Too short."),
                                        art(4, published_at="2567-03-12T10:00:00+07:00")], now=now)
    assert [a.article_id for a in result.valid] == ["id0"]
    # when each would pass, so the first run after that cleans it again; not one that is too short too,
    # nor one dated past next year (a Thai Buddhist-era year: 2567 is 2024), which waited 541 years
    assert {r.document_id: r.retry_at for r in result.rejected} == {
        "doc1": datetime(2026, 12, 6, 9, tzinfo=timezone.utc),  # its day begins at UTC+14, an hour allowed
        "doc2": datetime(2026, 12, 5, 22, tzinfo=timezone.utc), "doc3": None, "doc4": None}
    assert "more than a year in the future" in result.rejected[-1].reasons[0]


@pytest.mark.slow
def test_a_short_brief_in_chinese_japanese_or_korean_is_measured_as_the_english_would_be():
    """A 96-character Chinese news flash (what ~250 English characters say) and its four-character
    headline, or a 120-character Korean one (26 words), were quarantined as too short, while the same
    brief in English loaded."""
    brief = ("【快讯】据中国地震台网正式测定，今天凌晨三时十二分在四川省甘孜州泸定县发生五点二级地震，震源深度十公里。"
             "当地应急管理部门表示，目前暂无人员伤亡报告，交通和通信正常，相关部门正在进一步核查灾情。")
    korean = ("한국은행은 12일 기준금리를 연 3.5%로 동결했다. 물가 상승률이 둔화하고 있지만 가계부채 증가세가 여전히 크다는 "
              "판단이다. 이창용 총재는 하반기 인하 가능성을 열어두면서도 부동산 시장을 면밀히 살피겠다고 밝혔다.")
    batch = [art(0, title="春运启动", body=brief), art(1, body="短讯。" * 20), art(2, body="Too short. " * 10),
             art(3, title="한국은행, 기준금리 동결", body=korean), art(4, body="속보입니다. " * 10)]
    result = validate_articles(batch)
    assert [a.article_id for a in result.valid] == ["id0", "id3"]
    reasons = {r.document_id: " ".join(r.reasons) for r in result.rejected}
    assert "body has 60 characters (counted as 140: Chinese, Japanese and Thai count three, Korean two)" in reasons["doc1"]
    assert "body has 70 characters (counted as 120: " in reasons["doc4"]
    assert "body has 110 characters" in reasons["doc2"] and "counted as" not in reasons["doc2"]


@pytest.mark.slow
def test_the_expectation_names_the_schema_gives_as_examples_are_those_runs_record(tmp_path):
    """validation_results.expectation's comment gave a name no run records, so filtering on it found nothing."""
    import re

    from tasks import load as L

    con = L.connect(tmp_path / "w.duckdb")
    (comment,) = con.execute("select comment from duckdb_columns() where table_name = 'validation_results' "
                             "and column_name = 'expectation'").fetchone()
    con.close()
    examples = re.findall(r"expect_\w+\(\w*\)", comment)
    assert examples and set(examples) <= set(validate_articles([art(0)]).per_expectation)
