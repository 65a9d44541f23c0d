"""What a page-level choice between candidate extractions could add to the cleaner's F1, cross-validated.

For every page of a WCXB-layout folder, each candidate extraction goes through newsflow's segment pass
(tasks/segments.py) and is scored against the main text (token F1, as `newsflow eval` scores):

  trafilatura as the cleaner runs it (`tasks.extract.drop_unread`, then `extract_lines`: its fast pass,
  the full cascade where that is short or run together), its full cascade alone ("trafilatura full"),
  `fast` (no fallback), `favor_precision`, `favor_recall`, jusText (its own paragraphs, all stop-lists), readability-lxml
  (`Document(tree).summary()` on a copy of newsflow's tree, one line per block element of the summary)
  and resiliparse (`extract_plain_text(main_content=True)` on its own parse, its lines; "resiliparse all"
  is the same without `main_content`, all the page's visible text).

Printed per candidate: mean F1 and mean extraction ms (the candidates' order rotates per page, so none
always runs first on a cold cache); the oracle (the best candidate on every page, an upper bound), over
all candidates and over trafilatura with readability and/or resiliparse; and, for trafilatura against
each other candidate, a chooser: a logistic regression on cheap features of the pair (token counts,
their overlap both ways, line counts) that predicts "the other candidate scores higher", with
out-of-fold predictions (folds grouped by host), and the mean F1 when the other candidate is taken
where the prediction passes a threshold. `--save` pickles the per-page rows (each candidate's body,
F1, seconds, confidence features, `without` snippets left, boilerplate lines) for bench/chooser.py.
Two derived candidates cost no extraction of their own: trafilatura's cleaned lines plus the prose
lines (80+ characters, ending like a sentence) of resiliparse's or readability's that it lacks.
Usage:

    .venv/bin/python bench/candidates.py ../shared/datasets/wcxb-dev-articles [--workers 1] [--save rows.pkl]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import pickle
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
from tasks.evaluate import (Page, _norm, boilerplate_lines, find_pages, read_page, snippet_left,  # noqa: E402
                            token_prf, tokens)
from train_confidence import cross_validate  # noqa: E402
from tasks.recover import is_prose  # noqa: E402

CANDIDATES = ("trafilatura", "trafilatura full", "trafilatura fast", "trafilatura precision", "trafilatura recall",
              "justext", "readability", "resiliparse", "resiliparse all")
ORACLE_SETS = (("trafilatura", "readability"), ("trafilatura", "resiliparse"),
               ("trafilatura", "readability", "resiliparse"), ("trafilatura", "justext", "resiliparse"),
               ("trafilatura", "trafilatura recall", "readability", "resiliparse"))
# Derived candidates, no extraction of their own: the first one's cleaned lines plus the second one's
# prose lines (80+ characters, ending like a sentence) that the first one's body lacks.
MERGED = {"trafilatura + resiliparse prose": ("trafilatura", "resiliparse"),
          "trafilatura + readability prose": ("trafilatura", "readability")}
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)
# Elements that end a line of text in readability's summary (the others are inline).
_BLOCKS = frozenset("p div li h1 h2 h3 h4 h5 h6 blockquote pre td th dt dd figcaption caption tr ul ol "
                    "dl table section article header footer aside br hr".split())


@lru_cache(maxsize=1)
def _stoplist() -> frozenset[str]:
    import justext

    return frozenset().union(*(justext.get_stoplist(name) for name in justext.get_stoplists()))


def _block_lines(root) -> list[str]:
    """The text of an lxml tree as lines: a line ends at every block element's start and end."""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            lines.append(text)
        current.clear()

    def walk(el) -> None:
        block = isinstance(el.tag, str) and el.tag.lower() in _BLOCKS
        if block:
            flush()
        if isinstance(el.tag, str):
            current.append(el.text or "")
            for child in el:
                walk(child)
                current.append(child.tail or "")
        if block:
            flush()

    walk(root)
    flush()
    return lines


def _readability_lines(tree) -> list[str]:
    """readability-lxml's summary of the page (it mutates the tree it is given, hence the copy)."""
    from lxml import html
    from readability import Document

    summary = Document(deepcopy(tree)).summary(html_partial=True)
    return _block_lines(html.fragment_fromstring(summary, create_parent="div")) if summary.strip() else []


