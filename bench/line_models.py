"""Measure, cross-validated, two extensions of line recovery (tasks/recover.py) that were not adopted:

- *drop*: a second model over the body's own lines, dropping those it judges not the article's. Its
  features (`BODY_LINE_FEATURES` here): the line's form (length, prose, list item, table row, heading,
  link text, digits, capitals, colons), its place in the body, how much of it (word trigrams) and of its
  neighbours resiliparse's main text holds. Label: under half of its word trigrams are in the main text.
- *page candidates* (`--candidates page`): take-back candidates from all of the page's visible lines,
  with "in resiliparse's main text" as one more feature, instead of resiliparse's main text only.

`--fast-gate N` sets `tasks.extract.FAST_TEXT_MIN_CHARS` (0: trafilatura's fast pass on every page
without a run-together block). For every pair of thresholds (take back, drop) the script prints what
`newsflow eval` would report, out of fold: K folds grouped by host, several seeds of the split, the
same trees as bench/train_recover.py. It writes no model file. Usage:

    OMP_NUM_THREADS=1 .venv/bin/python bench/line_models.py ../shared/datasets/wcxb-dev-articles \\
        [--candidates main|page] [--fast-gate 1500] [--seeds 3] [--workers 2]   # ~20 min for 3 seeds
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.confidence import SENTENCE_END  # noqa: E402
from tasks.evaluate import Page, _norm, find_pages  # noqa: E402
from tasks.recover import is_prose, token_form  # noqa: E402
from tasks.segments import normalize  # noqa: E402
from train_confidence import cleaned_page, host_folds  # noqa: E402
from train_recover import _label, fit, outcome  # noqa: E402

TAKE = (0.5, 0.6, 0.7, 0.8, 0.9)
DROP = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: drop nothing
OFF_TEXT = 0.5
BODY_LINE_FEATURES = (
    "log_tokens", "chars", "prose", "sentence_end", "link_text", "digit_share", "upper_share", "list_item",
    "table_row", "heading_like", "rel_index", "from_start", "from_end", "chars_before", "in_main", "main_cover",
    "prev_in_main", "next_in_main", "prev_cover", "next_cover", "prev_prose", "next_prose", "non_prose_run",
    "colons", "ends_colon",
    # the page's: body tokens, body lines, resiliparse's tokens, their ratio, the body's prose share
    "log_body_tokens", "body_lines", "log_second_tokens", "second_body_ratio", "prose_line_share",
)  # then the body's confidence features


def trigrams(form: str) -> set[tuple[str, ...]]:
    tokens = form.split()
    return set(zip(tokens, tokens[1:], tokens[2:]))


def cover(tokens: list[str], grams: set[tuple[str, ...]], form: str) -> float:
    """Share of the line's word trigrams in a text (under 3 words: the words in this order, or not)."""
    if len(tokens) < 3:
        return float(" " + " ".join(tokens) + " " in form) if tokens else 1.0
    own = [tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)]
    return sum(g in grams for g in own) / len(own)


