"""Train the line-recovery model (tasks/recover.py) on pages with ground truth, cross-validated.

For every page of a WCXB-layout folder: clean it as `newsflow ingest` does up to the recovery step
(trafilatura's lines through the rule table), run the second extraction (resiliparse) and the same rule
table on its lines, and take the candidates: its lines that the body lacks, with their features
(`tasks.recover.candidates`). A candidate's label is "its word sequence is in the main text and holds none of the page's `without`
snippets".

Boosted trees (scikit-learn's GradientBoostingClassifier, candidates weighted by log(1 + characters))
are scored out of fold: K folds grouped by the page's host (no site is in both a training and a test
fold), several seeds of the fold split. For each probability threshold the script prints what
`newsflow eval` would report with the taken lines added to the body: mean token F1, the share of
`without` snippets left, the pages with a boilerplate-looking line, next to the body alone and the
oracle (every candidate in the main text taken). It then fits on all pages and writes the trees and
the chosen threshold to tasks/recover_lines.json. Usage:

    .venv/bin/python bench/train_recover.py ../shared/datasets/wcxb-dev-articles [--workers 2] \\
        [--folds 5] [--seeds 3] [--threshold 0.8] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.confidence import FEATURES as BODY_FEATURES  # noqa: E402
from tasks.evaluate import Page, _norm, boilerplate_lines, find_pages, page_hash, snippet_left, token_prf  # noqa: E402
from tasks.recover import LINE_FEATURES, MODEL_FILE, PAGE_FEATURES, probabilities, trees_from_spec  # noqa: E402
from train_confidence import cleaned_page, host_folds  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)  # --threshold must be one of them (its figures go in the file)
TREES = dict(n_estimators=200, learning_rate=0.05, max_depth=4, min_samples_leaf=40)


def page_row(page: Page) -> dict | None:
    """One page's body lines, candidates (lines, features, labels), main text and `without` snippets."""
    read = cleaned_page(page)
    return None if read is None else row_of(page, read)


def read_rows(dataset: str, workers: int, reader=page_row) -> list[dict]:
    """`reader` (default `page_row`) over every page of a WCXB-layout folder, in `workers` processes;
    the pages it could not read left out."""
    with ProcessPoolExecutor(workers) as pool:
        return [r for r in pool.map(reader, find_pages(dataset), chunksize=8) if r is not None]


def row_of(page: Page, read: tuple) -> dict:
    """`page_row` of a page already read by `cleaned_page`; also the body's confidence features."""
    from tasks.confidence import features
    from tasks.recover import page_candidates

    raw, truth, host, source, cleaned = read
    links = source.page.link_texts
    body_features = features(source.segments, cleaned, links)
    found = page_candidates(source.html, cleaned.segments, cleaned.title, links, body_features)
    gold = truth["main_content"]
    gold_norm = _norm(gold)
    without = [w for w in truth.get("without") or [] if _norm(w).strip()]
    labels = np.array([_label(s, gold_norm, without) for s in found.lines], dtype=int)
    return {"page": page.page_id, "hash": page_hash(raw), "host": host, "body": cleaned.segments,
            "lines": found.lines, "x": found.x, "y": labels, "gold": gold, "without": without,
            "body_features": body_features}


def _label(line: str, gold_norm: str, without: list[str]) -> bool:
    """A line belongs when its word sequence is in the main text and holds none of the page's `without`
    snippets (the annotators' own text for furniture; a few main texts hold one)."""
    norm = _norm(line)
    return norm in gold_norm and not any(snippet_left(w, norm) for w in without)


def outcome(rows: list[dict], taken: list[np.ndarray]) -> tuple[float, float, int]:
    """Mean F1, `without` share left and pages with a boilerplate line, the taken candidates added."""
    f1s, left, boiler = [], 0, 0
    for row, take in zip(rows, taken):
        body = "\n\n".join(row["body"] + [s for s, t in zip(row["lines"], take) if t])
        f1s.append(token_prf(body, row["gold"])[2])
        body_norm = _norm(body)
        left += sum(snippet_left(w, body_norm) for w in row["without"])
        boiler += bool(boilerplate_lines(body, _norm(row["gold"])))
    return float(np.mean(f1s)), left / max(sum(len(r["without"]) for r in rows), 1), boiler


