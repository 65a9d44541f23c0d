"""htmldate's extensive search where newsflow's metadata still lack a date, measured.

`page_metadata` (tasks/extract.py) reads the date from the structured data, then the URL, then the
text by the headline; only where all three are silent does it call `htmldate.find_date`, with its
quick search (`EXTENSIVE_DATE_SEARCH = False`). This script runs `page_metadata` on every page of a
WCXB-style dataset twice, with the quick and with the extensive search, and prints:

  - the date accuracy of each against the ground truth's `publish_date` (same day, as `newsflow eval`
    counts it, over the pages whose ground truth has a date);
  - what the extensive search changes: days found where the ground truth has the same day, another
    day, or no date at all;
  - the process CPU of `page_metadata` in each mode, over all pages and per page where the search ran.

Usage:

    .venv/bin/python bench/date_search.py ../shared/datasets/wcxb-dev-articles
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import tasks.extract as extract  # noqa: E402
from tasks.evaluate import find_pages, read_page  # noqa: E402


def day(value: object) -> str:
    return str(value or "")[:10]


class CountedFindDate:
    """htmldate.find_date as `page_metadata` calls it, counting the pages that reach it."""

    def __init__(self, find_date) -> None:
        self.find_date, self.calls = find_date, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.find_date(*args, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--limit", type=int, help="the first N pages only")
    args = ap.parse_args()

    found: dict[bool, list[str]] = {False: [], True: []}
    cpu = {False: 0.0, True: 0.0}
    gold: list[str] = []
    counted = CountedFindDate(extract.htmldate.find_date)
    extract.htmldate.find_date = counted  # page_metadata looks it up at each call
    for page in find_pages(args.dataset, args.limit):
        raw, record = read_page(page)
        gold.append(day(record.get("ground_truth", {}).get("publish_date")))
        for extensive in (False, True):
            extract.EXTENSIVE_DATE_SEARCH = extensive  # read by page_metadata at each call
            tree = extract.parse_html(raw)  # a tree for each mode: htmldate may clean the one it gets
            started = time.process_time()
            meta = extract.page_metadata(tree, record.get("url")) if tree is not None else None
            cpu[extensive] += time.process_time() - started
            found[extensive].append(day(meta.published_at if meta else None))

    dated = [i for i, g in enumerate(gold) if g]
    searched = counted.calls // 2  # the same pages reach htmldate in both modes
    undated = sum(1 for d in found[False] if not d)
    print(f"{len(gold)} pages, {len(dated)} with a date in the ground truth; htmldate runs on {searched}, "
          f"and its quick search finds no date on {undated} of them")
    for extensive in (False, True):
        right = sum(1 for i in dated if found[extensive][i] == gold[i])
        print(f"  {'extensive' if extensive else 'quick':>9} search: date right on {right} of {len(dated)} "
              f"({right / len(dated):.1%}); page_metadata CPU {cpu[extensive]:.1f} s")
    changes: Counter[str] = Counter()
    for quick, ext, g in zip(found[False], found[True], gold):
        if quick == ext:
            continue
        if not g:
            changes["a date on a page whose ground truth has none"] += 1
        elif ext == g:
            changes["the right day"] += 1
        elif quick == g:
            changes["a wrong day where the quick search was right"] += 1
        else:
            changes["a wrong day"] += 1
    print("  the extensive search gives, where the two differ:")
    for what, n in changes.most_common():
        print(f"    {n:4d}  {what}")
    if searched:
        print(f"  its extra CPU, per page where it runs: {(cpu[True] - cpu[False]) / searched * 1000:.0f} ms")


if __name__ == "__main__":
    main()
