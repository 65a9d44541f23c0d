"""Choosing a page's title among its title candidates with a learned model, cross-validated.

Asks whether the WCXB ground truth's titles can be told apart by cheap features of the candidates
newsflow reads: the first <h1> (`page_headings`), og:title, twitter:title, <title> and the first two
JSON-LD headlines, each but the <h1> without a trailing site name or label (`choose_title`,
`drop_title_label`). Candidates that `newsflow eval` would count as the same title are one, with the
set of sources that state it.

Features of a candidate: which sources state it and how many, its words and characters, its share of
capitals, the overlap of its words with the URL path's and with the <h1>'s, whether the page has an
<h1>, how many <h1>s and distinct candidates it has, whether it holds a "?" or a separator. No feature
names a site, a URL or a page. Boosted trees and a logistic regression (scikit-learn, the bench
extra) are scored out of fold (5 folds grouped by host, 3 seeds of the split): a page's title is its
most probable candidate.

Printed: newsflow's own title (as `newsflow eval` scores it), a majority vote of the sources, each
model, and the oracle (some candidate is right). Usage:

    OMP_NUM_THREADS=1 .venv/bin/python bench/title_chooser.py ../shared/datasets/wcxb-dev-articles
"""

from __future__ import annotations

import argparse
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.evaluate import Page, _norm, find_pages, read_page  # noqa: E402
from train_confidence import host_folds  # noqa: E402

SOURCES = ("h1", "og", "twitter", "title-tag", "json-ld")
ORDER = {s: i for i, s in enumerate(SOURCES)}  # the vote's tie-break


def candidates(raw: bytes, url: str | None) -> list[tuple[str, str]]:
    """(source, title) for each title the page states, as newsflow reads them."""
    from tasks.extract import choose_title, drop_title_label, page_headings, parse_html
    from tasks.meta import _collect as collect

    tree = parse_html(raw)
    if tree is None:
        return []
    found = collect(tree)  # the walk tasks/meta.py reads structured data with
    metas, title_tag = found.metas, found.title_tag
    headlines = [o["headline"] for o in found.ld_objects if isinstance(o.get("headline"), str)][:2]
    stated = [("og", metas.get("og:title")), ("twitter", metas.get("twitter:title")), ("title-tag", title_tag)]
    stated += [("json-ld", h) for h in headlines]
    out = [("h1", h) for h in page_headings(tree, url)[:1]]
    for source, text in stated:
        text = " ".join((text or "").split())
        if text:
            out.append((source, drop_title_label(choose_title(text, [], None, url))))
    return out


def page_rows(page: Page) -> dict | None:
    """One page's candidates with their features and labels, and newsflow's own title's verdict."""
    from tasks.clean import clean_document
    from tasks.models import Article, RawDocument, sha256_hex

    raw, record = read_page(page)
    truth = record.get("ground_truth") or {}
    if not (truth.get("main_content") or "").strip() or not truth.get("title"):
        return None  # as `newsflow eval`: pages without main text are not scored
    url = record.get("url")
    gold = _norm(truth["title"])
    doc = RawDocument("eval:" + (url or ""), "html", raw, sha256_hex(raw), len(raw), fields={"url": url} if url else {})
    article = clean_document(doc)
    ours = isinstance(article, Article) and bool(article.title) and _norm(article.title) == gold
    found = candidates(raw, url)
    by_norm: dict[str, set[str]] = {}
    text_of: dict[str, str] = {}
    for source, text in found:
        key = _norm(text)
        by_norm.setdefault(key, set()).add(source)
        text_of.setdefault(key, text)
    slug = {w for w in re.split(r"[^a-z0-9]+", urlsplit(url or "").path.lower()) if w and not w.isdigit()}
    h1 = set(_norm(found[0][1]).split()) if found and found[0][0] == "h1" else set()
    n_h1 = sum(1 for s, _ in found if s == "h1")
    rows, labels = [], []
    for key, sources in by_norm.items():
        words, text = set(key.split()), text_of[key]
        letters = sum(c.isalpha() for c in text)
        rows.append([*(float(s in sources) for s in SOURCES), len(sources), len(key.split()), len(text),
                     sum(c.isupper() for c in text) / max(letters, 1),
                     len(words & slug) / max(len(words), 1), len(words & slug) / max(len(slug), 1),
                     len(words & h1) / max(len(words | h1), 1), float(bool(h1)), n_h1, len(by_norm),
                     float("?" in text), float(bool(re.search(r"[|:–—]", text)))])
        labels.append(key == gold)
    vote = max(by_norm, key=lambda k: (len(by_norm[k]), -min(ORDER[s] for s in by_norm[k])), default=None)
    return {"host": urlsplit(url or page.page_id).netloc, "x": rows, "y": labels, "ours": ours,
            "vote": vote == gold}


def out_of_fold(pages: list[dict], make, seed: int, folds: int = 5) -> float:
    """Share of pages whose most probable candidate (fit on the other folds' pages) is right."""
    fold = host_folds([p["host"] for p in pages], folds, seed)
    right = 0
    for k in range(folds):
        train = [p for p, f in zip(pages, fold) if f != k]
        x = np.array([r for p in train for r in p["x"]])
        y = np.array([v for p in train for v in p["y"]])
        model = make().fit(x, y)
        for p, f in zip(pages, fold):
            if f == k and p["x"]:
                best = int(np.argmax(model.predict_proba(np.array(p["x"]))[:, 1]))
                right += p["y"][best]
    return right / len(pages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    with ProcessPoolExecutor(args.workers) as pool:
        pages = [p for p in pool.map(page_rows, find_pages(args.dataset), chunksize=8) if p is not None]
    n = len(pages)
    print(f"{n} pages, {sum(len(p['x']) for p in pages)} distinct candidates")
    print(f"  newsflow's title                 {sum(p['ours'] for p in pages) / n:.1%}")
    print(f"  majority of the sources          {sum(p['vote'] for p in pages) / n:.1%}")
    models = {"boosted trees (150, depth 3)": lambda: GradientBoostingClassifier(
                  n_estimators=150, max_depth=3, learning_rate=0.05, min_samples_leaf=10, random_state=0),
              "logistic regression": lambda: LogisticRegression(max_iter=2000)}
    for name, make in models.items():
        scores = [out_of_fold(pages, make, seed) for seed in range(args.seeds)]
        print(f"  {name:32} {np.mean(scores):.1%} (seeds {min(scores):.1%}-{max(scores):.1%}), cross-validated")
    print(f"  oracle: a right candidate exists {sum(any(p['y']) for p in pages) / n:.1%}")


if __name__ == "__main__":
    main()
