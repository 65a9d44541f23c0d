"""Compare this checkout's `newsflow ingest` with an earlier revision's, run for run, on one corpus.

`make bench` measures against trafilatura's own speed; this script answers "did a change make ingest
slower?". Both sides run the same generated pages through the same venv, alternating (base, head,
base, head, ...), so a drift in the machine's speed or another job's load falls on both alike:

  start-up  `newsflow ingest` of one page into a fresh warehouse, REPEATS times per side (median);
  marginal  ingest of N and of 4N pages into fresh warehouses; the rate 3N / (t(4N) - t(N)) and the
            CPU per page of the whole process tree, (cpu(4N) - cpu(N)) / 3N, exclude start-up.

The CPU figures hold when the machine is busy; the wall figures need it idle. The earlier revision is
checked out in a temporary git worktree and run with PYTHONPATH pointing at it. Usage:

    .venv/bin/python bench/ab.py --base d342b38            # N = 500 (and 2,000)
    .venv/bin/python bench/ab.py --base main~5 --n 1000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ingest  # noqa: E402
from corpus import REPO_ROOT, CorpusBuilder  # noqa: E402

REPEATS = 3


def corpus(work: Path, n: int) -> dict[str, Path]:
    """Folders of 1, N and 4N pages (hard links into one written corpus)."""
    pages = CorpusBuilder().write(work / "pages", 4 * n)
    folders = {}
    for label, count in (("1", 1), ("n", n), ("4n", 4 * n)):
        folder = folders[label] = work / f"corpus-{label}"
        folder.mkdir(exist_ok=True)
        for p in pages[:count]:
            if not (folder / p.name).exists():
                os.link(p, folder / p.name)
    return folders


def measure(sides: dict[str, dict[str, str]], folders: dict[str, Path], work: Path, extra: list[str],
            repeats: int = REPEATS, marginal: bool = True) -> dict:
    """Runs for each side, alternating sides within each step."""
    runs: dict[str, dict[str, list[dict]]] = {side: {"1": [], "n": [], "4n": []} for side in sides}
    steps = [("1", i) for i in range(repeats)] + ([("n", 0), ("4n", 0)] if marginal else [])
    for label, i in steps:
        for side, env in sides.items():
            print(f"{side:>5}: ingest {label} ({i + 1})", flush=True)
            db, log = work / f"{side}-{label}-{i}.duckdb", work / f"{side}-{label}-{i}.log"
            try:
                runs[side][label].append(ingest(folders[label], db, log, extra, env))
            except SystemExit:
                print(log.read_text()[-3000:], file=sys.stderr)  # the work folder is removed on the way out
                raise
    return runs


def summarize(runs: dict[str, list[dict]], n: int) -> dict[str, float]:
    startup = {"start-up wall, s": statistics.median(r["seconds"] for r in runs["1"]),
               "start-up CPU, s": statistics.median(r["cpu"] for r in runs["1"])}
    if not runs["n"]:
        return startup
    b, b4 = runs["n"][0], runs["4n"][0]
    return {
        **startup,
        "marginal pages/s": 3 * n / (b4["seconds"] - b["seconds"]),
        "marginal CPU ms/page": 1000 * (b4["cpu"] - b["cpu"]) / (3 * n),
        "peak RSS 4N, MB": b4["peak_rss"] / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="git revision to compare against (e.g. a commit, main~3)")
    ap.add_argument("--n", type=int, default=500, help="corpus size N (the marginal rate also runs 4N)")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="start-up runs per side (the median is used)")
    ap.add_argument("--startup-only", action="store_true", help="measure start-up only (no N and 4N runs)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes (default: one per core)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsflow-ab-"))
    base = work / "base-checkout"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(base), args.base],
                   check=True, capture_output=True)
    try:
        folders = corpus(work, args.n)
        sides = {"base": {"PYTHONPATH": str(base)}, "head": {"PYTHONPATH": str(REPO_ROOT)}}
        load0 = os.getloadavg()[0]
        os.chdir(work)  # a process started with `python -c` puts the cwd first on sys.path: not the repo
        runs = measure(sides, folders, work, ["--workers", str(args.workers)], args.repeats, not args.startup_only)
        figures = {side: summarize(r, args.n) for side, r in runs.items()}
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nbase {args.base} vs head; N = {args.n:,}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'measurement':<24} {'base':>10} {'head':>10} {'head/base':>10}")
    for key in figures["base"]:
        b, h = figures["base"][key], figures["head"][key]
        print(f"{key:<24} {b:>10.2f} {h:>10.2f} {h / b:>10.3f}")
    for side in sides:
        print(f"{side} start-up runs: " + ", ".join(f"{r['seconds']:.1f} s / {r['cpu']:.1f} s CPU"
                                                    for r in runs[side]["1"]))


if __name__ == "__main__":
    main()
