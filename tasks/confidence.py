"""How sure the cleaner is that an HTML page's body is its main text: a small logistic model over cheap
features of the extraction, the answer stored as `articles.extraction_confidence`.

The model estimates the probability that the body's token F1 against a human's main text is at least
`GOOD_F1`. Its weights live in `extraction_confidence.json` beside this module, written by
`bench/train_confidence.py` from the WCXB dev articles, which also prints the cross-validated figures
(docs/cleaning.md). The features take microseconds: they read the lines the cleaner already has.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from tasks.segments import Cleaned, normalize

MODEL_FILE = Path(__file__).with_name("extraction_confidence.json")
GOOD_F1 = 0.9
SENTENCE_END = tuple(".!?\"'”’)")  # how a sentence ends (also tasks/recover.py)

FEATURES = (
    "log_chars",        # log(1 + characters of the body)
    "log_lines",        # log(1 + kept lines)
    "removed_share",    # lines the segment pass removed / lines trafilatura gave
    "link_line_share",  # kept lines that are wholly the text of a link on the page
    "log_mean_line",    # log(1 + mean characters of a kept line)
    "sentence_share",   # kept lines that end like a sentence
    "short_share",      # kept lines under 40 characters
    "has_title",        # the page gave a title
)


def features(segments: list[str], cleaned: Cleaned, link_texts: frozenset[str]) -> list[float]:
    """The feature vector (`FEATURES` order) of one extraction: `segments` as extracted, `cleaned`
    after the segment pass."""
    raw = [s for s in segments if s.strip()]
    kept = [s.strip() for s in cleaned.segments if s.strip()]
    n = len(kept) or 1
    chars = sum(len(s) for s in kept)
    return [
        math.log1p(chars),
        math.log1p(len(kept)),
        len(cleaned.removed) / (len(raw) or 1),
        sum(1 for s in kept if len(s) < 200 and normalize(s) in link_texts) / n,
        math.log1p(chars / n),
        sum(1 for s in kept if s.endswith(SENTENCE_END)) / n,
        sum(1 for s in kept if len(s) < 40) / n,
        1.0 if cleaned.title else 0.0,
    ]


@lru_cache(maxsize=1)
def _model() -> tuple[list[float], list[float], list[float], float]:
    spec = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    if spec["features"] != list(FEATURES):
        raise ValueError(f"{MODEL_FILE.name} was trained on other features; run bench/train_confidence.py")
    return spec["mean"], spec["scale"], spec["weights"], spec["bias"]


def confidence(vector: list[float]) -> float:
    """P(token F1 >= GOOD_F1) for one feature vector, rounded to 3 places."""
    mean, scale, weights, bias = _model()
    z = bias + sum(w * (x - m) / s for w, x, m, s in zip(weights, vector, mean, scale))
    return round(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), 3)
