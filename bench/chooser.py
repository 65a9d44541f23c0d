"""Choosing, page by page, between trafilatura and other candidate extractions, cross-validated.

Reads the per-page rows that `bench/candidates.py --save rows.pkl` writes (each candidate's cleaned
body, F1, seconds, confidence features, `without` snippets left, boilerplate lines). For a set of
candidates (trafilatura first), the features of a page are, per candidate, its confidence features
(tasks/confidence.py) and its token and line counts; per pair of candidates, their agreement (the
token overlap as a share of each one's tokens, the share of each one's characters in lines that the
other's body also holds) and what each holds that the other lacks (its size, and how much of it ends
like a sentence, sits in long lines or is a link's text); and, when the rows carry "resiliparse all"
(the page's whole visible text), the share of the page's prose lines each candidate holds. No feature
names a site, a URL or a page, and none reads the ground truth.

Choosers, all scored out of fold (K folds grouped by host: no site is in both a training and a test
fold; several seeds of the fold split):

  pair-logit   per other candidate, a logistic regression for "it scores higher than trafilatura"
               (the pages weighted by how much F1 is at stake, |F1 other - F1 trafilatura|); take the
               candidate with the highest probability when it passes 0.5.
  pair-gbm     the same with gradient-boosted trees (scikit-learn).
  gain-gbm     per other candidate, a boosted-tree regression of F1 other - F1 trafilatura; take the
               largest predicted gain when it is positive.
  *-safe       (pair choosers) the label is "scores higher and leaves no more `without` snippets and
               boilerplate lines" (the ground truth in the labels only).

Printed per candidate set and chooser: mean F1, pages switched away from trafilatura, the share of
`without` snippets left and the pages with a boilerplate-looking line (as `newsflow eval` counts them),
next to trafilatura alone and the oracle. Usage:

    .venv/bin/python bench/candidates.py ../shared/datasets/wcxb-dev-articles --workers 1 --save /tmp/rows.pkl
    OMP_NUM_THREADS=1 .venv/bin/python bench/chooser.py /tmp/rows.pkl [--folds 5] [--seeds 5] \
        [--choosers pair-logit,pair-gbm] [--sets 'trafilatura,resiliparse;trafilatura,readability']
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidates import MERGED  # noqa: E402
from tasks.confidence import SENTENCE_END  # noqa: E402
from tasks.recover import is_prose  # noqa: E402
from train_confidence import host_folds  # noqa: E402
from tasks.evaluate import _norm, tokens  # noqa: E402
from tasks.segments import normalize  # noqa: E402

BASE = "trafilatura"
DIFF_FEATURES = True
CONTEXT_FEATURES = True
CONTEXT = "resiliparse all"  # not a candidate: the page's whole text, for the context features
SETS = (("trafilatura", "resiliparse"), ("trafilatura", "trafilatura + resiliparse prose"),
        ("trafilatura", "trafilatura + resiliparse prose", "resiliparse"), ("trafilatura", "readability"),
        ("trafilatura", "trafilatura + readability prose"), ("trafilatura", "readability", "resiliparse"),
        ("trafilatura", "trafilatura recall", "resiliparse"),
        ("trafilatura", "trafilatura recall", "readability", "resiliparse"))


# ------------------------------------------------------------------------------------- features
def _line_share(lines: list[str], other_norm: str) -> float:
    """Share of the characters of `lines` in lines that `other_norm` (a normalized body) also holds."""
    total = sum(len(s) for s in lines) or 1
    return sum(len(s) for s in lines if _norm(s).strip() and _norm(s) in other_norm) / total


def _only_features(lines: list[str], other_norm: str, link_texts: frozenset[str]) -> list[float]:
    """What one candidate holds that the other does not: its lines missing from the other's body, as
    log characters, share of the candidate's characters, share ending like a sentence, share in lines
    of 80+ characters, share in lines that are a link's text, log mean line length."""
    only = [s for s in lines if _norm(s) not in other_norm]
    chars = sum(len(s) for s in only)
    if not chars:
        return [0.0] * 6
    return [math.log1p(chars), chars / (sum(len(s) for s in lines) or 1),
            sum(len(s) for s in only if s.rstrip().endswith(SENTENCE_END)) / chars,
            sum(len(s) for s in only if len(s) >= 80) / chars,
            sum(len(s) for s in only if len(s) < 200 and normalize(s) in link_texts) / chars,
            math.log1p(chars / len(only))]


