"""`newsflow ingest` against what a user would write instead: a dlt pipeline around trafilatura.

The peer (`peer` below) is the plain alternative: `trafilatura.bare_extraction(html, with_metadata=True)`
in a process pool (one process per core), its rows loaded into DuckDB with
`dlt.pipeline(destination="duckdb")`. It cleans no boilerplate lines, validates nothing, keeps no raw
page, builds no search index, stories or entities: newsflow does all of that in the same run.

One run of this script builds N distinct real news pages (bench/corpus.py), then times, alternately and
each as a whole fresh process as a user would start it (imports, pools, Prefect, dlt state, all start-up
included; fresh Prefect home, fresh dlt pipelines folder, fresh DuckDB file):

  (t) bare `trafilatura.extract` over the pages in a pool (text only, no warehouse): the reference;
  (p) the dlt peer;
  (n) `newsflow ingest PAGES --db fresh.duckdb`.

Each is run `--rounds` times (interleaved, so a drift in the machine's speed hits all three alike); the
median is reported, and the ratio newsflow / peer (below 1: newsflow is faster). Usage:

    .venv/bin/python bench/dlt_peer.py              # N = 1,000, 3 rounds
    .venv/bin/python bench/dlt_peer.py --n 200 --rounds 1

Needs the bench extra: `pip install -c constraints.txt -e '.[bench]'` (dlt).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import CorpusBuilder  # noqa: E402

NEWSFLOW = Path(sys.executable).with_name("newsflow")
# The text fields of trafilatura's Document that a user would load (the lxml trees are not rows).
PEER_FIELDS = ("title", "author", "url", "hostname", "description", "sitename", "date", "categories", "tags",
               "fingerprint", "id", "license", "text", "language", "image", "pagetype")


# ------------------------------------------------------------------------------- the peer itself
def peer_row(path: str) -> dict | None:
    """One page through `bare_extraction` with metadata, as the row a dlt resource yields."""
    import trafilatura

    with open(path, "rb") as fh:
        doc = trafilatura.bare_extraction(fh.read(), with_metadata=True)
    if doc is None:
        return None
    row = {k: getattr(doc, k, None) for k in PEER_FIELDS}
    row["source"] = path
    return row


def peer(folder: Path, db: Path, workers: int) -> int:
    """The dlt pipeline: a resource that yields the pool's rows, loaded into a DuckDB file."""
    import dlt

    paths = sorted(str(p) for p in folder.glob("*.html"))

    @dlt.resource(name="articles", write_disposition="append")
    def articles():
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for row in pool.imap_unordered(peer_row, paths, chunksize=8):
                if row is not None:
                    yield row

    pipeline = dlt.pipeline(pipeline_name="peer", destination=dlt.destinations.duckdb(str(db)),
                            dataset_name="news")
    pipeline.run(articles())
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from news.articles").fetchone()[0]


def plain_extract(folder: Path, workers: int) -> int:
    """Bare `trafilatura.extract` over the pages in a pool: text only, nothing stored."""
    paths = sorted(str(p) for p in folder.glob("*.html"))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return sum(1 for text in pool.imap_unordered(_extract_one, paths, chunksize=8) if text)


def _extract_one(path: str) -> str | None:
    import trafilatura

    with open(path, "rb") as fh:
        return trafilatura.extract(fh.read())


# ---------------------------------------------------------------------------------- the timing
def timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    """Wall seconds of one whole process, start-up included."""
    started = time.perf_counter()
    with log.open("w") as fh:
        code = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - started
    if code != 0:
        sys.exit(f"{cmd[:3]} failed (exit {code}); see {log}")
    return seconds


def one_round(work: Path, corpus: Path, workers: int, i: int) -> dict[str, float]:
    """(t), (p) and (n) once each, every one in a fresh process with fresh state."""
    fresh = work / f"round-{i}"
    fresh.mkdir()
    env = dict(os.environ, COLUMNS="200", PREFECT_HOME=str(fresh / "prefect"),
               DLT_DATA_DIR=str(fresh / "dlt"), DLT_PROJECT_DIR=str(fresh / "dlt-project"),
               RUNTIME__DLTHUB_TELEMETRY="false")
    me = [sys.executable, str(Path(__file__).resolve())]
    times = {}
    order = [("t", me + ["extract", str(corpus), "--workers", str(workers)]),
             ("p", me + ["peer", str(corpus), "--db", str(fresh / "peer.duckdb"), "--workers", str(workers)]),
             ("n", [str(NEWSFLOW), "ingest", str(corpus), "--db", str(fresh / "news.duckdb"),
                    "--workers", str(workers)])]
    for key, cmd in order[i % 3:] + order[:i % 3]:  # rotate who goes first
        times[key] = timed(cmd, env, fresh / f"{key}.log")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    for name in ("peer", "extract"):
        p = sub.add_parser(name)
        p.add_argument("folder", type=Path)
        p.add_argument("--db", type=Path)
        p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--n", type=int, default=1000, help="distinct pages (default 1,000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes (one per core)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    if args.cmd == "peer":
        print(f"peer loaded {peer(args.folder, args.db, args.workers)} rows")
        return
    if args.cmd == "extract":
        print(f"extract: {plain_extract(args.folder, args.workers)} texts")
        return
    work = Path(tempfile.mkdtemp(prefix="newsflow-peer-"))
    try:
        corpus = work / "corpus"
        CorpusBuilder().write(corpus, args.n)
        print(f"{args.n:,} pages in {corpus}; {args.workers} workers; {args.rounds} rounds", flush=True)
        rounds = []
        for i in range(args.rounds):
            rounds.append(one_round(work, corpus, args.workers, i))
            print("  round %d: " % (i + 1) + ", ".join(f"{k} {v:.1f} s" for k, v in rounds[-1].items()), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in rounds) for k in ("t", "p", "n")}
    labels = {"t": "(t) bare trafilatura.extract, pool", "p": "(p) dlt peer: bare_extraction + dlt -> DuckDB",
              "n": "(n) newsflow ingest"}
    print(f"\n{'whole run, median of ' + str(len(rounds)):<48} {'seconds':>8} {'docs/s':>8} {'vs peer':>8}")
    for k in ("t", "p", "n"):
        print(f"{labels[k]:<48} {med[k]:>8.1f} {args.n / med[k]:>8.1f} {med[k] / med['p']:>7.2f}x")


if __name__ == "__main__":
    main()