def body_line_rows(body: list[str], main_form: str, link_texts: frozenset[str], body_features: list[float]) -> np.ndarray:
    n = len(body)
    forms = [token_form(line) for line in body]
    tokens = [form.split() for form in forms]
    grams = trigrams(main_form)
    covered = [cover(t, grams, main_form) for t in tokens]
    in_main = [float(form in main_form) if t else 1.0 for form, t in zip(forms, tokens)]
    prose = [is_prose(line) for line in body]
    total, body_tokens, second_tokens = max(sum(map(len, body)), 1), sum(map(len, tokens)), main_form.count(" ") - 1
    page = [math.log1p(body_tokens), n, math.log1p(second_tokens), second_tokens / max(body_tokens, 1), sum(prose) / max(n, 1)]
    runs, start = [0] * n, 0
    for i in range(n + 1):
        if i == n or prose[i]:
            for j in range(start, i):
                runs[j] = i - start
            start = i + 1
    rows, before = [], 0
    for i, line in enumerate(body):
        chars, stripped = max(len(line), 1), line.strip()
        ends = stripped.endswith(SENTENCE_END)
        first, last = i == 0, i == n - 1
        rows.append([
            math.log1p(len(tokens[i])), len(line), float(prose[i]), float(ends), float(normalize(line) in link_texts),
            sum(c.isdigit() for c in line) / chars, sum(c.isupper() for c in line) / chars,
            float(stripped.startswith(("- ", "* ", "• "))), float(stripped.startswith("|")),
            float(len(tokens[i]) < 10 and not ends), i / max(n - 1, 1), min(i, 30), min(n - 1 - i, 30), before / total,
            in_main[i], covered[i], -1.0 if first else in_main[i - 1], -1.0 if last else in_main[i + 1],
            -1.0 if first else covered[i - 1], -1.0 if last else covered[i + 1],
            -1.0 if first else float(prose[i - 1]), -1.0 if last else float(prose[i + 1]),
            min(runs[i], 30), 100 * line.count(":") / chars, float(stripped.endswith(":")), *page, *body_features,
        ])
        before += len(line)
    return np.array(rows, dtype=float).reshape(n, len(BODY_LINE_FEATURES) + len(body_features))


def page_candidates_all(body: list[str], title: str | None, link_texts: frozenset[str],
                        body_features: list[float], tree, main_form: str):
    """Take-back candidates from all the page's visible lines, plus an "in resiliparse's main text" feature."""
    from tasks.recover import Candidates, _resiliparse_lines, line_features, new_lines
    from tasks.segments import clean_segments

    body_norms = [token_form(line) for line in body]
    held = " " + " ".join(n.strip() for n in body_norms if n.strip()) + " "
    page_lines = _resiliparse_lines(tree, main_content=False)
    fresh = new_lines(page_lines, held)
    if fresh:
        fresh = new_lines(clean_segments(fresh, title, detect_title=False, link_texts=link_texts).segments, held)
    if not fresh:
        return Candidates([], np.zeros((0, 0)), [])
    x = line_features(body, body_norms, held, fresh, main_form.count(" ") - 1, page_lines, link_texts, body_features)
    return Candidates(fresh, np.hstack([x, [[float(token_form(line) in main_form)] for line in fresh]]), page_lines)


def page_row(page: Page, candidates: str) -> dict | None:
    from tasks.confidence import features
    from tasks.recover import _resiliparse_lines, _resiliparse_tree, page_candidates

    read = cleaned_page(page)
    if read is None:
        return None
    _raw, truth, host, source, cleaned = read
    links, body = source.page.link_texts, cleaned.segments
    body_features = features(source.segments, cleaned, links)
    tree = _resiliparse_tree(source.html)
    main_form = token_form("\n".join(_resiliparse_lines(tree, main_content=True)))
    if candidates == "page":
        found = page_candidates_all(body, cleaned.title, links, body_features, tree, main_form)
    else:
        found = page_candidates(source.html, body, cleaned.title, links, body_features)
    gold = truth["main_content"]
    gold_norm, gold_form = _norm(gold), token_form(gold)
    without = [w for w in truth.get("without") or [] if _norm(w).strip()]
    gold_grams = trigrams(gold_form)
    off = [cover(token_form(line).split(), gold_grams, gold_form) < OFF_TEXT for line in body]
    return {"host": host, "body": body, "lines": found.lines, "x": found.x, "gold": gold, "without": without,
            "y": np.array([_label(s, gold_norm, without) for s in found.lines], dtype=int),
            "drop_x": body_line_rows(body, main_form, links, body_features), "drop_y": np.array(off, dtype=int)}


def _gate(value: int) -> None:
    import tasks.extract

    tasks.extract.FAST_TEXT_MIN_CHARS = value


def rejected(p: np.ndarray, threshold: float) -> list[int]:
    """The lines at or above the threshold; none when that is every line (a body is never dropped whole)."""
    out = [i for i, q in enumerate(p) if q >= threshold]
    return [] if len(out) == len(p) else out