def _resiliparse_lines(raw: bytes, main_content: bool = True) -> list[str]:
    """resiliparse's main-content text (or, `main_content=False`, all the page's visible text), on its own
    parse of the page (no alt texts, bullets or comments)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(bytes_to_str(raw, detect_encoding(raw)))
    text = extract_plain_text(tree, main_content=main_content, alt_texts=False, list_bullets=False, comments=False)
    return [line for line in text.split("\n") if line.strip()]


def _extract(name: str, raw: bytes, tree, url: str | None) -> list[str]:
    import justext
    import trafilatura

    from tasks.extract import TRAFILATURA_OPTIONS, drop_unread, extract_lines

    if name == "trafilatura":  # as the cleaner runs it: the fast pass, the full cascade where needed
        pruned = deepcopy(tree)  # the cleaner prunes its own tree; this one is shared with the others
        drop_unread(pruned)
        return extract_lines(pruned, url)[0]
    if name == "justext":
        return [p.text for p in justext.justext(raw, _stoplist()) if not p.is_boilerplate]
    if name == "readability":
        return _readability_lines(tree)
    if name.startswith("resiliparse"):
        return _resiliparse_lines(raw, main_content=name == "resiliparse")
    options = dict(TRAFILATURA_OPTIONS)
    options.update({"trafilatura fast": {"fast": True}, "trafilatura precision": {"favor_precision": True},
                    "trafilatura recall": {"favor_recall": True}}.get(name, {}))  # "trafilatura full": as given
    doc = trafilatura.bare_extraction(deepcopy(tree), url=url, **options)
    text = (doc.text or "") if doc is not None else ""
    return text.split("\n") if text else []


def merged_segments(first: list[str], second: list[str]) -> list[str]:
    """`first`, then the lines of `second` that read like prose and are not in `first`."""
    held = _norm("\n".join(first))
    return first + [s for s in second if is_prose(s) and _norm(s) not in held]


def _scored(cleaned, lines: list[str], seconds: float, gold: str, without: list[str], link_texts) -> dict:
    """One candidate's entry in a page's row."""
    from tasks.confidence import features

    body, body_norm = cleaned.body, _norm(cleaned.body)
    return {"body": body, "f1": token_prf(body, gold)[2], "seconds": seconds, "lines": len(lines),
            "features": features(lines, cleaned, link_texts), "segments": cleaned.segments,
            "without_left": sum(snippet_left(w, body_norm) for w in without),
            "boilerplate": len(boilerplate_lines(body, _norm(gold)))}


def page_candidates(page: Page) -> dict | None:
    """Each candidate's cleaned body, F1, extraction seconds, confidence features (tasks/confidence.py),
    `without` snippets left and boilerplate-looking lines on one page."""
    from tasks.extract import extract_html, parse_html
    from tasks.segments import Cleaned, clean_segments

    raw, record = read_page(page)
    truth = record.get("ground_truth") or {}
    gold = truth.get("main_content") or ""
    if not gold.strip():
        return None
    url = record.get("url")
    html_page, tree = extract_html(raw, url), parse_html(raw)
    without = [w for w in truth.get("without") or [] if _norm(w).strip()]
    out = {"page": page.page_id, "host": urlsplit(url or page.page_id).netloc, "without": len(without),
           "link_texts": html_page.link_texts, "cands": {}}
    turn = sum(map(ord, page.page_id)) % len(CANDIDATES)
    for name in CANDIDATES[turn:] + CANDIDATES[:turn]:
        started = time.perf_counter()
        try:
            lines = _extract(name, raw, tree, url)
        except Exception:  # a candidate that fails on a page gives nothing there
            lines = []
        seconds = time.perf_counter() - started
        cleaned = clean_segments(lines, html_page.title, detect_title=False, link_texts=html_page.link_texts)
        out["cands"][name] = _scored(cleaned, lines, seconds, gold, without, html_page.link_texts)
    for name, (first, second) in MERGED.items():
        segments = merged_segments(out["cands"][first]["segments"], out["cands"][second]["segments"])
        cleaned = Cleaned(html_page.title, segments, [])
        out["cands"][name] = _scored(cleaned, segments, 0.0, gold, without, html_page.link_texts)
    return out


def pair_features(row: dict, other: str) -> list[float]:
    a, b = row["cands"]["trafilatura"], row["cands"][other]
    ta, tb = tokens(a["body"]), tokens(b["body"])
    na, nb = sum(ta.values()), sum(tb.values())
    overlap = sum((ta & tb).values())
    return [math.log1p(na), math.log1p(nb), math.log1p(nb) - math.log1p(na), overlap / na if na else 0.0,
            overlap / nb if nb else 0.0, math.log1p(a["lines"]), math.log1p(b["lines"])]


def require_extractors() -> None:
    """Exit with how to install them when the second extractors are missing (they are bench-only)."""
    missing = [m for m in ("readability", "resiliparse") if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: pip install -c constraints.txt -e '.[bench]' readability-lxml")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--save", type=Path, help="pickle the per-page rows here (for bench/chooser.py)")
    args = ap.parse_args()
    require_extractors()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for r in pool.map(page_candidates, find_pages(args.dataset), chunksize=8) if r is not None]
    if args.save:
        args.save.write_bytes(pickle.dumps(rows))
    f1 = {n: np.array([r["cands"][n]["f1"] for r in rows]) for n in CANDIDATES + tuple(MERGED)}
    print(f"{len(rows)} pages")
    for n in CANDIDATES + tuple(MERGED):
        ms = 1000 * np.mean([r["cands"][n]["seconds"] for r in rows])
        print(f"  {n:<24} F1 {f1[n].mean():.4f}   {ms:6.1f} ms/page")
    print(f"  oracle (best of all {len(CANDIDATES)} on every page): "
          f"F1 {np.max(np.vstack([f1[n] for n in CANDIDATES]), axis=0).mean():.4f}")
    for names in ORACLE_SETS:
        print(f"  oracle {' + '.join(names)}: F1 {np.max(np.vstack([f1[n] for n in names]), axis=0).mean():.4f}")
    hosts = [r["host"] for r in rows]
    for other in CANDIDATES[1:] + tuple(MERGED):
        x = np.array([pair_features(r, other) for r in rows])
        y = (f1[other] > f1["trafilatura"]).astype(float)
        oof = cross_validate(hosts, x, y, args.folds)
        best = np.maximum(f1["trafilatura"], f1[other]).mean()
        chosen = ", ".join(f"{t}: {np.where(oof > t, f1[other], f1['trafilatura']).mean():.4f} "
                           f"({int((oof > t).sum())} pages)" for t in THRESHOLDS)
        print(f"  trafilatura or {other}: oracle {best:.4f}; cross-validated chooser at threshold {chosen}")


if __name__ == "__main__":
    main()
