"""`make bench-fetch`: how long `newsflow ingest` takes to fetch H feeds against what politeness allows.

Starts H news sites on 127.0.0.2 ... 127.0.0.<H+1>, one port (bench/sites.py: robots.txt, an RSS feed
of K items, K article pages, each answer after `latency` seconds), then measures in one run:

  (s)  start-up: `newsflow ingest` of one page of one site into a fresh warehouse (interval 0, so
       the start-up holds no politeness wait);
  (w)  `newsflow ingest --source` of one source listing the H feeds (max_items raised to fit) into a
       fresh warehouse, at the given per-host interval, and the
       same at a second size (2H feeds of 2K items) to show peak RSS does not grow with H x K.

and prints the wall time against the polite bound, (K+1) x interval + latency (each host needs its
robots.txt, its feed and K pages, one interval apart), plus start-up, and against a sequential walk
(one URL after another: H x the polite bound). Each ingest runs as a subprocess, as a user runs it;
peak RSS is sampled over its whole process tree. Usage:

    .venv/bin/python bench/fetch_bench.py                   # H=50, K=10, latency 0.2 s, interval 1 s
    .venv/bin/python bench/fetch_bench.py --hosts 8 --items 8 --latency 0.15
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import NEWSFLOW, TreeSampler  # noqa: E402
from sites import Sites  # noqa: E402


def run_ingest(urls: list[str], workdir: Path, name: str, interval: float, kind: str = "feed") -> dict:
    """`newsflow ingest --source` of the URLs (one source, its max_items raised to fit them all) into a
    fresh warehouse; wall seconds, peak RSS, loaded articles."""
    config = workdir / f"{name}.toml"
    locations = ", ".join(f'"{u}"' for u in urls)
    config.write_text(f"[fetch]\nallow_private_networks = true\nmin_host_interval = {interval}\n\n"
                      f'[[sources]]\nname = "bench"\nkind = "{kind}"\nlocations = [{locations}]\n'
                      "limits = { max_items = 100000 }\n", encoding="utf-8")
    db = workdir / name / "news.duckdb"
    env = dict(os.environ, COLUMNS="200", NEWSFLOW_FETCH_HOSTS_DIR=str(workdir / "hosts"))
    log = workdir / f"{name}.log"
    started = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen([str(NEWSFLOW), "ingest", "--source", "bench", "--db", str(db), "--config", str(config)],
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
    if code != 0:
        sys.exit(f"newsflow ingest failed (exit {code}); see {log}")
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    articles = con.execute("select count(*) from articles").fetchone()[0]
    con.close()
    return {"seconds": seconds, "peak_rss": sampler.peak_total, "articles": articles}


def measure(hosts: int, items: int, latency: float, interval: float, workdir: Path, name: str) -> dict:
    with Sites(hosts, items, latency) as sites:
        result = run_ingest(sites.feeds(), workdir, name, interval)
        arrivals = [t for times in sites.requests.values() for t, _ in times]
    result["span"] = max(arrivals) - min(arrivals)  # first to last request the sites received
    if result["articles"] != hosts * items:
        sys.exit(f"{name}: loaded {result['articles']} articles, expected {hosts * items}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--no-second-size", action="store_true", help="skip the 2H x 2K run")
    args = parser.parse_args()
    h, k, latency, interval = args.hosts, args.items, args.latency, args.interval
    with tempfile.TemporaryDirectory(prefix="newsflow-fetch-bench-") as tmp:
        workdir = Path(tmp)
        with Sites(1, 1, latency) as one:
            start = run_ingest(one.pages(one.addresses[0]), workdir, "startup", 0.0, "urls")  # no politeness wait in it
        main_run = measure(h, k, latency, interval, workdir, "main")
        second = None if args.no_second_size else measure(2 * h, 2 * k, latency, interval, workdir, "double")
    polite = (k + 1) * interval + latency
    bound = polite + start["seconds"]
    sequential = h * polite
    mb = lambda n: f"{n / 1024**2:,.0f} MB"  # noqa: E731
    print(f"newsflow fetch benchmark: {h} hosts x {k} items, latency {latency:g} s, interval {interval:g} s")
    print(f"{'measurement':<48} {'pages':>6} {'seconds':>8} {'peak RSS (tree)':>16}")
    print(f"{'(s)  start-up: ingest of one page':<48} {1:>6} {start['seconds']:>8.1f} {mb(start['peak_rss']):>16}")
    print(f"{f'(w)  ingest of {h} feeds x {k} items':<48} {h * k:>6} {main_run['seconds']:>8.1f} "
          f"{mb(main_run['peak_rss']):>16}")
    if second:
        print(f"{f'(w2) ingest of {2 * h} feeds x {2 * k} items':<48} {4 * h * k:>6} {second['seconds']:>8.1f} "
              f"{mb(second['peak_rss']):>16}")
    print()
    print(f"polite bound (K+1) x interval + latency: {polite:.1f} s; plus start-up: {bound:.1f} s")
    print(f"sequential walk (H x polite bound):      {sequential:.1f} s")
    print(f"crawl span at the sites (first to last request): {main_run['span']:.1f} s; "
          f"(K+1) x interval = {(k + 1) * interval:.1f} s")
    print(f"wall / (polite bound + start-up):  {main_run['seconds'] / bound:.2f}   (target <= 1.5)")
    print(f"wall / sequential walk:            {main_run['seconds'] / sequential:.3f}")
    if second:
        print(f"peak RSS at 4x the pages / at 1x:  {second['peak_rss'] / main_run['peak_rss']:.2f}   "
              "(~1: memory does not grow with H x K)")


if __name__ == "__main__":
    main()
