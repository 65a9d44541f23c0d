"""Line recovery with the candidate's vocabulary against the body's and the title's. Measured.

Line recovery (tasks/recover.py, trained by bench/train_recover.py) judges a candidate line by its form
and its place on the page, not by what it says. A teaser for another article or a related-story blurb
reads like prose and may sit near the body; what tells it apart, one would think, is that it is about
something else. This script adds three features to each candidate and scores the same trees with and
without them:

- `body_vocab`: the share of the line's content words (4+ letters, not a stop word or a number) that
  the body uses too;
- `title_vocab`: the share of the title's content words that the line uses (-1 without a title);
- `content_words`: how many content words the line has.

Scoring as bench/train_recover.py does: out of fold, 5 folds grouped by host, 3 seeds of the split,
figures as `newsflow eval` would report them with the taken lines added. Usage:

    .venv/bin/pip install -c constraints.txt -e '.[bench]'
    OMP_NUM_THREADS=1 .venv/bin/python bench/recover_vocab.py ../shared/datasets/wcxb-dev-articles  # ~6 min
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_confidence import cleaned_page, host_folds  # noqa: E402
from train_recover import THRESHOLDS, candidate_arrays, cv_parser, out_of_fold, outcome, read_rows, row_of  # noqa: E402

_WORD = re.compile(r"\w+")
_STOP = frozenset("""the a an and or of to in on for with at by from is are was were be been it its this that
as but not have has had will would can could their they them he she his her we our you your i that what
which who when where there these those than then also into more most some such about after before over
""".split())
NAMES = ("body_vocab", "title_vocab", "content_words")


def page_row(page):
    """train_recover's row of a page, with the cleaned title."""
    read = cleaned_page(page)
    if read is None:
        return None
    row = row_of(page, read)
    row["title"] = read[4].title
    return row


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in _STOP and not w.isdigit()}


def vocab_features(row: dict) -> np.ndarray:
    """One row of `NAMES` per candidate line of a page."""
    body, title = content_words("\n".join(row["body"])), content_words(row["title"] or "")
    out = []
    for line in row["lines"]:
        words = content_words(line)
        out.append([len(words & body) / len(words) if words else 0.0,
                    len(words & title) / len(title) if title else -1.0,
                    float(len(words))])
    return np.array(out, dtype=float).reshape(-1, len(NAMES))


def main() -> None:
    args = cv_parser(__doc__).parse_args()
    started = time.perf_counter()
    rows = read_rows(args.dataset, args.workers, reader=page_row)
    x, y, page_of = candidate_arrays(rows)
    extra = np.vstack([vocab_features(r) for r in rows if len(r["lines"])])
    hosts = [r["host"] for r in rows]
    print(f"{len(rows)} pages, {len(y)} candidate lines ({time.perf_counter() - started:.0f} s)")

    def split(take: np.ndarray) -> list[np.ndarray]:
        return [take[page_of == i] for i in range(len(rows))]

    for name, features in (("shipped features", x), ("+ body_vocab", np.hstack([x, extra[:, :1]])),
                           ("+ body_vocab, title_vocab", np.hstack([x, extra[:, :2]])),
                           ("+ all three", np.hstack([x, extra]))):
        results: dict[float, list] = {t: [] for t in THRESHOLDS}
        for seed in range(args.seeds):
            p = out_of_fold(features, y, host_folds(hosts, args.folds, seed)[page_of], args.folds, seed)
            for t in THRESHOLDS:
                results[t].append(outcome(rows, split(p >= t)))
        print(f"{name} (out of fold, mean of {args.seeds} seeds):", flush=True)
        for t, rs in results.items():
            f1s = [r[0] for r in rs]
            print(f"  p >= {t:.1f}:  F1 {np.mean(f1s):.4f} ({min(f1s):.4f}-{max(f1s):.4f}), "
                  f"without left {100 * np.mean([r[1] for r in rs]):.2f}%, "
                  f"boilerplate pages {np.mean([r[2] for r in rs]):.1f}", flush=True)


if __name__ == "__main__":
    main()
