"""Web archives, measured: the WARC reader libraries, the raw store's effect on the analyst copy, and the
ingest rate from a WARC against the same pages as files.

    .venv/bin/python bench/warc_bench.py readers [--n 2000]
    .venv/bin/python bench/warc_bench.py publish --before ../main-checkout [--sizes 500 6000]
    .venv/bin/python bench/warc_bench.py rate [--n 300] [--repeats 3]

`readers`: one CC-NEWS-like WARC.gz of N generated pages (request, response, metadata per page), read
by warcio and by FastWARC (when installed), every HTML response's body decoded: records per second.
`publish`: warehouses of each size built by `newsflow ingest` with the code at `--before` (raw pages
in the DuckDB file) and with this checkout (raw pages in the archive), then a run adding 10 pages:
its wall time, the analyst file's size, and `tasks.publish.publish` timed alone (median of 3).
`rate`: `newsflow ingest` of N and 3N pages as files and as one WARC.gz each, the four runs interleaved
and repeated; the marginal rate (2N pages / the time the 2N more took, medians) of both, and their
ratio (the target: within 5%).
Every figure is measured in the same run as what it is compared with.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from corpus import CorpusBuilder  # noqa: E402  (bench/ is on the path: this script is in it)

OUT = REPO / "bench" / "out" / "warc"


def write_warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    """A CC-NEWS-like WARC.gz: per page a request, its response and a metadata record."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "newsflow bench"}))
        for url, html in pages:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            response = writer.create_warc_record(url, "response", payload=io.BytesIO(html), length=len(html),
                                                 http_headers=http)
            request = writer.create_warc_record(url, "request", http_headers=StatusAndHeaders(
                "GET / HTTP/1.1", [("User-Agent", "bench")], is_http_request=True))
            writer.write_request_response_pair(request, response)
            meta = io.BytesIO(b"fetchTimeMs: 120\r\n")
            writer.write_record(writer.create_warc_record(url, "metadata", payload=meta, length=18))


