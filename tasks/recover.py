"""Article lines that trafilatura left out, taken back from a second extraction when a small model says
they belong to the article.

trafilatura sometimes keeps one block of a longer article, or drops a paragraph it judged furniture.
resiliparse's main-content extraction (its own parse of the page, ~3 ms) disagrees with it on
different pages. Every line of 10+ words of resiliparse's text, after the same rule table, that the
cleaned body lacks is a candidate. Its features are cheap (`LINE_FEATURES`, `PAGE_FEATURES`): how long
it is and whether it reads like prose, where it sits on the page against the body's lines (inside their span, before, after, how
far), how much body text and candidate prose is near it, and the page-level features of the body that
the confidence model reads. Boosted trees (`recover_lines.json` beside this module, written by
`bench/train_recover.py` from the WCXB dev articles, which prints the cross-validated figures) give
each candidate a probability; the ones at or above the file's threshold join the body in page order.
No feature names a site, a URL or a page.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tasks.confidence import SENTENCE_END
from tasks.segments import clean_segments, normalize

MODEL_FILE = Path(__file__).with_name("recover_lines.json")
_TOKEN = re.compile(r"\w+")
_PROSE_CHARS = 80
_MIN_TOKENS = 10  # shorter lines (headings, labels, calls to action) are never taken back
_WINDOW = 1500  # characters of the page's text on each side of a line, for the "near" features

LINE_FEATURES = (
    "log_tokens",       # log(1 + word tokens of the line)
    "chars",            # characters of the line
    "prose",            # 80+ characters, ending like a sentence
    "sentence_end",     # ends like a sentence
    "link_text",        # wholly the text of a link on the page
    "digit_share",      # digits / characters
    "upper_share",      # upper-case letters / characters
    "times_on_page",    # how often the line's words occur in this order in the page's visible text
    "on_page",          # found in the page's visible text
    "inside",           # between the body's first and last line on the page
    "before",           # before the body's first line
    "after",            # after the body's last line
    "distance",         # characters to the body's span / the page's characters (0 inside)
    "gap_k",            # characters to the nearest body line, in thousands (capped at 5)
    "body_near",        # share of the window around the line that is body text
    "prose_near",       # share of the window around the line that is candidate prose
    "position",         # where the line starts / the page's characters (-1: not found)
)
PAGE_FEATURES = (
    "body_prose_share",  # the body's prose lines / the page's (at most 1)
    "page_prose_lines",  # prose lines on the page
    "log_body_tokens",   # log(1 + word tokens of the body)
    "body_lines",        # lines of the body
    "log_second_tokens",  # log(1 + word tokens of resiliparse's text)
    "second_body_ratio",  # resiliparse's tokens / the body's
)
# then the body's confidence features (tasks/confidence.py FEATURES)


def token_form(text: str) -> str:
    """Lower-cased word tokens, space-separated and space-padded: substring tests on word boundaries."""
    return " " + " ".join(_TOKEN.findall(text.lower())) + " "


def is_prose(line: str) -> bool:
    """A line that reads like running text: 80+ characters, ending like a sentence."""
    return len(line) >= _PROSE_CHARS and line.rstrip().endswith(SENTENCE_END)


def _resiliparse_tree(raw: bytes | str):
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = bytes_to_str(raw, detect_encoding(raw))
    return HTMLTree.parse(raw)


def _resiliparse_lines(tree, main_content: bool) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text

    text = extract_plain_text(tree, main_content=main_content, alt_texts=False, list_bullets=False, comments=False)
    return [s for s in text.split("\n") if s.strip()]


def new_lines(lines: list[str], held: str, norms: list[str] | None = None) -> list[str]:
    """The lines of 10+ words whose word sequence `held` (a body in `token_form`) lacks, first of each.
    `norms`: the lines in `token_form`, when known."""
    out, seen = [], set()
    for line, n in zip(lines, norms or map(token_form, lines)):
        if n.count(" ") > _MIN_TOKENS and n not in held and n not in seen:
            seen.add(n)
            out.append(line)
    return out


@dataclass(slots=True)
class Candidates:
    """The lines of the second extraction that the body lacks, their feature rows (`LINE_FEATURES`,
    `PAGE_FEATURES`, then the body's confidence features), and all the page's visible lines (for the
    page order)."""

    lines: list[str]
    x: np.ndarray
    page_lines: list[str]
    page_form: str | None = None  # the page's visible text in `token_form`, when computed
    body_norms: list[str] | None = None  # the body's lines in `token_form`, when computed


def page_candidates(raw: bytes | str, body: list[str], title: str | None, link_texts: frozenset[str],
                    body_features: list[float]) -> Candidates:
    """The candidates of one HTML page. resiliparse parses the page once; its main-content lines that
    the body lacks go through the rule table (`clean_segments`), and only when some are left does it
    read all the page's visible lines for the position features."""
    held = token_form("\n".join(body))  # the whole body's word sequence
    tree = _resiliparse_tree(raw)
    main = _resiliparse_lines(tree, main_content=True)
    main_norms = [token_form(line) for line in main]
    fresh = new_lines(main, held, main_norms)
    if fresh:
        fresh = new_lines(clean_segments(fresh, title, detect_title=False, link_texts=link_texts).segments, held)
    if not fresh:
        return Candidates([], np.zeros((0, len(LINE_FEATURES) + len(PAGE_FEATURES) + len(body_features))), [])
    page_lines = _resiliparse_lines(tree, main_content=False)
    body_norms = [token_form(line) for line in body]
    second_tokens = sum(n.count(" ") - 1 for n in main_norms)
    page = token_form("\n".join(page_lines))
    x = line_features(body, body_norms, held, fresh, second_tokens, page_lines, link_texts, body_features, page)
    return Candidates(fresh, x, page_lines, page, body_norms)


def line_features(body: list[str], body_norms: list[str], held: str, lines: list[str], second_tokens: int,
                  page_lines: list[str], link_texts: frozenset[str], body_features: list[float],
                  page: str | None = None) -> np.ndarray:
    """The feature rows of the candidate `lines`. `body_norms`: the body's lines in `token_form`, `held` the
    whole body; `second_tokens`: the word tokens of the second extraction's whole text; `page_lines`:
    all the page's visible lines (`page`: their text in `token_form`, when known); `body_features`:
    tasks.confidence.features of the body."""
    page = token_form("\n".join(page_lines)) if page is None else page
    size = len(page)
    spans = []
    for n in body_norms:
        at = page.find(n) if n.strip() else -1
        if at >= 0:
            spans.append((at, at + len(n)))
    lo = min((a for a, _ in spans), default=-1)
    hi = max((b for _, b in spans), default=-1)
    norms = [token_form(line) for line in lines]
    offsets = [page.find(n) for n in norms]
    prose_spans = [(at, at + len(n)) for line, n, at in zip(lines, norms, offsets) if at >= 0 and is_prose(line)]
    body_at, body_end = np.array([a for a, _ in spans] or [0]), np.array([b for _, b in spans] or [0])
    prose_at, prose_end = np.array([a for a, _ in prose_spans] or [0]), np.array([b for _, b in prose_spans] or [0])
    page_prose = sum(map(is_prose, page_lines))
    body_tokens = held.count(" ") - 1
    page_row = [
        min(sum(map(is_prose, body)) / max(page_prose, 1), 1.0),
        page_prose,
        math.log1p(body_tokens),
        len(body),
        math.log1p(second_tokens),
        second_tokens / max(body_tokens, 1),
    ]
    rows = []
    for line, n, at in zip(lines, norms, offsets):
        end = at + len(n)
        if at < 0 or lo < 0:
            inside = before = after = 0
            distance = 1.0
        else:
            inside, before, after = int(lo <= at <= hi), int(at < lo), int(at > hi)
            distance = 0.0 if inside else min(abs(at - hi), abs(end - lo)) / size
        if at >= 0:
            width = 2 * _WINDOW + end - at
            gap = (np.minimum(np.abs(at - body_end), np.abs(body_at - end)).min() if spans else size) / 1000
            body_near = _overlap(body_at, body_end, at - _WINDOW, end + _WINDOW) / width if spans else 0.0
            prose_near = _overlap(prose_at, prose_end, at - _WINDOW, end + _WINDOW) / width
        else:
            gap, body_near, prose_near = 5.0, -1.0, -1.0
        tokens = len(n.split())
        chars = max(len(line), 1)
        rows.append([
            math.log1p(tokens), len(line), float(is_prose(line)), float(line.rstrip().endswith(SENTENCE_END)),
            float(normalize(line) in link_texts), sum(map(str.isdigit, line)) / chars,
            sum(map(str.isupper, line)) / chars, page.count(n), float(at >= 0), inside, before, after,
            distance, min(gap, 5.0), body_near, prose_near, at / size if at >= 0 else -1.0,
            *page_row, *body_features,
        ])
    return np.array(rows, dtype=float)


def _overlap(starts: np.ndarray, ends: np.ndarray, lo: int, hi: int) -> float:
    """Characters of the spans (starts[i], ends[i]) inside (lo, hi)."""
    return float(np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0, None).sum())


