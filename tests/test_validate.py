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
    ]
    result = validate_articles(batch)
    assert [a.article_id for a in result.valid] == ["id0", "id8"]
    reasons = {r.document_id: " ".join(r.reasons) for r in result.rejected}
    assert "value_lengths_to_be_between(body)" in reasons["doc1"]
    assert "value_lengths_to_be_between(title)" in reasons["doc2"]
    assert "match_regex(url)" in reasons["doc3"]
    assert "to_be_between(published_age_s)" in reasons["doc4"]
    assert "unique(article_id)" in reasons["doc5"] and "unique(article_id)" in reasons["doc6"]
    assert "to_be_null(boilerplate_left)" in reasons["doc7"]
    assert "rule teaser: Also Read: Ten things" in reasons["doc7"]
    assert result.per_expectation["expect_column_values_to_be_unique(article_id)"] == (7, 2)


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
