"""Measure, cross-validated, a learned cut of the body's tail (not adopted).

After line recovery (tasks/recover.py), much of what the cleaner keeps that the ground truth leaves out
is a run of lines at the body's end: teasers of other articles, an FAQ, "Read this next". Cutting each
body right after its last line of main text would raise the mean F1 of the dev pages by ~0.01, so this
script asks whether boosted trees can find that point.

A candidate cut is every body line from the second on whose suffix holds at most 70% of the body's
words. Its label: the suffix holds no line of 5+ words that is in the main text. Its features (`FEATURES`):
the line's form (words, heading-like, ends with ":" or "?", a link's text, a furniture keyword such as
"related", "read next", "FAQ", "comments" in a short line, in resiliparse's main text), the line before
it, the suffix's share of the body and its make-up (link texts, prose, questions, headings, words in
resiliparse's main text), the same for the prefix, and the body's confidence features. No feature names
a site, a URL or a page. A body is cut at its first candidate from which on every candidate's
probability is at or above the threshold.

Everything is out of fold: K folds grouped by host and several seeds of the split, as
bench/train_recover.py; with each seed the recovery model is fit out of fold too, so the body cut is
the one `newsflow eval` would score cross-validated. Printed per threshold: what `newsflow eval` would
report (mean token F1, `without` snippets left, pages with a boilerplate line), next to the body
without a cut and the oracle cut. It writes no model file. Usage:

    OMP_NUM_THREADS=1 .venv/bin/python bench/tail_cut.py ../shared/datasets/wcxb-dev-articles [--seeds 3]
"""

from __future__ import annotations

import math
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.confidence import SENTENCE_END  # noqa: E402
from tasks.evaluate import Page  # noqa: E402
from tasks.recover import is_prose, merge, token_form  # noqa: E402
from tasks.segments import normalize  # noqa: E402
from train_confidence import host_folds  # noqa: E402
from train_recover import candidate_arrays, cv_parser, fit, out_of_fold, outcome, read_rows, row_of  # noqa: E402

THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)
RECOVERY_THRESHOLD = 0.8  # as shipped (tasks/recover_lines.json)
MAX_SUFFIX_SHARE = 0.7
MIN_GOLD_WORDS = 5
FURNITURE = re.compile(
    r"\b(related|read (this|next|more|also)|more (from|stories|articles|posts|on|in)|you (may|might|will) "
    r"(also )?(like|enjoy|be interested)|recommended|popular|latest|trending|frequently asked|faqs?|questions|"
    r"about the author|comments?|leave a (reply|comment)|share|newsletter|subscribe|tags?|categor(y|ies)|"
    r"recent posts|see also|further reading|references|sources|more like this|keep reading|next post|"
    r"previous post)\b", re.I)
FEATURES = (
    "log_words", "heading_like", "ends_colon", "question", "link_text", "furniture_word", "in_main",
    "prev_prose", "prev_sentence_end", "prev_link_text",
    "suffix_share", "log_suffix_words", "suffix_lines", "suffix_link_texts", "suffix_prose", "suffix_questions",
    "suffix_in_main", "suffix_words_per_line", "suffix_headings",
    "prefix_in_main", "prefix_prose", "prefix_link_texts", "at",
    "log_body_words", "body_lines",
)  # then the body's confidence features


def page_row(page: Page) -> dict | None:
    """`train_recover.row_of` plus what the cut needs: the page's visible lines and resiliparse's main text."""
    from tasks.recover import _resiliparse_lines, _resiliparse_tree
    from train_confidence import cleaned_page

    read = cleaned_page(page)
    if read is None:
        return None
    row = row_of(page, read)
    source = read[3]
    tree = _resiliparse_tree(source.html)
    row.update(page_lines=_resiliparse_lines(tree, main_content=False), links=source.page.link_texts,
               main_form=token_form("\n".join(_resiliparse_lines(tree, main_content=True))))
    return row


def suffix_sums(values: list[float]) -> list[float]:
    out = [0.0] * (len(values) + 1)
    for i in range(len(values) - 1, -1, -1):
        out[i] = out[i + 1] + values[i]
    return out