# ------------------------------------------------------------------------------------ the model
@dataclass(slots=True)
class Trees:
    """Boosted trees as flat arrays, every tree padded to the same depth: a leaf points to itself."""

    feature: np.ndarray    # trees x nodes
    threshold: np.ndarray  # trees x nodes: go left when x <= threshold
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray      # trees x nodes: a leaf's contribution (learning rate applied)
    depth: int
    bias: float
    threshold_p: float     # take a line at or above this probability


@lru_cache(maxsize=1)
def model() -> Trees:
    return trees_from_spec(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def model_card() -> dict:
    """What the model file says about itself: the dataset it was fit to, its pages, the threshold and
    the cross-validated figures at that threshold (no trees)."""
    spec = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in spec.items() if k != "trees"}


def trees_from_spec(spec: dict) -> Trees:
    """The model file's trees as the predictor's arrays."""
    names = spec["features"]
    if names[: len(LINE_FEATURES) + len(PAGE_FEATURES)] != list(LINE_FEATURES + PAGE_FEATURES):
        raise ValueError(f"{MODEL_FILE.name} was trained on other features; run bench/train_recover.py")
    width = max(len(t["feature"]) for t in spec["trees"])

    def pad(key: str, fill: float) -> np.ndarray:
        return np.array([t[key] + [fill] * (width - len(t[key])) for t in spec["trees"]])

    left, right = pad("left", -1).astype(int), pad("right", -1).astype(int)
    nodes = np.arange(width)[None, :].repeat(len(spec["trees"]), axis=0)
    leaf = left < 0
    left[leaf], right[leaf] = nodes[leaf], nodes[leaf]
    feature = pad("feature", 0).astype(int)
    feature[leaf] = 0
    return Trees(feature, pad("threshold", 0.0), left, right, pad("value", 0.0) * spec["learning_rate"],
                 int(spec["depth"]), float(spec["bias"]), float(spec["threshold"]))


