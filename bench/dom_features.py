"""Measure, cross-validated, whether the page's markup around a line (`DOM_FEATURES` below)
helps step 5's take-back model and the drop model of bench/line_models.py. Same rows, labels, trees,
folds grouped by host and seeds as bench/train_recover.py and bench/line_models.py; each model is fit
with and without the markup features on the same split. Writes no model file. Usage:

    OMP_NUM_THREADS=1 .venv/bin/python bench/dom_features.py read DATASET ROWS.pkl [--workers 2]
    OMP_NUM_THREADS=1 .venv/bin/python bench/dom_features.py cv ROWS.pkl [--seeds 3] [--drop] [--workers 2]
    OMP_NUM_THREADS=1 .venv/bin/python bench/dom_features.py cpu DATASET [--limit 300]
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks.evaluate import Page, find_pages  # noqa: E402
from tasks.recover import token_form  # noqa: E402
from train_confidence import cleaned_page, host_folds  # noqa: E402
from train_recover import fit  # noqa: E402
import line_models  # noqa: E402

TAKE = (0.5, 0.6, 0.7, 0.8, 0.9)
DROP = (0.5, 0.6, 0.7, 0.8, 0.9)
DROP_TAKE = (0.7, 0.8)  # take-back thresholds scored with a drop model
# the markup features judged likeliest to help, for a take-back model with fewer features to fit
LITE = ("dom_found", "in_container", "up_to_container", "down_to_container", "parent_body_share",
        "grand_body_share", "class_neg_near", "in_aside", "in_nav")


# ------------------------------------------------------------------------------------ the page's markup
# Where a line sits in the page's HTML. Each line is matched to the block element whose text it is;
# generic markup words only, no site, URL or page.
DOM_FEATURES = (
    "dom_found",          # the line is the text of a block element of the page (or starts one)
    "tag_p", "tag_li", "tag_h", "tag_div", "tag_cell", "tag_quote", "tag_caption",
    "in_article", "in_main", "in_aside", "in_nav", "in_footer", "in_header", "in_form", "in_figure",
    "class_pos",          # article-like class/id words on the element and its ancestors
    "class_neg",          # furniture-like class/id words on the element and its ancestors
    "class_neg_near",     # furniture-like words on the element and its two nearest ancestors
    "in_container",       # inside the lowest element holding 80% of the body's matched text
    "up_to_container",    # steps up from the element to its common ancestor with that container
    "down_to_container",  # steps down from that common ancestor to the container (0 inside it)
    "parent_body_share",  # share of the body's matched lines whose element has this one's parent
    "grand_body_share",   # the same for the grandparent
    "body_matched",       # page: share of the body's lines matched to an element
)
_DOM_BLOCKS = frozenset(("p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "td", "th", "blockquote",
                         "figcaption", "caption", "dd", "dt", "pre", "section", "article", "aside", "header",
                         "footer", "nav", "main", "figure", "summary", "address", "span", "a", "strong", "em", "b"))
_DOM_LEAF_ONLY = frozenset(("div", "section", "article", "aside", "header", "footer", "nav", "main", "figure",
                            "span", "a", "strong", "em", "b"))  # matched only when no block element is inside
_DOM_INLINE = frozenset(("span", "a", "strong", "em", "b"))
_DOM_TAGS = {"p": 1, "li": 2, "dt": 2, "dd": 2, "h1": 3, "h2": 3, "h3": 3, "h4": 3, "h5": 3, "h6": 3, "div": 4,
             "section": 4, "tr": 5, "td": 5, "th": 5, "blockquote": 6, "figcaption": 7, "caption": 7}
_DOM_LANDMARKS = ("article", "main", "aside", "nav", "footer", "header", "form", "figure")
_CLASS_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_POSITIVE = frozenset("article content body story text post entry main prose rich".split())
_NEGATIVE = frozenset(("related recommend recommended more sidebar side footer nav menu promo newsletter subscribe "
                       "share social comment comments ad ads advert teaser widget card banner popular trending "
                       "tags author bio caption breadcrumb").split())
_PREFIX = 8  # a line not matched whole is matched to the element whose text starts with its first 8 words
_CONTAINER_SHARE = 0.8


@dataclass(slots=True)
class DomContext:
    """One page's block elements by their text, and the body's place among them."""

    by_text: dict
    by_prefix: dict
    words: dict        # element -> (positive, negative) class/id words on it
    container: object  # the body's container element, or None
    depth: dict        # element -> depth, for the container's ancestors
    parents: dict      # parent element -> matched body lines under it
    grands: dict
    matched: int
    body_lines: int


def _class_words(el, cache: dict) -> tuple[int, int]:
    got = cache.get(el)
    if got is None:
        words = [w.lower() for w in _CLASS_WORD.findall((el.get("class") or "") + " " + (el.get("id") or ""))]
        got = cache[el] = (sum(w in _POSITIVE for w in words), sum(w in _NEGATIVE for w in words))
    return got


def dom_context(tree, body_norms: list[str]) -> DomContext:
    """Index a page's tree (lxml, as `tasks.extract.parse_html` builds it): every block element's text in
    `token_form` (leaf containers only), and the body's lines (in `token_form`) located in it."""
    by_text, by_prefix = {}, {}
    for el in tree.iter(_DOM_BLOCKS):
        tag = el.tag
        if tag in _DOM_LEAF_ONLY and any(child.tag in _DOM_BLOCKS and child.tag not in _DOM_INLINE for child in el):
            form = token_form(_own_text(el))  # the text between its blocks: a line broken by them
            if form != "  ":
                by_text.setdefault(form, el)
            continue
        form = token_form(el.text_content())
        if form == "  ":
            continue
        if tag in _DOM_LEAF_ONLY:
            by_text.setdefault(form, el)  # the block around an inline element wins
        else:
            by_text[form] = el  # the deepest block with this text
        words = form.split()
        if len(words) >= _PREFIX:
            by_prefix.setdefault(" ".join(words[:_PREFIX]), el)
    ctx = DomContext(by_text, by_prefix, {}, None, {}, {}, {}, 0, len(body_norms))
    weight: dict = {}
    chains = []
    for n in body_norms:
        el = _element(ctx, n)
        if el is None:
            continue
        chain = [el, *el.iterancestors()]
        chains.append(chain)
        for a in chain:
            weight[a] = weight.get(a, 0) + len(n)
        parent = chain[1] if len(chain) > 1 else None
        grand = chain[2] if len(chain) > 2 else None
        ctx.parents[parent] = ctx.parents.get(parent, 0) + 1
        ctx.grands[grand] = ctx.grands.get(grand, 0) + 1
    ctx.matched = len(chains)
    if chains:
        total = sum(len(n) for n in body_norms if _element(ctx, n) is not None)
        best, best_depth = None, -1
        for chain in chains:
            for i, a in enumerate(chain):
                d = len(chain) - 1 - i
                if weight[a] >= _CONTAINER_SHARE * total and d > best_depth:
                    best, best_depth = a, d
                    break
        ctx.container = best
        chain = [best, *best.iterancestors()]
        ctx.depth = {a: len(chain) - 1 - i for i, a in enumerate(chain)}
    return ctx


