"""Where newsflow's publication day is wrong, could the page have told it? Measured.

For every page of a WCXB-style dataset whose ground truth has a `publish_date` (and a main text, as
`newsflow eval` scores), this script cleans the
page as `newsflow eval` does (`clean_document`) and, where the day differs, searches the page's HTML
for the ground truth's day written in any common form: ISO (`2024-01-05`, `2024/01/05`, `20240105`),
numeric (`01/05/2024`, `1/5/2024`, `05.01.2024`, `1/5/24`) and written out (`January 5, 2024`,
`Jan. 5th 2024`, `5 January 2024`, `5th of Jan 2024`, ...). It prints:

  - the date accuracy, as `newsflow eval` counts it (same day);
  - the wrong pages whose ground-truth day is nowhere in the HTML (no reading of the page can give it),
    and of those, the ones where not even its year is;
  - the accuracy no extractor can pass on these pages: every page right except those;
  - for the pages whose markup states one published and one different modified day, the day shown
    by the headline (`heading_text`) against the day the ground truth takes.

Usage:

    .venv/bin/python bench/date_ceiling.py ../shared/datasets/wcxb-dev-articles [--list]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tasks.clean import clean_document  # noqa: E402
from tasks.evaluate import find_pages, read_page  # noqa: E402
from tasks.extract import parse_html  # noqa: E402
from tasks.meta import heading_text, text_days, to_day  # noqa: E402
from tasks.models import Article, RawDocument, sha256_hex  # noqa: E402

_FORMS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%-m/%-d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%-m/%-d/%y",
          "%m/%d/%y")
_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]+)"|article:published_time"\s+content="([^"]+)"'
                        r'|itemprop="datePublished"\s+content="([^"]+)"', re.I)
_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]+)"|article:modified_time"\s+content="([^"]+)"'
                       r'|itemprop="dateModified"\s+content="([^"]+)"', re.I)


def written(day: dt.date, page: str) -> bool:
    """`day` written anywhere in `page` (lower-cased): in one of the numeric `_FORMS`, or with its month's
    name ("January 5, 2024", "Jan. 5th 2024", "Sept. 5, 2024", "5 January 2024", "5th of Jan 2024")."""
    if any(day.strftime(form).lower() in page for form in _FORMS):
        return True
    month = "|".join({day.strftime("%B").lower(), day.strftime("%b").lower()} | ({"sept"} if day.month == 9 else set()))
    number = rf"0?{day.day}(?:st|nd|rd|th)?"
    return re.search(rf"\b(?:{month})\.?\s+{number},?\s+{day.year}\b"
                     rf"|\b{number}\.?\s+(?:of\s+)?(?:{month})\.?,?\s+{day.year}\b", page) is not None


def stated_days(pattern: re.Pattern[str], page: str) -> set[str]:
    return {d for m in pattern.finditer(page) if (d := to_day(next(g for g in m.groups() if g)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--limit", type=int, help="the first N pages only")
    ap.add_argument("--list", action="store_true", help="print each wrong page: id, ground truth, ours")
    args = ap.parse_args()

    dated = right = 0
    absent = 0  # wrong pages whose ground-truth day the HTML does not state
    no_year = 0
    shown = Counter()
    for page in find_pages(args.dataset, args.limit):
        raw, record = read_page(page)
        truth = record.get("ground_truth", {})
        gold = str(truth.get("publish_date") or "")[:10]
        if not gold or not (truth.get("main_content") or "").strip():
            continue  # `newsflow eval` scores only the pages with a main text
        dated += 1
        url = record.get("url")
        doc = RawDocument("eval:" + (url or ""), "html", raw, sha256_hex(raw), len(raw),
                          fields={"url": url} if url else {})
        article = clean_document(doc)
        ours = str(article.published_at or "")[:10] if isinstance(article, Article) else ""
        text = raw.decode("utf-8", "replace")
        published, modified = stated_days(_PUBLISHED, text), stated_days(_MODIFIED, text)
        if len(published) == 1 and len(modified) == 1 and published != modified:
            days = text_days(" ".join(heading_text(parse_html(raw))))
            (pub,), (mod,) = published, modified
            by_headline = "+".join(k for k, d in (("published", pub), ("modified", mod)) if d in days) or "neither"
            taken = "published" if gold == pub else "modified" if gold == mod else "another day"
            shown[(by_headline, taken)] += 1
        if ours == gold:
            right += 1
            continue
        try:
            day = dt.date.fromisoformat(gold)
        except ValueError:  # a month only ("2015-11"): no day to find
            day = None
        lowered = text.lower()
        missing = day is None or not written(day, lowered)
        absent += missing
        no_year += missing and (day is None or str(day.year) not in lowered)
        if args.list:
            print(f"{page.page_id}  ground truth {gold:10}  newsflow {ours or '-':10}  "
                  f"{'not in the page' if missing else ''}")

    wrong = dated - right
    print(f"dated pages {dated}: newsflow's day right on {right} ({right / dated:.1%}), wrong on {wrong}")
    print(f"  wrong, and the ground truth's day is written nowhere in the HTML: {absent} "
          f"(not even its year, or no day given: {no_year})")
    print(f"  ceiling for any reading of these pages: {(dated - absent) / dated:.1%}")
    print("pages stating one published and one different modified day: which the headline shows, "
          "which the ground truth takes")
    for (by_headline, taken), n in sorted(shown.items()):
        print(f"  shown by the headline: {by_headline:20} ground truth takes: {taken:12} {n}")


if __name__ == "__main__":
    main()
