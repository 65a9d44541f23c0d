"""The extraction confidence: the shipped model matches the features, and it ranks a page whose body is
story text above one whose extraction is a short list of link texts."""

from __future__ import annotations

import json

from tasks.clean import clean_document
from tasks.confidence import FEATURES, MODEL_FILE
from tasks.models import Article, RawDocument, sha256_hex


def _article(body_html: str) -> Article:
    raw = (f"<html><head><title>A headline for the test page</title></head><body><article>"
           f"<h1>A headline for the test page</h1>{body_html}</article></body></html>").encode()
    result = clean_document(RawDocument("file:///t.html", "html", raw, sha256_hex(raw), len(raw)))
    assert isinstance(result, Article)
    return result


def test_the_shipped_model_is_for_these_features() -> None:
    spec = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert spec["features"] == list(FEATURES)
    assert len(spec["weights"]) == len(spec["mean"]) == len(spec["scale"]) == len(FEATURES)


def test_story_text_is_trusted_more_than_link_texts() -> None:
    story = _article("".join(
        f"<p>Paragraph {i} of the story tells the reader what happened in the town council on Monday, "
        f"who said what about the new budget, and why the vote was postponed until next month.</p>"
        for i in range(12)))
    links = _article("<ul>" + "".join(f'<li><a href="/s/{i}">Section {i}</a></li>' for i in range(12))
                     + "</ul><p>Short note.</p>")
    assert story.extraction.startswith("trafilatura") and links.extraction.startswith("trafilatura")
    assert 0.0 <= links.extraction_confidence < story.extraction_confidence <= 1.0
