"""Line recovery (tasks/recover.py): the shipped trees and their predictor, the page order of taken-back
lines, which lines are candidates at all, hostile input, and the whole step on real pages with ground
truth."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tasks.clean import clean_document, clean_segments, read_document
from tasks.confidence import FEATURES as BODY_FEATURES
from tasks.evaluate import token_prf
from tasks.models import Article, RawDocument, sha256_hex
from tasks.recover import (LINE_FEATURES, MODEL_FILE, PAGE_FEATURES, merge, model, model_card, new_lines,
                           page_candidates, probabilities, token_form, trees_from_spec)

WCXB = Path(__file__).parent / "data" / "wcxb"
LONG = "This sentence of the article runs on long enough to count as a line of prose for the model."


def test_the_shipped_model_is_for_these_features() -> None:
    spec = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert spec["features"] == list(LINE_FEATURES + PAGE_FEATURES + BODY_FEATURES)
    trees = model()
    assert trees.feature.shape[0] == spec["params"]["n_estimators"]
    assert int(trees.feature.max()) < len(spec["features"])
    assert 0.5 <= trees.threshold_p < 1.0
    card = model_card()
    assert "trees" not in card and card["pages"] == len(card["page_hashes"]) > 100
    assert card["cv"]["f1"] > card["cv"]["f1_without_recovery"]


def test_the_predictor_walks_each_tree_to_its_leaf() -> None:
    """Two hand-made trees of different depths; the probability is the logistic of the bias plus the
    learning rate times the leaves reached."""
    spec = {"features": list(LINE_FEATURES + PAGE_FEATURES), "threshold": 0.8, "learning_rate": 0.5,
            "depth": 2, "bias": -0.25,
            "trees": [
                # x0 <= 1 ? (x1 <= 5 ? 1.0 : 2.0) : -3.0
                {"feature": [0, 1, -2, -2, -2], "threshold": [1.0, 5.0, -2, -2, -2], "left": [1, 2, -1, -1, -1],
                 "right": [4, 3, -1, -1, -1], "value": [0, 0, 1.0, 2.0, -3.0]},
                # x2 <= 0.5 ? 0.4 : -0.4
                {"feature": [2, -2, -2], "threshold": [0.5, -2, -2], "left": [1, -1, -1], "right": [2, -1, -1],
                 "value": [0, 0.4, -0.4]}]}
    x = np.zeros((4, len(spec["features"])))
    x[0, :3] = (0, 4, 0)   # 1.0 + 0.4
    x[1, :3] = (0, 6, 1)   # 2.0 - 0.4
    x[2, :3] = (2, 0, 0)   # -3.0 + 0.4
    x[3, :3] = (1, 5, 0.5)  # ties go left: 1.0 + 0.4
    expected = [1 / (1 + math.exp(-(-0.25 + 0.5 * z))) for z in (1.4, 1.6, -2.6, 1.4)]
    assert probabilities(x, trees_from_spec(spec)).tolist() == pytest.approx(expected)
    assert probabilities(np.zeros((0, len(spec["features"]))), trees_from_spec(spec)).shape == (0,)


def test_taken_lines_go_in_page_order() -> None:
    page = ["Intro " + LONG, "Middle " + LONG, "Body two " + LONG, "After " + LONG, "Menu"]
    body = [page[0], page[2]]
    assert merge(body, page, [page[3], page[1]]) == page[:4]
    # a body line the page text lacks keeps its place; a taken line the page lacks goes last
    assert merge(["Not on the page at all", page[2]], page, ["Nowhere " + LONG, page[1]]) == \
        ["Not on the page at all", page[1], page[2], "Nowhere " + LONG]


def test_candidates_are_new_long_lines_once() -> None:
    held = token_form("A short line\n" + LONG)
    lines = [LONG, "A short line that is new", "Another " + LONG, "another " + LONG.upper(), "Third " + LONG]
    assert new_lines(lines, held) == ["Another " + LONG, "Third " + LONG]


@pytest.mark.parametrize("raw", [
    b"", b"\x00\x01\x02binary", b"<<<>>>" * 100, "<p>caf\u00e9 as str</p>",
    "<html><body><p>caf\u00e9 in Latin-1, not UTF-8</p></body></html>".encode("latin-1"),
    gzip.compress(b"<html><body><p>gzip</p></body></html>"),
    b"<html><body>" + b"<div><p>" * 3000 + b"deep " * 50 + b"</p></div>" * 3000 + b"</body></html>",
])
def test_hostile_pages_give_candidates_or_none(raw: bytes | str) -> None:
    found = page_candidates(raw, ["A line of the body."], None, frozenset(), [0.0] * len(BODY_FEATURES))
    assert len(found.lines) == len(found.x)
    if found.lines:
        assert found.x.shape[1] == len(LINE_FEATURES + PAGE_FEATURES + BODY_FEATURES)


def _gold(page: Path) -> str:
    return json.loads((WCXB / "ground-truth" / f"{page.name.split('.')[0]}.json").read_text())["ground_truth"][
        "main_content"]


def test_recovery_adds_article_text_on_real_pages() -> None:
    """On the bundled WCXB pages (among the model's training pages: this checks the wiring, the
    cross-validated figures are bench/train_recover.py's), the pages where lines were taken back score a
    higher F1 against their ground truth than trafilatura's cleaned body alone, in page order."""
    with_f1, without_f1, recovered = [], [], 0
    for path in sorted((WCXB / "html").glob("*.html.gz")):
        raw = gzip.decompress(path.read_bytes())
        doc = RawDocument(f"file:///{path.name}", "html", raw, sha256_hex(raw), len(raw))
        article = clean_document(doc)
        assert isinstance(article, Article), path.name
        source = read_document(doc)
        alone = clean_segments(source.segments, source.page.title, detect_title=False,
                               link_texts=source.page.link_texts)
        if article.body == alone.body:
            assert not article.extraction.endswith("+resiliparse"), path.name
            continue
        recovered += 1
        assert article.extraction.endswith("+resiliparse"), path.name
        kept = [line for line in article.body.split("\n\n") if line in alone.segments]
        assert kept == alone.segments, path.name  # nothing dropped, the body's own order kept
        gold = _gold(path)
        with_f1.append(token_prf(article.body, gold)[2])
        without_f1.append(token_prf(alone.body, gold)[2])
    assert recovered >= 3
    assert sum(with_f1) > sum(without_f1)


def test_a_failing_second_extraction_keeps_trafilaturas_body(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.clean

    raw = gzip.decompress(sorted((WCXB / "html").glob("*.html.gz"))[0].read_bytes())
    doc = RawDocument("file:///page.html", "html", raw, sha256_hex(raw), len(raw))
    source = read_document(doc)
    alone = clean_segments(source.segments, source.page.title, detect_title=False, link_texts=source.page.link_texts)

    def broken(*args, **kwargs):
        raise RuntimeError("resiliparse fell over")

    monkeypatch.setattr(tasks.clean, "recover_page", broken)
    article = clean_document(doc)
    assert isinstance(article, Article)
    assert article.body == alone.body and "recovery_failed" in article.flags
    assert not article.extraction.endswith("+resiliparse")