def probabilities(x: np.ndarray, trees: Trees | None = None) -> np.ndarray:
    """P(the line belongs to the article) for each row of `x`, all trees at once."""
    trees = trees or model()
    if len(x) == 0:
        return np.zeros(0)
    x = x.astype(np.float32)  # as the trees were fit (their thresholds split float32 values)
    n_trees = trees.feature.shape[0]
    tree = np.arange(n_trees)[None, :]
    node = np.zeros((len(x), n_trees), dtype=int)
    row = np.arange(len(x))[:, None]
    for _ in range(trees.depth):
        go_left = x[row, trees.feature[tree, node]] <= trees.threshold[tree, node]
        node = np.where(go_left, trees.left[tree, node], trees.right[tree, node])
    z = trees.bias + trees.value[tree, node].sum(axis=1)
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------------ recovery
def merge(body: list[str], page_lines: list[str], added: list[str], page: str | None = None,
          body_norms: list[str] | None = None) -> list[str]:
    """The body with `added` lines put in page order: each goes before the first body line that starts
    after it on the page (body lines not found there keep their place; added lines not found go last).
    `page`: the page's lines in `token_form`, `body_norms` the body's, when known."""
    page = token_form("\n".join(page_lines)) if page is None else page
    keys, last = [], -1
    for n in body_norms or map(token_form, body):
        at = page.find(n)
        last = max(last, at)
        keys.append(last)
    out = list(body)
    inserts = sorted(((page.find(token_form(line)), i, line) for i, line in enumerate(added)),
                     key=lambda t: (t[0] < 0, t[0], t[1]))
    for shift, (at, _i, line) in enumerate(inserts):
        place = bisect_right(keys, at) if at >= 0 else len(keys)
        out.insert(place + shift, line)
    return out


def recover_page(raw: bytes | str, body: list[str], title: str | None, link_texts: frozenset[str],
                 body_features: list[float]) -> list[str]:
    """The body's lines plus the candidates the model takes, in page order."""
    found = page_candidates(raw, body, title, link_texts, body_features)
    if not found.lines:
        return body
    p = probabilities(found.x)
    added = [line for line, q in zip(found.lines, p) if q >= model().threshold_p]
    return merge(body, found.page_lines, added, found.page_form, found.body_norms) if added else body