def cut_candidates(body: list[str], main_form: str, links: frozenset[str], body_features: list[float]):
    """(feature rows, the body index of each candidate cut)."""
    n = len(body)
    forms = [token_form(line) for line in body]
    words = [max(f.count(" ") - 1, 0) for f in forms]
    total = max(sum(words), 1)
    in_main = [float(f in main_form) if w else 1.0 for f, w in zip(forms, words)]
    link = [float(normalize(line) in links) for line in body]
    prose = [float(is_prose(line)) for line in body]
    question = [float(line.rstrip().endswith("?")) for line in body]
    ends = [float(line.rstrip().endswith(SENTENCE_END)) for line in body]
    heading = [float(w < 10 and not e) for w, e in zip(words, ends)]
    s_words, s_lines = suffix_sums([float(w) for w in words]), suffix_sums([1.0] * n)
    s_main = suffix_sums([m * w for m, w in zip(in_main, words)])
    s_link, s_prose, s_question, s_heading = (suffix_sums(v) for v in (link, prose, question, heading))
    page = [math.log1p(total), n, *body_features]
    rows, at = [], []
    for i in range(1, n):
        sw, sl = s_words[i], s_lines[i]
        if sw / total > MAX_SUFFIX_SHARE:
            continue
        pw = total - sw
        rows.append([
            math.log1p(words[i]), heading[i], float(body[i].rstrip().endswith(":")), question[i], link[i],
            float(words[i] < 12 and bool(FURNITURE.search(body[i]))), in_main[i],
            prose[i - 1], ends[i - 1], link[i - 1],
            sw / total, math.log1p(sw), min(sl, 60), s_link[i] / sl, s_prose[i] / sl, s_question[i] / sl,
            s_main[i] / max(sw, 1), sw / sl, s_heading[i] / sl,
            (s_main[0] - s_main[i]) / max(pw, 1), (s_prose[0] - s_prose[i]) / i, (s_link[0] - s_link[i]) / i,
            i / n, *page])
        at.append(i)
    return np.array(rows, dtype=float).reshape(len(rows), len(FEATURES) + len(body_features)), at


def cut_labels(body: list[str], at: list[int], gold_form: str) -> np.ndarray:
    """1 where the suffix from that line on holds no line of MIN_GOLD_WORDS+ words of the main text."""
    gold = [f.count(" ") - 1 >= MIN_GOLD_WORDS and f in gold_form for f in map(token_form, body)]
    clear = suffix_sums([float(g) for g in gold])
    return np.array([int(clear[i] == 0) for i in at])


def cut_at(at: list[int], p: np.ndarray, threshold: float) -> int | None:
    """The first candidate from which on every candidate is at or above the threshold."""
    first = None
    for i, q in zip(reversed(at), p[::-1]):
        if q < threshold:
            break
        first = i
    return first


def main() -> None:
    args = cv_parser(__doc__).parse_args()
    started = time.perf_counter()
    rows = read_rows(args.dataset, args.workers, page_row)
    print(f"{len(rows)} pages read ({time.perf_counter() - started:.0f} s)")
    x, y, page_of = candidate_arrays(rows)
    hosts = [r["host"] for r in rows]
    no_lines = [np.zeros(0, dtype=bool)] * len(rows)

    def scored(bodies: list[list[str]]) -> tuple[float, float, float]:
        return outcome([{**r, "body": b, "lines": []} for r, b in zip(rows, bodies)], no_lines)

    def line(name: str, o: tuple[float, float, float]) -> str:
        return f"{name:30} F1 {o[0]:.4f}, without left {100 * o[1]:.2f}%, boilerplate pages {o[2]:.1f}"

    results: dict[float, list] = {t: [] for t in THRESHOLDS}
    for seed in range(args.seeds):
        folds = host_folds(hosts, args.folds, seed)
        p = out_of_fold(x, y, folds[page_of], args.folds, seed)
        bodies = []
        for r, ps in zip(rows, np.split(p, np.cumsum([len(r["lines"]) for r in rows])[:-1])):
            added = [s for s, q in zip(r["lines"], ps) if q >= RECOVERY_THRESHOLD]
            bodies.append(merge(r["body"], r["page_lines"], added) if added else r["body"])
        cands = [cut_candidates(b, r["main_form"], r["links"], r["body_features"]) for b, r in zip(bodies, rows)]
        labels = [cut_labels(b, at, token_form(r["gold"])) for b, (_, at), r in zip(bodies, cands, rows)]
        cx = np.vstack([c[0] for c in cands])
        cy = np.concatenate(labels)
        cut_of = np.concatenate([[i] * len(at) for i, (_, at) in enumerate(cands)]).astype(int)
        base = scored(bodies)
        print(line(f"seed {seed}: recovered body:", base))
        oracle = [b[:cut_at(at, lab.astype(float), 0.5) or len(b)] for b, (_, at), lab in zip(bodies, cands, labels)]
        print(line(f"seed {seed}: oracle cut:", scored(oracle)) + f"  ({len(cy)} candidates, {cy.mean():.1%} positive)")
        q = np.zeros(len(cy))
        for k in range(args.folds):
            test = folds[cut_of] == k
            weight = cx[~test, FEATURES.index("log_suffix_words")]  # log(1 + the words a cut removes)
            q[test] = fit(cx[~test], cy[~test], seed, weight).predict_proba(cx[test])[:, 1]
        per_page = np.split(q, np.cumsum([len(at) for _, at in cands])[:-1])
        for t in THRESHOLDS:
            cut = [b[:cut_at(at, qs, t) or len(b)] for b, (_, at), qs in zip(bodies, cands, per_page)]
            results[t].append((base, scored(cut)))
    print(f"out of fold ({args.folds} folds grouped by host, mean of {args.seeds} seeds; gain against the same seed's body):")
    for t, rs in results.items():
        gains = [after[0] - before[0] for before, after in rs]
        mean = tuple(float(np.mean([after[k] for _, after in rs])) for k in range(3))
        print(line(f"  cut at p >= {t:.2f}:", mean) + f"  F1 gain {np.mean(gains):+.4f} ({min(gains):+.4f} to {max(gains):+.4f})")


if __name__ == "__main__":
    main()