def context_features(row: dict, names: tuple[str, ...]) -> list[float]:
    """Against all the page's visible text (resiliparse without `main_content`), per candidate: the share
    of the page's prose lines its body holds, and the log characters of prose it leaves out."""
    page = [s for s in row["cands"][CONTEXT]["body"].split("\n\n") if s.strip() and is_prose(s)]
    total = sum(len(s) for s in page)
    out: list[float] = [math.log1p(total)]
    for n in names:
        body = _norm(row["cands"][n]["body"])
        held = sum(len(s) for s in page if _norm(s) in body)
        out += [held / total if total else 1.0, math.log1p(total - held)]
    return out


def page_features(row: dict, names: tuple[str, ...]) -> list[float]:
    """Per candidate: confidence features, log tokens, log raw lines; per pair: agreement both ways and
    what each holds that the other does not."""
    bags: dict[str, Counter[str]] = {n: tokens(row["cands"][n]["body"]) for n in names}
    out: list[float] = []
    for n in names:
        c = row["cands"][n]
        out += list(c["features"]) + [math.log1p(sum(bags[n].values())), math.log1p(c["lines"])]
    for a, b in combinations(names, 2):
        na, nb = sum(bags[a].values()), sum(bags[b].values())
        overlap = sum((bags[a] & bags[b]).values())
        la = [s for s in row["cands"][a]["body"].split("\n\n") if s.strip()]
        lb = [s for s in row["cands"][b]["body"].split("\n\n") if s.strip()]
        out += [overlap / na if na else 0.0, overlap / nb if nb else 0.0, math.log1p(nb) - math.log1p(na),
                _line_share(la, _norm(row["cands"][b]["body"])), _line_share(lb, _norm(row["cands"][a]["body"]))]
        if DIFF_FEATURES:
            links = row.get("link_texts", frozenset())
            out += (_only_features(la, _norm(row["cands"][b]["body"]), links)
                    + _only_features(lb, _norm(row["cands"][a]["body"]), links))
    if CONTEXT_FEATURES and CONTEXT in row["cands"]:
        out += context_features(row, names)
    return out


# -------------------------------------------------------------------------------------- models
def _model(kind: str, regression: bool):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logit":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    return cls(max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20, l2_regularization=1.0,
               random_state=0)


