"""Train the extraction-confidence model (tasks/confidence.py) on pages with ground truth, cross-validated.

For every page of a WCXB-layout folder: clean it as `newsflow ingest` does, take the cheap features of
the extraction (`tasks.confidence.features`) and the label "token F1 against the main text >= GOOD_F1".
A logistic regression (numpy, L2, Newton steps) is scored in K folds grouped by the page's host (no
site is in both a training and a test fold), then fit on all pages and written to
tasks/extraction_confidence.json. Printed: the cross-validated AUC, Brier score and calibration by
confidence band (pages, mean predicted, share good, mean F1). Usage:

    .venv/bin/python bench/train_confidence.py ../shared/datasets/wcxb-dev-articles [--folds 5] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tasks.confidence import FEATURES, GOOD_F1, MODEL_FILE, features  # noqa: E402
from tasks.evaluate import Page, find_pages, read_page, token_prf  # noqa: E402

L2 = 1.0


def cleaned_page(page: Page):
    """One page read and cleaned as the pipeline cleans it, up to the segment pass: (raw HTML, ground
    truth, host, the read source, the cleaned lines), or None for a page without main text or one that
    is not HTML."""
    from tasks.clean import clean_segments, read_document
    from tasks.models import RawDocument, sha256_hex

    raw, record = read_page(page)
    truth = record.get("ground_truth") or {}
    if not (truth.get("main_content") or "").strip():
        return None
    url = record.get("url")
    doc = RawDocument("eval:" + (url or ""), "html", raw, sha256_hex(raw), len(raw), fields={"url": url} if url else {})
    try:
        source = read_document(doc)
    except ValueError:
        return None
    cleaned = clean_segments(source.segments, source.page.title, detect_title=False, link_texts=source.page.link_texts)
    return raw, truth, urlsplit(url or page.page_id).netloc, source, cleaned


def page_row(page: Page) -> tuple[str, list[float], float] | None:
    """(host, features, F1) of one page, cleaned as the pipeline cleans it."""
    read = cleaned_page(page)
    if read is None:
        return None
    _raw, truth, host, source, cleaned = read
    f1 = token_prf(cleaned.body, truth["main_content"])[2]
    return host, features(source.segments, cleaned, source.page.link_texts), f1


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Standardize, then L2-regularized logistic regression by Newton's method."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.diag([L2] * (z.shape[1] - 1) + [0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[:-1], float(w[-1])


def predict(model: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    mean, scale, weights, bias = model
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ weights + bias)))


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (rank statistic)."""
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)) if n_pos and n_neg else float("nan")


def host_folds(hosts: list[str], folds: int, seed: int = 0) -> np.ndarray:
    """The fold of every page, all pages of a host in one fold."""
    unique = sorted(set(hosts))
    fold_of = {h: i % folds for i, h in enumerate(np.random.default_rng(seed).permutation(unique))}
    return np.array([fold_of[h] for h in hosts])


def cross_validate(hosts: list[str], x: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
    """Out-of-fold predictions, folds grouped by host."""
    fold = host_folds(hosts, folds)
    out = np.zeros(len(y))
    for k in range(folds):
        test = fold == k
        out[test] = predict(fit(x[~test], y[~test]), x[test])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dry-run", action="store_true", help="print the figures, do not write the model")
    args = ap.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for r in pool.map(page_row, find_pages(args.dataset), chunksize=8) if r is not None]
    hosts = [r[0] for r in rows]
    x = np.array([r[1] for r in rows])
    f1 = np.array([r[2] for r in rows])
    y = (f1 >= GOOD_F1).astype(float)
    oof = cross_validate(hosts, x, y, args.folds)
    print(f"{len(rows)} pages, {int(y.sum())} with F1 >= {GOOD_F1}; {args.folds} folds grouped by host "
          f"({len(set(hosts))} hosts)")
    print(f"cross-validated AUC {auc(y, oof):.3f}, Brier {np.mean((oof - y) ** 2):.3f} "
          f"(always the base rate: {np.mean((y.mean() - y) ** 2):.3f})")
    print(f"{'confidence':<12} {'pages':>6} {'predicted':>10} {'good':>6} {'mean F1':>8}")
    for lo, hi in ((0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 1.01)):
        band = (oof >= lo) & (oof < hi)
        if band.any():
            print(f"{lo:.1f}-{min(hi, 1.0):.1f}{'':<5} {band.sum():>6} {oof[band].mean():>10.3f} "
                  f"{y[band].mean():>6.3f} {f1[band].mean():>8.3f}")
    if args.dry_run:
        return
    mean, scale, weights, bias = fit(x, y)
    spec = {"features": list(FEATURES), "good_f1": GOOD_F1, "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "weights": weights.round(6).tolist(), "bias": round(bias, 6),
            "trained_on": f"{len(rows)} pages of {args.dataset.name}", "cv_auc": round(auc(y, oof), 3)}
    MODEL_FILE.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