def _own_text(el) -> str:
    """An element's text outside its block children (inline children's text included)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and (child.tag in _DOM_INLINE or child.tag not in _DOM_BLOCKS):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return " ".join(parts)


def _element(ctx: DomContext, norm: str):
    el = ctx.by_text.get(norm)
    if el is None:
        words = norm.split()
        if len(words) >= _PREFIX:
            el = ctx.by_prefix.get(" ".join(words[:_PREFIX]))
    return el


def dom_features(ctx: DomContext, norms: list[str]) -> np.ndarray:
    """`DOM_FEATURES` rows of lines given in `token_form`."""
    rows = []
    body_matched = ctx.matched / max(ctx.body_lines, 1)
    for n in norms:
        el = _element(ctx, n)
        if el is None:
            rows.append([0.0] * 16 + [-1.0] * 3 + [-1.0, -1.0, -1.0, -1.0, -1.0, body_matched])
            continue
        tag = [0.0] * 7
        code = _DOM_TAGS.get(el.tag)
        if code:
            tag[code - 1] = 1.0
        chain = [el, *el.iterancestors()]
        tags = {a.tag for a in chain}
        landmarks = [float(t in tags) for t in _DOM_LANDMARKS]
        pos = neg = near = 0
        for i, a in enumerate(chain):
            p, q = _class_words(a, ctx.words)
            pos, neg = pos + p, neg + q
            if i < 3:
                near += q
        if ctx.container is None:
            inside, up, down = -1.0, -1.0, -1.0
        else:
            up = next((i for i, a in enumerate(chain) if a in ctx.depth), len(chain))
            common = chain[up] if up < len(chain) else None
            down = ctx.depth[ctx.container] - ctx.depth[common] if common is not None else -1
            inside = float(common is ctx.container)
        parent = chain[1] if len(chain) > 1 else None
        grand = chain[2] if len(chain) > 2 else None
        share = max(ctx.matched, 1)
        rows.append([1.0, *tag, *landmarks, pos, neg, near, inside, up, down,
                     ctx.parents.get(parent, 0) / share, ctx.grands.get(grand, 0) / share, body_matched])
    return np.array(rows, dtype=float).reshape(len(norms), len(DOM_FEATURES))


def page_tree(html):
    """The page's tree as tasks/extract.py parses it, without scripts and styles (their text is no line)."""
    from lxml import etree

    from tasks.extract import parse_fragment, parse_html

    tree = parse_html(html)
    if tree is None:
        tree = parse_fragment(html)
    etree.strip_elements(tree, "script", "style", "template", with_tail=False)
    return tree