def oof_scores(chooser: str, x: np.ndarray, f1: np.ndarray, fold: np.ndarray,
               leak: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold score per page and other candidate (column 0, trafilatura, stays 0): P(better) - 0.5,
    or the predicted gain; f1 is pages x candidates. With `leak` (pages x candidates: `without` snippets
    plus boilerplate lines left, from the ground truth, used in the labels only), a "-safe" chooser
    learns "scores higher and leaves no more boilerplate" instead."""
    kind = "logit" if "logit" in chooser else "gbm"
    regression = chooser.startswith("gain")
    score = np.zeros((len(x), f1.shape[1]))  # per other candidate: P(better) - 0.5, or predicted gain
    for k in np.unique(fold):
        test, train = fold == k, fold != k
        for j in range(1, f1.shape[1]):
            gain = f1[:, j] - f1[:, 0]
            if regression:
                model = _model(kind, True).fit(x[train], gain[train])
                score[test, j] = model.predict(x[test])
                continue
            y = (gain > 0).astype(int)
            if chooser.endswith("-safe") and leak is not None:
                y &= (leak[:, j] <= leak[:, 0]).astype(int)
            weight = np.abs(gain) + 1e-3
            if len(set(y[train])) < 2:
                score[test, j] = -1.0
                continue
            model = _model(kind, False)
            fit_args = {"logisticregression__sample_weight": weight[train]} if kind == "logit" else \
                {"sample_weight": weight[train]}
            model.fit(x[train], y[train], **fit_args)
            score[test, j] = model.predict_proba(x[test])[:, 1] - 0.5
    return score


def decide(score: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Index of the chosen candidate per page: the best-scored other one where its score passes `margin`."""
    score = score.copy()
    score[:, 0] = -np.inf
    best = np.argmax(score, axis=1)
    return np.where(score[np.arange(len(score)), best] > margin, best, 0)


def choose(chooser: str, x: np.ndarray, f1: np.ndarray, fold: np.ndarray,
           leak: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold index of the chosen candidate per page (0 = trafilatura)."""
    return decide(oof_scores(chooser, x, f1, fold, leak))


# ------------------------------------------------------------------------------------- scoring
def outcome(rows: list[dict], names: tuple[str, ...], pick: np.ndarray) -> tuple[float, float, int, int]:
    """Mean F1, `without` leak share, pages with a boilerplate line, pages switched, for a choice."""
    chosen = [r["cands"][names[i]] for r, i in zip(rows, pick)]
    total = sum(r["without"] for r in rows)
    return (float(np.mean([c["f1"] for c in chosen])), sum(c["without_left"] for c in chosen) / total,
            sum(1 for c in chosen if c["boilerplate"]), int((pick != 0).sum()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--choosers", default="pair-logit,pair-gbm,gain-gbm")
    ap.add_argument("--sets", help="candidate sets, e.g. 'trafilatura,resiliparse;trafilatura,readability'")
    args = ap.parse_args()
    sets = [tuple(s.split(",")) for s in args.sets.split(";")] if args.sets else SETS
    rows = pickle.loads(args.rows.read_bytes())
    hosts = [r["host"] for r in rows]
    print(f"{len(rows)} pages, {len(set(hosts))} hosts; {args.folds} folds grouped by host, {args.seeds} seeds")
    base = outcome(rows, (BASE,), np.zeros(len(rows), dtype=int))
    print(f"trafilatura alone: F1 {base[0]:.4f}, without left {100 * base[1]:.2f}%, boilerplate pages {base[2]}")
    for names in sets:
        f1 = np.array([[r["cands"][n]["f1"] for n in names] for r in rows])
        leak = np.array([[r["cands"][n]["without_left"] + r["cands"][n]["boilerplate"] for n in names] for r in rows])
        started = time.perf_counter()
        x = np.array([page_features(r, names) for r in rows])
        feat_ms = 1000 * (time.perf_counter() - started) / len(rows)
        extracted = {m for n in names for m in MERGED.get(n, (n,))} - {BASE}  # a merged one costs its sources
        extra_ms = 1000 * np.mean([sum(r["cands"][n]["seconds"] for n in extracted) for r in rows])
        oracle = outcome(rows, names, np.argmax(f1, axis=1))
        print(f"\n{' + '.join(names)}: extra extraction {extra_ms:.1f} ms/page, features {feat_ms:.2f} ms/page")
        print(f"  oracle           F1 {oracle[0]:.4f}, without {100 * oracle[1]:.2f}%, boilerplate {oracle[2]}, "
              f"switched {oracle[3]}")
        for chooser in args.choosers.split(","):
            results = [outcome(rows, names, choose(chooser, x, f1, host_folds(hosts, args.folds, seed), leak))
                       for seed in range(args.seeds)]
            f = [r[0] for r in results]
            print(f"  {chooser:<16} F1 {np.mean(f):.4f} (seeds {min(f):.4f}-{max(f):.4f}), "
                  f"without {100 * np.mean([r[1] for r in results]):.2f}%, "
                  f"boilerplate {np.mean([r[2] for r in results]):.1f}, "
                  f"switched {np.mean([r[3] for r in results]):.0f}")


if __name__ == "__main__":
    main()
