"""Time `newsflow report` on a 20,000-article warehouse, synthesized in SQL from the bundled samples.

Ingesting 20,000 generated pages takes ~8 minutes of both cores (bench/bench.py); the report reads
only the analyst tables, so this builds them directly: the five sample articles are loaded by a real
`newsflow ingest`, then copied with new ids into N articles over D days and 24 outlets (skewed, as
real coverage is), grouped into ~N/5 stories of skewed sizes, each copy keeping ~70% of its
original's entity mentions, all its citations and removed segments; plus one run per hour with its
counts and validation results, and ~3% quarantined documents (validation failures, fetch failures
on a dozen hosts, unreadable files). Raw documents and search postings are not copied (the report
reads neither). Usage:

    .venv/bin/python bench/report_bench.py [--n 20000] [--days 90] [--out bench/out/report]

It prints the warehouse's row counts, then times `newsflow report` (the command, start-up included)
five times and prints each time, the median, and the page's size. The first run after the file is
built reads it from disk; the others find it in the page cache.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
NEWSFLOW = Path(sys.executable).with_name("newsflow")

OUTLETS = [  # name, host: the first ones publish the most (pow(random(), 1.7) picks them)
    ("Reuters", "reuters.com"), ("Associated Press", "apnews.com"), ("Yonhap", "en.yna.co.kr"),
    ("BBC News", "bbc.co.uk"), ("The Guardian", "theguardian.com"), ("The New York Times", "nytimes.com"),
    ("Al Jazeera", "aljazeera.com"), ("NHK World", "nhk.or.jp"), ("Korea Herald", "koreaherald.com"),
    ("Deutsche Welle", "dw.com"), ("France 24", "france24.com"), ("CNN", "cnn.com"),
    ("The Washington Post", "washingtonpost.com"), ("NK News", "nknews.org"), ("TASS", "tass.com"),
    ("Kyodo News", "english.kyodonews.net"), ("South China Morning Post", "scmp.com"),
    ("The Japan Times", "japantimes.co.jp"), ("ABC News", "abcnews.go.com"), ("CBS News", "cbsnews.com"),
    ("Financial Times", "ft.com"), ("Bloomberg", "bloomberg.com"), ("Politico", "politico.com"),
    ("The Diplomat", "thediplomat.com"),
]

QUARANTINE_REASONS = [  # stage, reason; fetch reasons get a host from the outlets
    ("validate", "failed expect_column_values_to_be_between(body_size): body has {n} characters"),
    ("validate", "failed expect_column_values_to_be_null(boilerplate_left): boilerplate left in body (rule teaser: Also read: more)"),
    ("validate", "failed expect_column_values_to_be_between(published_age_s): published_at 2031-01-01 is in the future"),
    ("validate", "failed expect_column_values_to_be_between(title_size): title has 2 characters"),
    ("fetch", "HTTP 503 after 4 attempts"),
    ("fetch", "HTTP 404"),
    ("fetch", "HTTP 403"),
    ("fetch", "timed out"),
    ("fetch", "refused: robots.txt of https://{host} disallows /news/{n}"),
    ("fetch", "connection failed (ConnectError)"),
    ("read", "binary content (NUL bytes), not a text article"),
    ("read", "empty file"),
    ("extract", "no article text found"),
]


def build_base(folder: Path) -> Path:
    """A warehouse holding the five samples, made by a real `newsflow ingest` (analyst copy)."""
    db = folder / "base" / "news.duckdb"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(NEWSFLOW), "ingest", "--db", str(db)], check=True, capture_output=True)
    return db


def synthesize(base: Path, target: Path, n: int, days: int, seed: float = 0.42) -> dict[str, int]:
    """Copy the base warehouse to `target` and replace its articles by `n` synthetic ones."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, Path(f"{target}.wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(base, target)
    con = duckdb.connect(str(target))
    try:
        con.execute("select setseed(?)", [seed])
        con.execute("create temp table outlets as select * from (select unnest(?) as name, unnest(?) as host, "
                    "generate_subscripts(?, 1) - 1 as k)",
                    [[o for o, _ in OUTLETS], [h for _, h in OUTLETS], [o for o, _ in OUTLETS]])
        con.execute("create temp table base as select *, row_number() over (order by article_id) - 1 as k "
                    "from articles")
        for table in ("removed_segments", "mentions", "citations", "validation_results"):
            con.execute(f"create temp table base_{table} as select * from {table}")  # noqa: S608 - fixed names
        bases = con.execute("select count(*) from base").fetchone()[0]
        stories = max(1, n // 5)
        con.execute("""
            create temp table syn as
            select i, md5('syn-article-' || i) as article_id, i % ? as k,
                   floor(pow(random(), 1.7) * ?)::int as outlet_k,
                   timestamptz '2026-09-01 00:00:00+00' + to_days(floor(random() * ?)::int)
                       + to_minutes(floor(random() * 1440)::int) as published_at,
                   floor(pow(random(), 3) * ?)::int as story_k
            from range(?) r(i)
        """, [bases, len(OUTLETS), days, stories, n])
        con.execute("begin")
        for table in ("articles", "removed_segments", "stories", "story_articles", "story_bands", "mentions",
                      "citations", "quarantine", "runs", "documents", "validation_results", "fetch_state",
                      "seen_items"):
            con.execute(f"delete from {table}")  # noqa: S608 - fixed table names
        con.execute("""
            insert into articles by name
            select b.* exclude (k) replace (
                       s.article_id as article_id, md5('syn-doc-' || s.i) as document_id,
                       'https://' || o.host || '/news/' || s.i as source_uri, 'https://' || o.host || '/news/' || s.i as url,
                       coalesce(b.title, 'Untitled report') || ' #' || s.i as title, s.published_at as published_at,
                       o.name as sitename, null as canonical_url, md5(b.content_hash || s.i) as content_hash,
                       'syn-run' as run_id, s.published_at + interval 5 minutes as ingested_at,
                       s.published_at + interval 5 minutes as updated_at)
            from syn s join base b using (k) join outlets o on o.k = s.outlet_k
        """)
        con.execute("""
            insert into removed_segments
            select s.article_id, r.position, r.text, r.rule
            from syn s join base using (k) join base_removed_segments r on r.article_id = base.article_id
        """)
        con.execute("""
            insert into mentions
            select s.article_id, m.entity_id, m.surface_form, m.count
            from syn s join base using (k) join base_mentions m on m.article_id = base.article_id
            where random() < 0.7
        """)
        con.execute("""
            insert into citations
            select s.article_id, c.outlet, c.outlet_key, c.pattern, c.sentence, c.in_body
            from syn s join base using (k) join base_citations c on c.article_id = base.article_id
        """)
        con.execute("""
            insert into story_articles
            select article_id, md5('syn-story-' || story_k),
                   case when rank > 1 then first_id end, case when rank > 1 then 0.2 + random() * 0.6 end,
                   10, []::ubigint[], published_at + interval 5 minutes
            from (select *, row_number() over (partition by story_k order by published_at, i) as rank,
                         first_value(article_id) over (partition by story_k order by published_at, i) as first_id
                  from syn)
        """)
        con.execute("""
            insert into stories
            select sa.story_id, sa.article_id, a.title, sa.assigned_at
            from story_articles sa join articles a using (article_id)
            where sa.matched_article_id is null
        """)
        hours = days * 24
        con.execute("""
            insert into runs
            select 'syn-run-' || h, null, t, t + to_seconds(20 + floor(random() * 60)::int),
                   case when random() < 0.01 then 'failed' else 'completed' end, 'sources',
                   coalesce(c.docs, 0) + 40, coalesce(c.docs, 0), floor(random() * 3)::int, 40,
                   0, coalesce(c.docs, 0) * 4, 'v1', false
            from (select h, timestamptz '2026-09-01 00:00:00+00' + to_hours(h) as t from range(?) r(h))
            left join (select date_trunc('hour', published_at) as t, count(*) as docs from syn group by 1) c using (t)
        """, [hours])
        reasons = [r for _, r in QUARANTINE_REASONS]
        stages = [s for s, _ in QUARANTINE_REASONS]
        con.execute("""
            insert into quarantine (document_id, source_uri, stage, reasons, run_id, quarantined_at)
            select md5('syn-quarantine-' || i), 'https://' || o.host || '/news/q' || i, q.stage,
                   [replace(replace(q.reason, '{n}', (i % 190)::varchar), '{host}', o.host)],
                   'syn-run-' || (i % ?), timestamptz '2026-09-01 00:00:00+00' + to_minutes(floor(random() * ? * 1440)::int)
            from (select i, floor(random() * ?)::int as qk, floor(pow(random(), 1.2) * 12)::int as outlet_k
                  from range(?) r(i)) x
            join (select unnest(?) as stage, unnest(?) as reason, generate_subscripts(?, 1) - 1 as qk) q using (qk)
            join outlets o on o.k = x.outlet_k
        """, [hours, days, len(reasons), n * 3 // 100, stages, reasons, reasons])
        con.execute("""
            update runs set quarantined = q.n
            from (select run_id, count(*) as n from quarantine group by run_id) q where runs.run_id = q.run_id
        """)
        con.execute("""
            insert into validation_results
            select r.run_id, e.expectation, r.articles_new + r.articles_updated,
                   case when random() < 0.05 then 1 else 0 end
            from runs r, (select distinct expectation from base_validation_results) e
        """)
        con.execute("commit")
        con.execute("checkpoint")
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: S608 - fixed names
                for t in ("articles", "stories", "mentions", "citations", "removed_segments", "runs",
                          "quarantine", "validation_results")}
    finally:
        con.close()


def time_report(db: Path, out: Path, repeats: int = 5) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(NEWSFLOW), "report", "--db", str(db), "--out", str(out)], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "report")
    parser.add_argument("--no-time", action="store_true", help="only build the warehouse")
    args = parser.parse_args()
    base = build_base(args.out)
    target = args.out / f"news-{args.n}.duckdb"
    started = time.perf_counter()
    counts = synthesize(base, target, args.n, args.days)
    print(f"synthesized {target} in {time.perf_counter() - started:.1f} s "
          f"({target.stat().st_size / 2**20:.0f} MB): " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if args.no_time:
        return
    page = args.out / f"report-{args.n}.html"
    times = time_report(target, page)
    print(f"newsflow report --db {target}: " + ", ".join(f"{t:.2f}" for t in times)
          + f" s; median {statistics.median(times):.2f} s; page {page.stat().st_size / 1024:,.0f} KB")


if __name__ == "__main__":
    main()