def page_row(page: Page, candidates: str = "main") -> dict | None:
    row = line_models.page_row(page, candidates)
    if row is None:
        return None
    read = cleaned_page(page)  # the same page again, for its HTML (cheap next to the fits)
    html = read[3].html
    tree = page_tree(html)
    ctx = dom_context(tree, [token_form(line) for line in row["body"]])
    row["dom_x"] = dom_features(ctx, [token_form(line) for line in row["lines"]])
    row["drop_dom_x"] = dom_features(ctx, [token_form(line) for line in row["body"]])
    return row


def read(args) -> None:
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for r in pool.map(partial(page_row, candidates=args.candidates), find_pages(args.dataset),
                                    chunksize=8) if r is not None]
    Path(args.rows).write_bytes(pickle.dumps(rows))
    found_c = np.concatenate([r["dom_x"][:, 0] for r in rows if len(r["lines"])])
    found_b = np.concatenate([r["drop_dom_x"][:, 0] for r in rows if len(r["body"])])
    print(f"{len(rows)} pages, {sum(len(r['body']) for r in rows)} body lines ({found_b.mean():.1%} matched to an "
          f"element), {sum(len(r['lines']) for r in rows)} candidates ({found_c.mean():.1%} matched) "
          f"({time.perf_counter() - started:.0f} s)")


def _fit_predict(job):
    x, y, test, seed = job
    return fit(x[~test], y[~test], seed).predict_proba(x[test])[:, 1]


def oof(pool, x, y, fold, folds, seed):
    p = np.zeros(len(y))
    jobs = [(x, y, fold == k, seed) for k in range(folds)]
    for k, q in enumerate(pool.map(_fit_predict, jobs)):
        p[fold == k] = q
    return p


