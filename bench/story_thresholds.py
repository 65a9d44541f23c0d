"""Measure story grouping: the five samples (one event) against the WCXB dev pages (unrelated negatives).

Prints, per feature type and threshold: pairwise Jaccard between the samples (exact, not MinHash),
the worst unrelated pairs, and what the real incremental LSH assignment (tasks/stories.py, a temp
DuckDB) does: whether the samples form one story, how many WCXB pages join it, how many WCXB pages end
up grouped with another. Also entity/citation extraction cost per article. Usage:

    .venv/bin/python bench/story_thresholds.py [path/to/wcxb-dev-articles]
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from newsflow import settings  # noqa: E402
from tasks import load as L  # noqa: E402
from tasks import stories as S  # noqa: E402
from tasks.citations import extract_citations  # noqa: E402
from tasks.entities import STOPWORDS, extract_entities  # noqa: E402
from warehouse_helpers import WCXB, sample_articles  # noqa: E402

_W = re.compile(r"\w+")


def word_shingles(text: str, k: int) -> set[str]:
    w = _W.findall(text.lower())
    return {" ".join(w[i:i + k]) for i in range(len(w) - k + 1)}


FEATURES = {
    "word 3-shingles": lambda t: word_shingles(t, 3),
    "word 1-shingles": lambda t: word_shingles(t, 1),
    "content words": lambda t: {w for w in _W.findall(t.lower()) if len(w) > 3 and w not in STOPWORDS},
    "entity keys": lambda t: {m.key for m in extract_entities(t)},
}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def main(root: Path) -> None:
    samples = [a.body for a in sample_articles()]
    pages = []
    for path in sorted((root / "ground-truth").glob("*.json")):
        text = json.loads(path.read_text(encoding="utf-8"))["ground_truth"].get("main_content") or ""
        if len(text) >= settings.MIN_BODY_CHARS:
            pages.append((path.stem, text))
    print(f"{len(samples)} samples, {len(pages)} WCXB pages\n")
    print("| features | sample pairs min / median | sample vs WCXB max | WCXB pairs max / 99.9th pct |")
    print("|---|---|---|---|")
    for name, fn in FEATURES.items():
        s = [fn(t) for t in samples]
        n = [fn(t) for _, t in pages]
        pos = [jaccard(a, b) for a, b in itertools.combinations(s, 2)]
        cross = [jaccard(a, b) for a in s for b in n]
        nn = sorted(jaccard(a, b) for a, b in itertools.combinations(n, 2))
        print(f"| {name} | {min(pos):.3f} / {statistics.median(pos):.3f} | {max(cross):.3f} | "
              f"{nn[-1]:.3f} / {nn[int(0.999 * (len(nn) - 1))]:.3f} |")

    t0 = time.perf_counter()
    feats = [(pid, None, S.story_features({m.key for m in extract_entities(t)}, t)) for pid, t in pages]
    for _, t in pages:
        extract_citations(t)
    per_doc = (time.perf_counter() - t0) / len(pages) * 1e3
    print(f"\nentity + citation extraction: {per_doc:.2f} ms per WCXB page (one core)\n")

    arts = sample_articles()
    sample_items = [(a.article_id, a.title, S.story_features({m.key for m in extract_entities(a.body)}, a.body))
                    for a in arts]
    print("| threshold | LSH (b, r) | samples' stories | WCXB pages joining it | WCXB pages grouped | "
          "assign ms/article |")
    print("|---|---|---|---|---|---|")
    for threshold in (0.1, 0.15, 0.2, 0.25, 0.3):
        with tempfile.TemporaryDirectory() as tmp:
            con = L.connect(Path(tmp) / "s.duckdb")
            now = L.utcnow()
            S.write_assignments(con, S.assign_stories(con, sample_items, threshold), now)
            t0 = time.perf_counter()
            for i in range(0, len(feats), 200):  # batches, as the flow loads them
                S.write_assignments(con, S.assign_stories(con, feats[i:i + 200], threshold), now)
            ms = (time.perf_counter() - t0) / len(feats) * 1e3
            sample_ids = [a.article_id for a in arts]
            stories = con.execute("select count(distinct story_id) from story_articles where article_id in "
                                  "(select unnest(?))", [sample_ids]).fetchone()[0]
            story = con.execute("select story_id from story_articles where article_id = ?", [sample_ids[0]]).fetchone()[0]
            joined = con.execute("select count(*) from story_articles where story_id = ? and article_id like '0%' "
                                 "and article_id not in (select unnest(?))", [story, sample_ids]).fetchone()[0]
            grouped = con.execute("select count(*) from story_articles where story_id <> article_id "
                                  "and article_id not in (select unnest(?))", [sample_ids]).fetchone()[0]
            print(f"| {threshold} | {S.lsh_params(threshold)} | {stories} | {joined} | {grouped} | {ms:.2f} |")
            con.close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, nargs="?", default=WCXB, help=f"WCXB-layout folder (default {WCXB})")
    main(parser.parse_args().dataset)