def outcome_both(rows: list[dict], taken: list[np.ndarray], dropped: list[list[int]]) -> tuple[float, float, int]:
    """`train_recover.outcome` with the dropped body lines removed first."""
    trimmed = []
    for row, drop in zip(rows, dropped):
        gone = set(drop)
        trimmed.append({**row, "body": [s for i, s in enumerate(row["body"]) if i not in gone]})
    return outcome(trimmed, taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--candidates", choices=("main", "page"), default="main",
                        help="take-back candidates from resiliparse's main text (as shipped) or the whole page")
    parser.add_argument("--fast-gate", type=int, default=None, help="tasks.extract.FAST_TEXT_MIN_CHARS for this run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    gate = partial(_gate, args.fast_gate) if args.fast_gate is not None else None
    with ProcessPoolExecutor(args.workers, initializer=gate) as pool:
        rows = [r for r in pool.map(partial(page_row, candidates=args.candidates), find_pages(args.dataset), chunksize=8)
                if r is not None]
    print(f"{len(rows)} pages, {sum(len(r['body']) for r in rows)} body lines, "
          f"{sum(len(r['lines']) for r in rows)} candidates ({time.perf_counter() - started:.0f} s)")
    take_rows = [r for r in rows if len(r["lines"])]
    x, y = np.vstack([r["x"] for r in take_rows]), np.concatenate([r["y"] for r in take_rows])
    page_of = np.concatenate([[i] * len(r["lines"]) for i, r in enumerate(rows)]).astype(int)
    dx = np.vstack([r["drop_x"] for r in rows if len(r["body"])])
    dy = np.concatenate([r["drop_y"] for r in rows if len(r["body"])])
    drop_of = np.concatenate([[i] * len(r["body"]) for i, r in enumerate(rows)]).astype(int)
    hosts = [r["host"] for r in rows]

    def split(take: np.ndarray) -> list[np.ndarray]:
        return [take[page_of == i] for i in range(len(rows))]

    def drops(p: np.ndarray, threshold: float) -> list[list[int]]:
        return [rejected(p[drop_of == i], threshold) for i in range(len(rows))]

    def line(name: str, o: tuple[float, float, int]) -> str:
        return f"{name:34} F1 {o[0]:.4f}, without left {100 * o[1]:.2f}%, boilerplate pages {o[2]:.1f}"

    none, keep_all = split(np.zeros(len(y), dtype=bool)), [[] for _ in rows]
    print(line("body alone:", outcome_both(rows, none, keep_all)))
    print(line("oracle take-back:", outcome_both(rows, split(y.astype(bool)), keep_all)))
    print(line("oracle drop:", outcome_both(rows, none, drops(dy.astype(float), 0.5))))
    results: dict[tuple[float, float], list] = {}
    for seed in range(args.seeds):
        p, q = np.zeros(len(y)), np.zeros(len(dy))
        fold, drop_fold = (host_folds(hosts, args.folds, seed)[of] for of in (page_of, drop_of))
        for k in range(args.folds):
            p[fold == k] = fit(x[fold != k], y[fold != k], seed).predict_proba(x[fold == k])[:, 1]
            q[drop_fold == k] = fit(dx[drop_fold != k], dy[drop_fold != k], seed).predict_proba(dx[drop_fold == k])[:, 1]
        for t in TAKE:
            for d in DROP:
                results.setdefault((t, d), []).append(outcome_both(rows, split(p >= t), drops(q, d)))
    print(f"out of fold ({args.folds} folds grouped by host, mean of {args.seeds} seeds, F1 range):")
    for (t, d), rs in results.items():
        f1s = [r[0] for r in rs]
        mean = (float(np.mean(f1s)), float(np.mean([r[1] for r in rs])), float(np.mean([r[2] for r in rs])))
        print(line(f"  take p >= {t:.1f}, drop p >= {d:.2f}:", mean) + f"  ({min(f1s):.4f}-{max(f1s):.4f})")


if __name__ == "__main__":
    main()