def cv(args) -> None:
    rows = pickle.loads(Path(args.rows).read_bytes())
    take_rows = [r for r in rows if len(r["lines"])]
    x, y = np.vstack([r["x"] for r in take_rows]), np.concatenate([r["y"] for r in take_rows])
    xd = np.hstack([x, np.vstack([r["dom_x"] for r in take_rows])])
    xl = np.hstack([x, np.vstack([r["dom_x"] for r in take_rows])[:, [DOM_FEATURES.index(f) for f in LITE]]])
    page_of = np.concatenate([[i] * len(r["lines"]) for i, r in enumerate(rows)]).astype(int)
    body_rows = [r for r in rows if len(r["body"])]
    dx, dy = np.vstack([r["drop_x"] for r in body_rows]), np.concatenate([r["drop_y"] for r in body_rows])
    dxd = np.hstack([dx, np.vstack([r["drop_dom_x"] for r in body_rows])])
    drop_of = np.concatenate([[i] * len(r["body"]) for i, r in enumerate(rows)]).astype(int)
    hosts = [r["host"] for r in rows]
    print(f"{len(rows)} pages, {len(y)} candidates ({x.shape[1]} + {xd.shape[1] - x.shape[1]} features), "
          f"{len(dy)} body lines ({dx.shape[1]} + {dxd.shape[1] - dx.shape[1]} features)", flush=True)

    def split(take):
        return [take[page_of == i] for i in range(len(rows))]

    def drops(q, d):
        return [line_models.rejected(q[drop_of == i], d) for i in range(len(rows))]

    keep_all = [[] for _ in rows]
    o = line_models.outcome_both(rows, split(np.zeros(len(y), dtype=bool)), keep_all)
    print(f"body alone: F1 {o[0]:.4f}, without left {100 * o[1]:.2f}%, boilerplate pages {o[2]}")
    o = line_models.outcome_both(rows, split(y.astype(bool)), keep_all)
    print(f"oracle take-back: F1 {o[0]:.4f}, without left {100 * o[1]:.2f}%, boilerplate pages {o[2]}", flush=True)
    results: dict = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for seed in range(args.seeds):
            started = time.perf_counter()
            fold, drop_fold = (host_folds(hosts, args.folds, seed)[of] for of in (page_of, drop_of))
            p = {"base": oof(pool, x, y, fold, args.folds, seed), "dom": oof(pool, xd, y, fold, args.folds, seed),
                 "lite": oof(pool, xl, y, fold, args.folds, seed)}
            q = {"none": None}
            if args.drop:
                if not args.drop_dom_only:
                    q["base"] = oof(pool, dx, dy, drop_fold, args.folds, seed)
                q["dom"] = oof(pool, dxd, dy, drop_fold, args.folds, seed)
            for tk, pp in p.items():
                for dk, qq in q.items():
                    if qq is not None and tk not in args.drop_with:
                        continue
                    for t in (TAKE if qq is None else args.drop_take):
                        for d in (DROP if qq is not None else (1.01,)):
                            dropped = keep_all if qq is None else drops(qq, d)
                            results.setdefault((tk, t, dk, d), []).append(
                                line_models.outcome_both(rows, split(pp >= t), dropped))
            print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
            Path(args.rows + ".results.pkl").write_bytes(pickle.dumps(results))
    print(f"out of fold ({args.folds} folds grouped by host, mean of {args.seeds} seeds, F1 range):")
    for (tk, t, dk, d), rs in results.items():
        f1s = [r[0] for r in rs]
        drop = "none" if dk == "none" or d > 1 else f"{dk} p >= {d:.1f}"
        if dk != "none" and d > 1:
            continue  # the same as no drop model
        print(f"  take[{tk:4}] p >= {t:.1f}, drop[{drop:13}]: F1 {np.mean(f1s):.4f} ({min(f1s):.4f}-{max(f1s):.4f}), "
              f"without left {100 * np.mean([r[1] for r in rs]):.2f}%, boilerplate pages {np.mean([r[2] for r in rs]):.1f}")


def cpu(args) -> None:
    """Process CPU of the markup features a page, one process: the parse, and the index and rows."""
    from tasks.clean import read_document  # noqa: F401  (warm the imports)

    pages = list(find_pages(args.dataset))[: args.limit]
    inputs = []
    for page in pages:
        row = line_models.page_row(page, "main")
        if row is None:
            continue
        inputs.append((cleaned_page(page)[3].html, row["body"], row["lines"]))
    spent = np.zeros(4)  # the parse, the index and the body's container, the candidates' rows, the body's rows
    for html, body, lines in inputs:
        t = [time.process_time()]
        tree = page_tree(html)
        t.append(time.process_time())
        body_norms = [token_form(line) for line in body]
        ctx = dom_context(tree, body_norms)
        t.append(time.process_time())
        dom_features(ctx, [token_form(line) for line in lines])
        t.append(time.process_time())
        dom_features(ctx, body_norms)
        t.append(time.process_time())
        spent += np.diff(t)
    ms = 1000 * spent / len(inputs)
    print(f"{len(inputs)} pages, ms a page: parse {ms[0]:.2f}, index and container {ms[1]:.2f}, "
          f"candidates' rows {ms[2]:.2f}, body lines' rows {ms[3]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read")
    r.add_argument("dataset")
    r.add_argument("rows")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--candidates", choices=("main", "page"), default="main",
                   help="take-back candidates from resiliparse's main text (as shipped) or the whole page")
    c = sub.add_parser("cv")
    c.add_argument("rows")
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--seeds", type=int, default=3)
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--drop", action="store_true", help="score the drop model too (fit with and without the markup)")
    c.add_argument("--drop-dom-only", action="store_true", help="fit the drop model with the markup features only")
    c.add_argument("--drop-take", type=float, nargs="+", default=DROP_TAKE, help="take-back thresholds with a drop model")
    c.add_argument("--drop-with", nargs="+", default=("base", "lite"), help="take-back models scored with a drop model")
    p = sub.add_parser("cpu")
    p.add_argument("dataset")
    p.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    {"read": read, "cv": cv, "cpu": cpu}[args.cmd](args)


if __name__ == "__main__":
    main()