def corpus_pages(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [(f"https://news.example.com/bench/{i}", page) for i, page in CorpusBuilder().pages(n, start)]


# ------------------------------------------------------------------------------------------ readers
def read_warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response" and record.http_headers.get_statuscode() == "200":
                n += len(record.content_stream().read()) > 0
    return n


def read_fastwarc(path: Path) -> int:
    from fastwarc import ArchiveIterator, WarcRecordType  # FastWARC 2 (Rust); not a newsflow dependency

    n = 0
    for record in ArchiveIterator(str(path), record_types=WarcRecordType.response, parse_http=True,
                                  fsspec_args=False):
        if record.http_headers.status_code == 200:
            n += len(record.reader.read()) > 0
    return n


def readers(n: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"readers-{n}.warc.gz"
    if not path.exists():
        write_warc(path, corpus_pages(n))
    print(f"{path.name}: {n} pages, {3 * n + 1} records, {path.stat().st_size / 2**20:.1f} MB")
    for name, fn in (("warcio", read_warcio), ("fastwarc", read_fastwarc)):
        try:
            times = []
            for _ in range(3):
                started = time.process_time()
                assert fn(path) == n
                times.append(time.process_time() - started)
        except ImportError:
            print(f"{name}: not installed")
            continue
        best = statistics.median(times)
        print(f"{name}: {best:.2f} s CPU (median of 3), {(3 * n + 1) / best:,.0f} records/s, "
              f"{best / n * 1000:.2f} ms per page")
    pack(corpus_pages(n))


def pack(pages: list[tuple[str, bytes]]) -> None:
    """What storing a page costs the cleaning workers: its WARC record(s) gzipped (tasks.archive) against
    the zstd level 1 of the raw pages kept in the DuckDB file before."""
    import zstandard

    from tasks.archive import pack_record
    from tasks.models import RawDocument, sha256_hex

    docs = [RawDocument(u, "html", h, sha256_hex(h), len(h), {"url": u}, headers=[("Content-Type", "text/html")],
                        request_headers={"User-Agent": "bench"}) for u, h in pages]
    raw = sum(len(h) for _, h in pages)
    for name, fn in (("zstd level 1 (before)", zstandard.ZstdCompressor(level=1).compress),
                     ("WARC request+response, gzip (after)", lambda h: pack_record(h).data)):
        started = time.process_time()
        out = sum(len(fn(d.raw if "zstd" in name else d)) for d in docs)
        cpu = time.process_time() - started
        print(f"{name}: {cpu / len(docs) * 1000:.2f} ms per page, {out / raw:.3f} of the raw bytes")


# ------------------------------------------------------------------------------------------ ingest runs
def ingest(code: Path, source: Path, db: Path) -> float:
    """`newsflow ingest SOURCE --db DB` with the code at `code`; its wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(code), COLUMNS="200")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", str(source), "--db", str(db)],
                          cwd=code, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"ingest failed with {code}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def publish_seconds(code: Path, db: Path) -> float:
    """tasks.publish.publish alone on the warehouse at `db` (median of 3), with the code at `code`."""
    script = ("import sys, time; from pathlib import Path; from tasks.publish import publish; "
              "from newsflow.settings import work_db_path; db = Path(sys.argv[1]); t = [];\n"
              "for _ in range(3):\n  s = time.perf_counter(); publish(work_db_path(db), db); "
              "t.append(time.perf_counter() - s)\nprint(sorted(t)[1])")
    out = subprocess.run([sys.executable, "-c", script, str(db)], cwd=code, env=dict(os.environ, PYTHONPATH=str(code)),
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def publish(before: Path, sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        pages = OUT / f"pages-{size}"
        CorpusBuilder().write(pages, size)
        added = OUT / f"add10-{size}"
        CorpusBuilder().write(added, 10, start=size)
        for label, code in (("before", before), ("after", REPO)):
            db = OUT / f"{label}-{size}" / "news.duckdb"
            shutil.rmtree(db.parent, ignore_errors=True)
            db.parent.mkdir(parents=True)
            build = ingest(code, pages, db)
            run = ingest(code, added, db)
            row = {"pages": size, "code": label, "build_s": round(build, 1), "add10_run_s": round(run, 2),
                   "analyst_mb": round(db.stat().st_size / 2**20, 1),
                   "archive_mb": round(folder_bytes(db.with_name("news.archive")) / 2**20, 1),
                   "publish_s": round(publish_seconds(code, db), 3)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| pages | code | analyst file | archive | run adding 10 pages | publish alone |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['pages']:,} | {r['code']} | {r['analyst_mb']} MB | {r['archive_mb']} MB | {r['add10_run_s']} s "
              f"| {r['publish_s']} s |")


def rate(n: int, repeats: int) -> None:
    sources = {}
    for count in (n, 3 * n):
        pages = corpus_pages(count, start=100_000)
        folder = OUT / f"rate-files-{count}"
        if not folder.exists():
            folder.mkdir(parents=True)
            for i, (_, html) in enumerate(pages):
                (folder / f"{i:07d}.html").write_bytes(html)
        warc = OUT / f"rate-{count}.warc.gz"
        if not warc.exists():
            write_warc(warc, pages)
        sources["files", count], sources["warc", count] = folder, warc
    runs: dict[tuple[str, int], list[float]] = {key: [] for key in sources}
    for round_ in range(repeats):  # interleaved, so a change in the machine's load falls on both sides
        for (label, count), source in sources.items():
            db = OUT / f"rate-{label}-{count}-db" / "news.duckdb"
            shutil.rmtree(db.parent, ignore_errors=True)
            db.parent.mkdir(parents=True)
            runs[label, count].append(ingest(REPO, source, db))
            print(f"round {round_ + 1}: {label} {count} pages: {runs[label, count][-1]:.1f} s", flush=True)
    wall = {key: statistics.median(times) for key, times in runs.items()}
    marginal = {label: 2 * n / (wall[label, 3 * n] - wall[label, n]) for label in ("files", "warc")}
    print(f"median of {repeats}: files {wall['files', n]:.1f} / {wall['files', 3 * n]:.1f} s, "
          f"warc {wall['warc', n]:.1f} / {wall['warc', 3 * n]:.1f} s")
    print(f"marginal rate, {n} -> {3 * n} pages: files {marginal['files']:.1f} pages/s, "
          f"warc {marginal['warc']:.1f} pages/s, warc / files = {marginal['warc'] / marginal['files']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("readers", "publish", "rate"))
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the raw store (publish)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 6000])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the four rate runs (medians)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.what == "readers":
        readers(args.n or 2000)
    elif args.what == "publish":
        if not args.before:
            sys.exit("--before PATH: a checkout of the code before the raw store (e.g. git worktree add ../before main)")
        publish(args.before.resolve(), args.sizes)
    else:
        rate(args.n or 300, args.repeats)


if __name__ == "__main__":
    main()
