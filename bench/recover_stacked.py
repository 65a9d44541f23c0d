"""A second stage over line recovery's probabilities: each candidate judged with its neighbours. Measured.

Line recovery (tasks/recover.py, trained by bench/train_recover.py) scores each candidate line on its
own. Where trafilatura kept one block of a longer article, the lines it missed form a run of candidates
whose probabilities often sit just under the threshold one by one (0.6-0.77 on a page whose intro and
first sections were all missing). This script asks whether a second model, given each candidate's
features plus the first model's probabilities of its neighbours, takes such runs back without taking
more furniture.

- **Stage 1**: the shipped trees (`train_recover.fit`) on the candidates' features.
- **Stage 2**: the same trees on the features plus, from stage 1: the candidate's probability, the
  previous and next candidate's (in page order), the mean and the highest of the two candidates on
  each side, the page's mean and its share of candidates at 0.5 or more, and the page's count.
- **Scoring, nested**: for each outer fold (5 folds grouped by host, 3 seeds of the split), stage 1 is
  fit on the other folds; stage 2 is fit on the other folds with stage-1 probabilities that are
  themselves out of fold (inner folds grouped by host), then applied to the outer fold with stage 1's
  probabilities there. Figures are what `newsflow eval` would report with the taken lines added.

Usage:

    .venv/bin/pip install -c constraints.txt -e '.[bench]'
    OMP_NUM_THREADS=1 .venv/bin/python bench/recover_stacked.py ../shared/datasets/wcxb-dev-articles  # ~4 min
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_confidence import host_folds  # noqa: E402
from train_recover import (THRESHOLDS, candidate_arrays, cv_parser, fit, out_of_fold, outcome,  # noqa: E402
                          read_rows)


def neighbour_features(p: np.ndarray, page_of: np.ndarray) -> np.ndarray:
    """Per candidate, from the stage-1 probabilities `p` of its page's candidates (in page order): its
    own, the previous and next one's (-1 at the ends), the mean and the highest of up to two on each
    side, the page's mean, its share at 0.5 or more, and how many candidates the page has."""
    out = np.zeros((len(p), 8))
    for page in np.unique(page_of):
        at = np.where(page_of == page)[0]
        q = p[at]
        for j, i in enumerate(at):
            near = np.concatenate([q[max(0, j - 2):j], q[j + 1:j + 3]])
            out[i] = [q[j], q[j - 1] if j else -1.0, q[j + 1] if j + 1 < len(q) else -1.0,
                      near.mean() if len(near) else -1.0, near.max() if len(near) else -1.0,
                      q.mean(), (q >= 0.5).mean(), len(q)]
    return out


def main() -> None:
    args = cv_parser(__doc__).parse_args()
    started = time.perf_counter()
    rows = read_rows(args.dataset, args.workers)
    x, y, page_of = candidate_arrays(rows)
    hosts = [r["host"] for r in rows]
    print(f"{len(rows)} pages, {len(y)} candidate lines ({time.perf_counter() - started:.0f} s)")

    def split(take: np.ndarray) -> list[np.ndarray]:
        return [take[page_of == i] for i in range(len(rows))]

    scores: dict[str, dict[float, list]] = {"stage 1 (shipped)": {t: [] for t in THRESHOLDS},
                                            "stage 2 (neighbours)": {t: [] for t in THRESHOLDS}}
    for seed in range(args.seeds):
        fold = host_folds(hosts, args.folds, seed)[page_of]
        p1, p2 = np.zeros(len(y)), np.zeros(len(y))
        for k in range(args.folds):
            test, train = fold == k, fold != k
            p1[test] = fit(x[train], y[train], seed).predict_proba(x[test])[:, 1]
            train_pages = np.unique(page_of[train])
            inner = dict(zip(train_pages, host_folds([hosts[i] for i in train_pages], args.folds, seed + 100)))
            inner_fold = np.array([inner[i] for i in page_of[train]])
            p_train = np.zeros(len(y))
            p_train[train] = out_of_fold(x[train], y[train], inner_fold, args.folds, seed)
            x2 = np.column_stack([x, neighbour_features(np.where(train, p_train, p1), page_of)])
            second = fit(x2[train], y[train], seed, weight=np.log1p(x[train][:, 1]))
            p2[test] = second.predict_proba(x2[test])[:, 1]
        for t in THRESHOLDS:
            scores["stage 1 (shipped)"][t].append(outcome(rows, split(p1 >= t)))
            scores["stage 2 (neighbours)"][t].append(outcome(rows, split(p2 >= t)))
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"out of fold ({args.folds} folds grouped by host, {args.seeds} seeds; mean over seeds, range of F1):")
    for name, by_threshold in scores.items():
        print(name)
        for t, rs in by_threshold.items():
            f1s = [r[0] for r in rs]
            print(f"  p >= {t:.1f}:  F1 {np.mean(f1s):.4f} ({min(f1s):.4f}-{max(f1s):.4f}), "
                  f"without left {100 * np.mean([r[1] for r in rs]):.2f}%, "
                  f"boilerplate pages {np.mean([r[2] for r in rs]):.1f}")


if __name__ == "__main__":
    main()
