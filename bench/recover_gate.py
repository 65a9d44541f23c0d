"""Would a cheap gate in front of line recovery (tasks/recover.py) pay for itself? Measured, not adopted.

Recovery costs ~6 ms a page (resiliparse's parse and two text extractions, the token forms, the
features), yet it takes lines back on only ~11% of the WCXB dev pages. A gate would skip it on pages
predicted to gain nothing, deciding before resiliparse runs, so only from what the cleaner already has:
the body's eight confidence features (tasks/confidence.py) and cheap measures of the page (its HTML
bytes, the characters of its visible text and of its `<p>` elements, each against the body's).

For every page, the line model is scored out of fold exactly as bench/train_recover.py scores it (5
folds grouped by host, 3 seeds of the split, take at p >= 0.8). Two kinds of gate then decide per page
whether recovery runs:
  ratio  recovery runs where the body holds under a share of the page's visible text;
  trees  boosted trees over all the gate's features for "recovery takes a line here", out of fold on
         the same host folds; recovery runs at or above a probability.
For each setting it prints the share of pages where recovery still runs, the share of the pages that
gain lines which it keeps, and what `newsflow eval` would report (mean F1, `without` left, pages with a
boilerplate line). Usage:

    OMP_NUM_THREADS=1 .venv/bin/python bench/recover_gate.py ../shared/datasets/wcxb-dev-articles  # ~1 min
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.evaluate import Page, find_pages  # noqa: E402
from train_confidence import cleaned_page, host_folds  # noqa: E402
from train_recover import candidate_arrays, cv_parser, out_of_fold, outcome, row_of  # noqa: E402

TAKE = 0.8  # the shipped threshold of the line model
RATIOS = (0.3, 0.4, 0.5, 0.6, 0.7)
GATE_PROBABILITIES = (0.02, 0.05, 0.1)


def gate_row(page: Page) -> dict | None:
    """train_recover's row of one page, plus the gate's features: what is known before resiliparse runs."""
    from tasks.extract import parse_html

    read = cleaned_page(page)
    if read is None:
        return None
    row = row_of(page, read)
    raw, body_features = read[0], row["body_features"]
    tree = parse_html(raw)  # the cleaner's own parse; trafilatura prunes its copy of it
    page_chars = len(tree.text_content())
    p_chars = sum(len(p.text_content()) for p in tree.iter("p"))
    body_chars = float(np.expm1(body_features[0]))
    row["gate"] = [*body_features, np.log1p(len(raw)), np.log1p(page_chars), np.log1p(p_chars),
                   body_chars / max(page_chars, 1), body_chars / max(p_chars, 1), (p_chars - body_chars) / 1000]
    return row


def main() -> None:
    args = cv_parser(__doc__).parse_args()

    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for r in pool.map(gate_row, find_pages(args.dataset), chunksize=8) if r is not None]
    x, y, page_of = candidate_arrays(rows)
    hosts = [r["host"] for r in rows]
    gate_x = np.array([r["gate"] for r in rows])
    ratio = gate_x[:, -3]  # the body's characters / the page's visible characters

    def split(take: np.ndarray) -> list[np.ndarray]:
        return [take[page_of == i] for i in range(len(rows))]

    settings = [("none", None)] + [(f"ratio < {t}", t) for t in RATIOS] + [(f"trees >= {g}", g) for g in GATE_PROBABILITIES]
    figures: dict[str, list[tuple]] = {name: [] for name, _ in settings}
    for seed in range(args.seeds):
        folds = host_folds(hosts, args.folds, seed)
        take = out_of_fold(x, y, folds[page_of], args.folds, seed) >= TAKE
        gains = np.array([take[page_of == i].any() for i in range(len(rows))])
        gate_p = np.zeros(len(rows))
        for k in range(args.folds):
            test = folds == k
            gate_p[test] = _gate_trees(gate_x[~test], gains[~test], seed).predict_proba(gate_x[test])[:, 1]
        for name, value in settings:
            runs = (np.ones(len(rows), dtype=bool) if value is None
                    else ratio < value if name.startswith("ratio") else gate_p >= value)
            f1, left, boiler = outcome(rows, split(take & runs[page_of]))
            figures[name].append((runs.mean(), runs[gains].mean(), f1, left, boiler))
    print(f"{len(rows)} pages; recovery gates, out of fold ({args.folds} folds grouped by host, mean of "
          f"{args.seeds} seeds; lines taken at p >= {TAKE}):")
    print(f"  {'gate':14s} {'runs on':>8s} {'gaining kept':>13s} {'F1':>7s} {'without left':>13s} {'boilerplate pages':>18s}")
    for name, rs in figures.items():
        runs, kept, f1, left, boiler = np.mean(rs, axis=0)
        print(f"  {name:14s} {runs:8.0%} {kept:13.0%} {f1:7.4f} {left:13.2%} {boiler:18.1f}")


def _gate_trees(x: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=100, max_depth=3, min_samples_leaf=20, random_state=seed).fit(x, y)


if __name__ == "__main__":
    main()
