"""What a page-level choice between candidate extractions could add to the cleaner's F1, cross-validated.

For every page of a WCXB-layout folder, each candidate extraction goes through newsflow's segment pass
(tasks/segments.py) and is scored against the main text (token F1, as `newsflow eval` scores):

  trafilatura (newsflow's options, what the cleaner runs), trafilatura `fast` (no fallback),
  `favor_precision`, `favor_recall`, and jusText (its own paragraphs, all stop-lists).

Printed per candidate: mean F1 and mean extraction ms; the oracle (the best candidate on every page,
an upper bound); and, for trafilatura against each other candidate, a chooser: a logistic regression
on cheap features of the pair (token counts, their overlap both ways, line counts) that predicts
"the other candidate scores higher", with out-of-fold predictions (folds grouped by host), and the
mean F1 when the other candidate is taken where the prediction passes a threshold. Usage:

    .venv/bin/python bench/candidates.py ../shared/datasets/wcxb-dev-articles
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from copy import deepcopy
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.evaluate import Page, find_pages, read_page, token_prf, tokens  # noqa: E402
from train_confidence import cross_validate  # noqa: E402

CANDIDATES = ("trafilatura", "trafilatura fast", "trafilatura precision", "trafilatura recall", "justext")
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)


@lru_cache(maxsize=1)
def _stoplist() -> frozenset[str]:
    import justext

    return frozenset().union(*(justext.get_stoplist(name) for name in justext.get_stoplists()))


def _extract(name: str, raw: bytes, tree, url: str | None) -> list[str]:
    import justext
    import trafilatura

    from tasks.extract import TRAFILATURA_OPTIONS

    if name == "justext":
        return [p.text for p in justext.justext(raw, _stoplist()) if not p.is_boilerplate]
    options = dict(TRAFILATURA_OPTIONS)
    options.update({"trafilatura fast": {"fast": True}, "trafilatura precision": {"favor_precision": True},
                    "trafilatura recall": {"favor_recall": True}}.get(name, {}))
    doc = trafilatura.bare_extraction(deepcopy(tree), url=url, **options)
    text = (doc.text or "") if doc is not None else ""
    return text.split("\n") if text else []


def page_candidates(page: Page) -> dict | None:
    """Each candidate's cleaned body, F1 and extraction seconds on one page."""
    from tasks.extract import extract_html, parse_html
    from tasks.segments import clean_segments

    raw, record = read_page(page)
    gold = (record.get("ground_truth") or {}).get("main_content") or ""
    if not gold.strip():
        return None
    url = record.get("url")
    html_page, tree = extract_html(raw, url), parse_html(raw)
    out = {"host": urlsplit(url or page.page_id).netloc, "cands": {}}
    for name in CANDIDATES:
        started = time.perf_counter()
        try:
            lines = _extract(name, raw, tree, url)
        except Exception:  # a candidate that fails on a page gives nothing there
            lines = []
        seconds = time.perf_counter() - started
        body = clean_segments(lines, html_page.title, detect_title=False, link_texts=html_page.link_texts).body
        out["cands"][name] = {"body": body, "f1": token_prf(body, gold)[2], "seconds": seconds, "lines": len(lines)}
    return out


def pair_features(row: dict, other: str) -> list[float]:
    a, b = row["cands"]["trafilatura"], row["cands"][other]
    ta, tb = tokens(a["body"]), tokens(b["body"])
    na, nb = sum(ta.values()), sum(tb.values())
    overlap = sum((ta & tb).values())
    return [math.log1p(na), math.log1p(nb), math.log1p(nb) - math.log1p(na), overlap / na if na else 0.0,
            overlap / nb if nb else 0.0, math.log1p(a["lines"]), math.log1p(b["lines"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for r in pool.map(page_candidates, find_pages(args.dataset), chunksize=8) if r is not None]
    f1 = {n: np.array([r["cands"][n]["f1"] for r in rows]) for n in CANDIDATES}
    print(f"{len(rows)} pages")
    for n in CANDIDATES:
        ms = 1000 * np.mean([r["cands"][n]["seconds"] for r in rows])
        print(f"  {n:<24} F1 {f1[n].mean():.4f}   {ms:6.1f} ms/page")
    print(f"  oracle (best of all five on every page): F1 {np.max(np.vstack(list(f1.values())), axis=0).mean():.4f}")
    hosts = [r["host"] for r in rows]
    for other in CANDIDATES[1:]:
        x = np.array([pair_features(r, other) for r in rows])
        y = (f1[other] > f1["trafilatura"]).astype(float)
        oof = cross_validate(hosts, x, y, args.folds)
        best = np.maximum(f1["trafilatura"], f1[other]).mean()
        chosen = ", ".join(f"{t}: {np.where(oof > t, f1[other], f1['trafilatura']).mean():.4f} "
                           f"({int((oof > t).sum())} pages)" for t in THRESHOLDS)
        print(f"  trafilatura or {other}: oracle {best:.4f}; cross-validated chooser at threshold {chosen}")


if __name__ == "__main__":
    main()