def candidate_arrays(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pages' candidates stacked: their features, labels and the index of the page each is on."""
    x = np.vstack([r["x"] for r in rows if len(r["lines"])])
    y = np.concatenate([r["y"] for r in rows if len(r["lines"])])
    page_of = np.concatenate([[i] * len(r["lines"]) for i, r in enumerate(rows)]).astype(int)
    return x, y, page_of


def out_of_fold(x: np.ndarray, y: np.ndarray, fold: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each candidate's probability from trees fit to the other folds (`fold`: each candidate's fold)."""
    p = np.zeros(len(y))
    for k in range(folds):
        test = fold == k
        p[test] = fit(x[~test], y[~test], seed).predict_proba(x[test])[:, 1]
    return p


def fit(x: np.ndarray, y: np.ndarray, seed: int = 0, weight: np.ndarray | None = None):
    """The trees; rows weighted by `weight`, by default log(1 + a candidate's characters)."""
    from sklearn.ensemble import GradientBoostingClassifier

    weight = np.log1p(x[:, 1]) if weight is None else weight
    return GradientBoostingClassifier(random_state=seed, **TREES).fit(x, y, sample_weight=weight)


def export(model, x: np.ndarray, threshold: float, dataset: str, hashes: list[str], cv: dict) -> dict:
    """The fitted trees as JSON (scikit-learn's public tree arrays), the bias read back from its own
    decision function."""
    rate = model.learning_rate
    trees = [est.tree_ for est in model.estimators_[:, 0]]
    bias = float(model.decision_function(x[:1])[0] - rate * sum(est.predict(x[:1])[0] for est in model.estimators_[:, 0]))
    return {"features": list(LINE_FEATURES + PAGE_FEATURES + BODY_FEATURES), "threshold": threshold,
            "learning_rate": rate, "depth": int(max(t.max_depth for t in trees)), "bias": round(bias, 9),
            "trees": [{"feature": t.feature.tolist(), "threshold": [round(float(v), 9) for v in t.threshold],
                       "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                       "value": [round(float(v), 9) for v in t.value[:, 0, 0]]} for t in trees],
            "dataset": dataset, "pages": len(hashes), "page_hashes": sorted(hashes), "cv": cv, "params": TREES}


def cv_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a script that scores the line model out of fold on a WCXB-layout folder."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    return parser


def main() -> None:
    parser = cv_parser(__doc__)
    parser.add_argument("--threshold", type=float, default=0.8, choices=THRESHOLDS,
                        help="the threshold written to the model file, with its cross-validated figures")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write no model file")
    args = parser.parse_args()

    started = time.perf_counter()
    rows = read_rows(args.dataset, args.workers)
    print(f"{len(rows)} pages, {sum(len(r['lines']) for r in rows)} candidate lines "
          f"({time.perf_counter() - started:.0f} s)")
    x, y, page_of = candidate_arrays(rows)
    hosts = [r["host"] for r in rows]

    def split(take: np.ndarray) -> list[np.ndarray]:
        return [take[page_of == i] for i in range(len(rows))]

    base = outcome(rows, split(np.zeros(len(y), dtype=bool)))
    oracle = outcome(rows, split(y.astype(bool)))
    print(f"body alone:  F1 {base[0]:.4f}, without left {100 * base[1]:.2f}%, boilerplate pages {base[2]}")
    print(f"oracle:      F1 {oracle[0]:.4f}, without left {100 * oracle[1]:.2f}%, boilerplate pages {oracle[2]}")
    results: dict[float, list[tuple[float, float, int]]] = {t: [] for t in THRESHOLDS}
    for seed in range(args.seeds):
        p = out_of_fold(x, y, host_folds(hosts, args.folds, seed)[page_of], args.folds, seed)
        for t in THRESHOLDS:
            results[t].append(outcome(rows, split(p >= t)))
    print(f"out of fold ({args.folds} folds grouped by host, {args.seeds} seeds; mean over seeds):")
    for t, rs in results.items():
        f1s = [r[0] for r in rs]
        print(f"  p >= {t:.1f}:  F1 {np.mean(f1s):.4f} ({min(f1s):.4f}-{max(f1s):.4f}), "
              f"without left {100 * np.mean([r[1] for r in rs]):.2f}%, boilerplate pages {np.mean([r[2] for r in rs]):.1f}")
    chosen = results[args.threshold]
    cv = {"folds": args.folds, "seeds": args.seeds, "f1": round(float(np.mean([r[0] for r in chosen])), 4),
          "without_left": round(float(np.mean([r[1] for r in chosen])), 4),
          "boilerplate_pages": round(float(np.mean([r[2] for r in chosen])), 1), "f1_without_recovery": round(base[0], 4)}
    model = fit(x, y)
    spec = export(model, x, args.threshold, Path(args.dataset).resolve().name, [r["hash"] for r in rows], cv)
    gap = np.abs(probabilities(x, trees_from_spec(spec)) - model.predict_proba(x)[:, 1]).max()
    print(f"exported trees reproduce scikit-learn's probabilities within {gap:.1e}")
    if gap > 1e-6:
        sys.exit("the exported model does not match the fitted one; not written")
    if not args.dry_run:
        MODEL_FILE.write_text(json.dumps(spec, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE} (threshold {args.threshold})")


if __name__ == "__main__":
    main()
