"""The lake (DuckLake on PostgreSQL) against the DuckDB file, measured in one run on one machine.

1. A run adding 10 new pages to a warehouse of 1,000 and of 20,000 articles, on each backend (the
   median of 3 runs; each is a real `ingest` flow run in this process, Prefect ephemeral).
2. The marginal ingest rate: (pages of a 200-page run - pages of a 10-page run) / (difference in
   time), per backend, and the lake's rate as a ratio of the file's (target >= 0.9).
   Then `newsflow search` on the largest lake: the first search (its local index built) and a later one.
3. Two concurrent writers on the lake (two `newsflow ingest` processes, 150 distinct pages each)
   against one process loading the same 300 pages: combined rate ratio.

The warehouses are seeded without cleaning 20,000 pages: a few hundred corpus pages are cleaned once
and loaded through the same `Warehouse.load_batch` as copies with new ids (and entity and story
features renamed per copy, so copies do not all crowd into one story). A throwaway PostgreSQL
cluster is started (tests/postgres_harness.py). Usage:

    .venv/bin/python bench/lake_bench.py [--sizes 1000,20000] [--base 250] [--out bench/out/lake]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="lake-bench-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# A fresh Prefect home makes Prefect's temporary server run every migration before it answers: more
# than its default 20 s on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)

from corpus import CorpusBuilder  # noqa: E402
from postgres_harness import PostgresCluster  # noqa: E402

NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


def cleaned(folder: Path, n: int) -> list:
    """(RawDocument, Article) of n corpus pages, cleaned and analyzed once."""
    from tasks.clean import clean_document
    from tasks.enrich import analysis_of
    from tasks.models import Article
    from tasks.sources import read_all

    files = CorpusBuilder(seed=3).write(folder, n)
    out = []
    for doc in read_all(files):
        result = clean_document(doc)
        if isinstance(result, Article):
            analysis_of(result)
            out.append((doc, result))
    return out


def copy_of(doc, article, k: int):
    """Copy `k` of a cleaned page: new document and article ids, entities and story features renamed."""
    from tasks.enrich import Analysis
    from tasks.models import article_id_for
    from tasks.stories import signature

    d = dataclasses.replace(doc, source_uri=f"{doc.source_uri}#copy{k}")
    a0 = article.analysis
    features = {f"{f}~{k}" for f in a0.story_features}
    analysis = Analysis([(f"{e}~{k}", name, kind, f"{key}~{k}") for e, name, kind, key in a0.entities],
                        [(f"{e}~{k}", form, n) for e, form, n in a0.mentions], a0.citations, features,
                        signature(features), None)
    a = dataclasses.replace(article, article_id=article_id_for(d.source_uri), document_id=d.document_id,
                            source_uri=d.source_uri, url=None, canonical_url=None, analysis=analysis)
    return d, a


def seed(warehouse, base: list, total: int, have: int, batch: int = 400) -> None:
    """Load copies of `base` until the warehouse holds `total` articles (it holds `have`)."""
    from tasks.clean import CLEANER_VERSION
    from tasks.load import BatchCounts

    run = f"seed-{time.time_ns()}"
    warehouse.start_run(run, None, "bench seed", CLEANER_VERSION)
    pending = []
    for i in range(have, total):
        pending.append(copy_of(*base[i % len(base)], i // len(base) + 1))
        if len(pending) == batch or i == total - 1:
            warehouse.load_batch(run, CLEANER_VERSION, [d for d, _ in pending], [a for _, a in pending], [])
            pending = []
    warehouse.ensure_search_index()  # the file's index is built once here, not by the first timed run
    warehouse.finish_run(run, "completed", total - have, BatchCounts())


def timed_ingest(folder: Path, db: Path, warehouse: str | None) -> float:
    from flows.ingest import ingest

    started = time.perf_counter()
    ingest(sources=[str(folder)], db=str(db), warehouse=warehouse)
    return time.perf_counter() - started


class Backend:
    """One warehouse under test: the file at `db`, or the lake named by `url` (data beside `db`)."""

    def __init__(self, name: str, db: Path, url: str | None):
        self.name, self.db, self.url = name, db, url

    def _data_path(self) -> None:
        if self.url:  # the flow resolves its settings from the environment
            os.environ["NEWSFLOW_LAKE_DATA_PATH"] = str(self.db.parent / "lake-data") + "/"

    def warehouse(self):
        from newsflow.config import resolve_settings
        from tasks.warehouse import Warehouse

        self._data_path()
        return Warehouse.open(self.db, resolve_settings(db=str(self.db), warehouse=self.url))

    def run_pages(self, pages: CorpusBuilder, start: int, n: int, work: Path) -> float:
        folder = work / f"{self.name}-{start}"
        pages.write(folder, n, start)
        self._data_path()
        return timed_ingest(folder, self.db, self.url)


def small_runs(backends: list[Backend], base: list, sizes: list[int], work: Path) -> dict:
    """Median time of a run adding 10 pages at each warehouse size, per backend."""
    pages = CorpusBuilder(seed=99)
    have = {b.name: 0 for b in backends}
    start = 1_000_000
    out: dict[tuple[str, int], float] = {}
    for size in sizes:
        for b in backends:
            w = b.warehouse()
            seed(w, base, size, have[b.name])
            have[b.name] = size
            times = []
            for _ in range(3):
                times.append(b.run_pages(pages, start, 10, work))
                start += 10
            out[(b.name, size)] = statistics.median(times)
            print(f"  {b.name:5} {size:>6} articles: a 10-page run takes {out[(b.name, size)]:.2f} s "
                  f"({', '.join(f'{t:.2f}' for t in times)})", flush=True)
    return out


def marginal(backends: list[Backend], work: Path, small: int = 20, large: int = 220) -> dict[str, float]:
    """Pages per second a run's extra pages cost on an empty warehouse of each backend:
    (large - small) / (t(large) - t(small)), the backends taking turns so both see the same machine."""
    pages = CorpusBuilder(seed=77)
    times: dict[str, dict[int, float]] = {b.name: {} for b in backends}
    start = 2_000_000
    for n in (small, large):
        for b in backends:
            times[b.name][n] = b.run_pages(pages, start, n, work)
            start += n
    rates = {}
    for name, t in times.items():
        rates[name] = (large - small) / max(1e-9, t[large] - t[small])
        print(f"  {name:5} {small} pages {t[small]:.2f} s, {large} pages {t[large]:.2f} s: "
              f"{rates[name]:.1f} pages/s marginal", flush=True)
    return rates


def writers(url: str, data_path: str, work: Path) -> tuple[float, float]:
    """Seconds for one process loading 300 pages, and for two processes loading 150 each at once."""
    from ingest_harness import PrefectServer

    pages = CorpusBuilder(seed=55)
    one = pages.write(work / "one", 300, 3_000_000)
    halves = [pages.write(work / "two-a", 150, 4_000_000), pages.write(work / "two-b", 150, 4_000_150)]
    with PrefectServer(work / "prefect-home") as server:
        env = server.env(NEWSFLOW_WAREHOUSE=url, NEWSFLOW_LAKE_DATA_PATH=data_path)
        db = str(work / "writers" / "news.duckdb")
        started = time.perf_counter()
        subprocess.run([NEWSFLOW, "ingest", str(one[0].parent), "--db", db], env=env, check=True,
                       capture_output=True)
        single = time.perf_counter() - started
        started = time.perf_counter()
        procs = [subprocess.Popen([NEWSFLOW, "ingest", str(h[0].parent), "--db", db], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for h in halves]
        assert all(p.wait() == 0 for p in procs), "a writer failed"
        double = time.perf_counter() - started
    return single, double


def search_times(url: str, mirror: Path) -> tuple[float, float]:
    """Seconds for the first `newsflow search` on the lake (the local index built from scratch) and for
    a later one that finds nothing changed (tasks/lake.py: lake_search_index)."""
    from tasks.lake import lake_search_index
    from tasks.search import search

    times = []
    for _ in range(2):
        started = time.perf_counter()
        con = lake_search_index(url, mirror)
        search(con, "artillery shells", 10)
        con.close()
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--base", type=int, default=250, help="corpus pages cleaned once to seed from")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "lake")
    parser.add_argument("--steps", default="1,2,3", help="which measurements (1: size, 2: marginal rate, 3: writers)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    steps = set(args.steps.split(","))
    with PostgresCluster() as pg:
        timed_ingest(CorpusBuilder(seed=1).write(args.out / "warm-up", 2)[0].parent, args.out / "warm" / "news.duckdb",
                     None)  # starts Prefect's temporary server, so no timed run pays for it
        if "1" in steps:
            by_size(pg, args.out, sizes, args.base)
        if "2" in steps:
            print("2. marginal ingest rate (empty warehouses):", flush=True)
            rates = marginal([Backend("file", args.out / "mfile" / "news.duckdb", None),
                              Backend("lake", args.out / "mlake" / "news.duckdb",
                                      f"ducklake:postgres:{pg.create_database('marginal')}")], args.out)
            print(f"   lake / file = {rates['lake'] / rates['file']:.2f}x (target >= 0.9)")
        if "3" in steps:
            print("3. writers on the lake:", flush=True)
            single, double = writers(f"ducklake:postgres:{pg.create_database('writers')}",
                                     str(args.out / "writers-data") + "/", args.out)
            print(f"   one process 300 pages {single:.1f} s ({300 / single:.1f}/s); two processes 150 each "
                  f"{double:.1f} s ({300 / double:.1f}/s): {single / double:.2f}x")


def by_size(pg: PostgresCluster, out: Path, sizes: list[int], base_pages: int) -> None:
    """Step 1, and the lake's search at the largest size."""
    url = f"ducklake:postgres:{pg.dsn}"
    backends = [Backend("file", out / "file" / "news.duckdb", None), Backend("lake", out / "lake" / "news.duckdb", url)]
    print(f"cleaning {base_pages} corpus pages to seed from ...", flush=True)
    base = cleaned(out / "base", base_pages)
    print("1. a run adding 10 pages, by warehouse size:", flush=True)
    small = small_runs(backends, base, sizes, out)
    for name in ("file", "lake"):
        print(f"   {name}: {sizes[-1]} / {sizes[0]} articles = "
              f"{small[(name, sizes[-1])] / small[(name, sizes[0])]:.2f}x the time")
    first, later = search_times(url, out / "lake" / "news.lake-search.duckdb")
    print(f"   search on the lake of {sizes[-1]} articles: first {first:.2f} s (local index built), "
          f"then {later:.2f} s (nothing changed)", flush=True)

if __name__ == "__main__":
    main()
