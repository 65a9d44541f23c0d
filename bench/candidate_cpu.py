"""Per-page CPU of each candidate extraction (bench/candidates.py) and of what a chooser adds, in one process.

For each page, after one warm-up pass over the first pages: the process CPU time (`time.process_time`,
not wall time, so a busy machine counts less) of trafilatura's extraction as the cleaner runs it, of
readability-lxml on a copy of the tree, of resiliparse's parse plus main-content extraction, of its
extraction alone on an already parsed tree, of its all-text extraction on that tree, of the segment
pass on a candidate's lines, and of the chooser's features (bench/chooser.py). The order of the steps
rotates per page. Printed: mean and median ms per page, and each one's ratio to trafilatura's. Usage:

    nice -n 10 .venv/bin/python bench/candidate_cpu.py ../shared/datasets/wcxb-dev-articles [--pages 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidates import _extract, _readability_lines, require_extractors  # noqa: E402
from tasks.evaluate import find_pages, read_page  # noqa: E402


def _steps(raw: bytes, url: str | None) -> dict[str, Callable[[], object]]:
    """The timed steps of one page, as closures over what they share (the trees, as the cleaner would)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    from chooser import page_features
    from tasks.extract import extract_html, parse_html
    from tasks.segments import clean_segments

    tree, page = parse_html(raw), extract_html(raw, url)
    rtree = HTMLTree.parse(bytes_to_str(raw, detect_encoding(raw)))
    lines = _extract("resiliparse", raw, tree, url)
    base = clean_segments(page.segments, page.title, detect_title=False, link_texts=page.link_texts)
    other = clean_segments(lines, page.title, detect_title=False, link_texts=page.link_texts)
    row = {"cands": {"trafilatura": {"body": base.body, "lines": len(page.segments), "features": [0.0] * 8},
                     "resiliparse": {"body": other.body, "lines": len(lines), "features": [0.0] * 8}}}
    return {
        "trafilatura": lambda: _extract("trafilatura", raw, tree, url),
        "readability": lambda: _readability_lines(tree),
        "resiliparse parse+extract": lambda: _extract("resiliparse", raw, tree, url),
        "resiliparse extract (parsed)": lambda: extract_plain_text(rtree, main_content=True, alt_texts=False,
                                                                   list_bullets=False, comments=False),
        "resiliparse all text (parsed)": lambda: extract_plain_text(rtree, main_content=False, alt_texts=False,
                                                                    list_bullets=False, comments=False),
        "segment pass (resiliparse lines)": lambda: clean_segments(lines, page.title, detect_title=False,
                                                                   link_texts=page.link_texts),
        "chooser features (pair)": lambda: page_features(row, ("trafilatura", "resiliparse")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    require_extractors()  # else each missing one's step fails at once and times as ~0 ms
    pages = find_pages(args.dataset)
    pages = pages[:: max(1, len(pages) // args.pages)][: args.pages]
    times: dict[str, list[float]] = {}
    for i, page in enumerate(pages[: args.warmup] + pages):
        raw, record = read_page(page)
        try:
            steps = _steps(raw, record.get("url"))
        except ValueError:
            continue
        names = list(steps)
        turn = i % len(names)
        for name in names[turn:] + names[:turn]:
            started = time.process_time()
            try:
                steps[name]()
            except Exception:  # a failing step still cost its time
                pass
            if i >= args.warmup:
                times.setdefault(name, []).append(time.process_time() - started)
    base = np.mean(times["trafilatura"])
    print(f"{len(times['trafilatura'])} pages, process CPU ms per page")
    for name, values in times.items():
        print(f"  {name:<34} mean {1000 * np.mean(values):6.2f}  median {1000 * np.median(values):6.2f}  "
              f"({np.mean(values) / base:.2f}x trafilatura)")


if __name__ == "__main__":
    main()
