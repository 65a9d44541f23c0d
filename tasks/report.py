"""The news report: one self-contained HTML page of charts over the analyst copy (`newsflow report`).

`collect` runs the warehouse/sql/report_*.sql statements on a read-only connection and returns plain
rows; `render` turns them into Vega-Lite charts (built with Altair) and one HTML page that inlines
everything it needs: the Vega, Vega-Lite and vega-embed bundle from vl-convert, the charts' data, and
its style. It fetches nothing, so it opens offline, from a file or from `newsflow serve`.
Sections: coverage (articles per day by outlet, top stories expandable to their articles), entities
(most mentioned people, organisations and places, their daily mentions, who cites whom) and pipeline
health (runs, quarantine reasons, boilerplate removed by rule, validation per expectation, fetch
failures by host).
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from newsflow.settings import DEFAULT_DB, is_lake_url, masked
from tasks.publish import clear_stale, replace_keeping_mode
from tasks.sql import statement

REPORT_FILE = "report.html"
DATA_DOCS = "data_docs"  # the Data Docs' folder beside the warehouse
TOP_OUTLETS = 10  # outlets drawn by name in the daily chart; the rest are 'other'
TOP_STORIES = 15
ARTICLES_PER_STORY = 25  # titles listed under an expanded story
TOP_ENTITIES = 10  # per kind
DAILY_ENTITIES = 4  # per kind, drawn over time
CITATION_PAIRS = 60
TOP_HOSTS = 12
DAILY_DAYS = 365  # without --since, the charts over time end at the newest article and go back this far
MONTHLY_AFTER_DAYS = 400  # a longer span (--since) is drawn per month
KINDS = {"person": "people", "org": "organisations", "place": "places"}

Row = dict[str, Any]


@dataclass
class ReportData:
    """What the report shows: rows per chart, as the report_*.sql statements return them."""

    db: str
    since: datetime | None
    generated_at: datetime
    overview: Row
    daily: list[Row]
    stories: list[Row]
    story_articles: dict[str, list[Row]]
    entities: list[Row]
    entity_daily: list[Row]
    days: DayWindow
    citations: list[Row]
    runs: list[Row]
    run_unit: str
    quarantine: list[Row]
    removed: list[Row]
    validation: list[Row]
    fetch_failures: list[Row]
    timings: dict[str, float] = field(default_factory=dict)


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[Row]:
    cur = con.execute(statement(name), params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def run_unit(first: datetime | None, last: datetime | None) -> str:
    """The time bucket for the runs chart: hours over up to 3 days, days up to 120, else weeks."""
    if first is None or last is None:
        return "day"
    days = (last - first).total_seconds() / 86400
    return "hour" if days <= 3 else "day" if days <= 120 else "week"


@dataclass
class DayWindow:
    """What the charts over time (articles per day, mentions per day) draw: from `start` (a UTC day,
    None: nothing to draw) per `unit` ('day' or 'month'); `hidden` articles of the period are older."""

    start: date | None = None
    unit: str = "day"
    hidden: int = 0


def day_window(first_seen: datetime | None, last_seen: datetime | None, since: datetime | None) -> DayWindow:
    """From --since when given, else the last DAILY_DAYS days up to the newest article: one page dated
    1970 or 1900 (a zero or default date) would otherwise squeeze every bar into one pixel column.
    Per day up to MONTHLY_AFTER_DAYS days, else per month."""
    if first_seen is None or last_seen is None:
        return DayWindow()
    first, last = (t.astimezone(timezone.utc).date() for t in (first_seen, last_seen))
    start = first if since is not None else max(first, last - timedelta(days=DAILY_DAYS - 1))
    return DayWindow(start, "day" if (last - start).days < MONTHLY_AFTER_DAYS else "month")


_KINDS_OF_REASON = [  # (pattern, kind): the first match names the reason's kind
    (re.compile(r"^(failed [A-Za-z_]+\([A-Za-z_]*\))"), None),
    (re.compile(r"^(HTTP \d{3})"), None),
    (re.compile(r"^refused: robots\.txt"), "refused by robots.txt"),
    (re.compile(r"^refused: .*?\bis an? ([a-z -]+ address)"), "refused: {}"),
    (re.compile(r"^refused: .*?robots\.txt could not be read"), "robots.txt unreadable"),
    (re.compile(r"^body larger than"), "body over the size limit"),
    (re.compile(r"^timed out|^timeout", re.IGNORECASE), "timed out"),
    (re.compile(r"^connection failed"), "connection failed"),
]


def reason_kind(reason: str | None) -> str:
    """A quarantine reason without its particulars, so equal causes count together:
    'failed expect_x(body): body has 27 characters' -> 'failed expect_x(body)', 'HTTP 503 after 4
    attempts' -> 'HTTP 503', else the text before its first colon or parenthesis."""
    if not reason:
        return "(no reason recorded)"
    for pattern, kind in _KINDS_OF_REASON:
        m = pattern.search(reason)
        if m:
            if kind is None:
                return m.group(1)
            return kind.format(*m.groups())
    head = re.split(r"[:(]", reason, maxsplit=1)[0].strip()
    return (head or reason)[:80]


def _by_kind(rows: list[Row], keys: tuple[str, ...], count: str) -> list[Row]:
    """Sum `count` over rows grouped by `keys`, with the reason column mapped through reason_kind."""
    totals: dict[tuple, int] = {}
    for r in rows:
        key = tuple(reason_kind(r[k]) if k == "reason" else r[k] for k in keys)
        totals[key] = totals.get(key, 0) + int(r[count])
    out = [dict(zip(keys, key), **{count: n}) for key, n in totals.items()]
    return sorted(out, key=lambda r: (-r[count], *(str(r[k]) for k in keys)))


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the file has table `name` (a copy published before the migration that made it has not)."""
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                            "and schema_name = 'main' and table_name = ?", [name]).fetchone()[0])


def collect(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> ReportData:
    """Run the report's queries on `con` (read-only is enough) for articles and runs since `since`."""
    timings: dict[str, float] = {}

    def timed(name: str, **params: Any) -> list[Row]:
        started = time.perf_counter()
        rows = _rows(con, name, since=since, **params)
        timings[name] = round(time.perf_counter() - started, 4)
        return rows

    overview = timed("report_overview")[0]
    stories = timed("report_top_stories", limit=TOP_STORIES)
    story_ids = [s["story_id"] for s in stories]
    story_articles: dict[str, list[Row]] = {sid: [] for sid in story_ids}
    for r in timed("report_story_articles", stories=story_ids, per_story=ARTICLES_PER_STORY):
        story_articles[r["story_id"]].append(r)
    entities = timed("report_top_entities", limit=TOP_ENTITIES)
    ranked: dict[str, int] = {}
    daily_ids = []
    for e in entities:  # sorted by kind, then mentions
        ranked[e["kind"]] = ranked.get(e["kind"], 0) + 1
        if ranked[e["kind"]] <= DAILY_ENTITIES:
            daily_ids.append(e["entity_id"])
    days = day_window(overview["first_seen"], overview["last_seen"], since)
    first, last, _count = con.execute(statement("report_runs_span"), {"since": since}).fetchone()
    unit = run_unit(first, last)
    fetch = _by_kind(timed("report_fetch_failures"), ("host", "reason"), "failures")
    hosts: list[str] = []
    for r in fetch:
        if r["host"] not in hosts:
            hosts.append(r["host"])
    daily = timed("report_daily_volume", outlets=TOP_OUTLETS, start=days.start, unit=days.unit)
    days.hidden = overview["articles"] - sum(r["articles"] for r in daily)
    return ReportData(
        db=con.execute("select path from duckdb_databases() where database_name = current_database()"
                       ).fetchone()[0] or "",
        since=since,
        generated_at=datetime.now(timezone.utc),
        overview=overview,
        daily=daily,
        stories=stories,
        story_articles=story_articles,
        entities=entities,
        entity_daily=timed("report_entity_daily", entities=daily_ids, start=days.start, unit=days.unit),
        days=days,
        citations=timed("report_citations", limit=CITATION_PAIRS),
        runs=timed("report_runs", unit=unit),
        run_unit=unit,
        quarantine=_by_kind(timed("report_quarantine_reasons"), ("stage", "reason"), "documents"),
        removed=timed("report_removed_by_rule"),
        validation=timed("report_validation") if _has_table(con, "validation_results") else [],
        fetch_failures=[r for r in fetch if r["host"] in hosts[:TOP_HOSTS]],
        timings=timings,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready value: times as ISO text (UTC), lists element-wise."""
    if isinstance(value, datetime):
        return _plain_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy / decimal-like scalars
        return value.item()
    return value


def plain_rows(rows: list[Row]) -> list[Row]:
    return [{k: _plain(v) for k, v in r.items()} for r in rows]


def _plain_time(value: datetime) -> str:
    """ISO text in UTC; naive times here are UTC wall-clock times (timezone('UTC', ...)), marked so,
    or a browser would read them as local time."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------
# Charts: Vega-Lite specs built with Altair, data inline.

WIDE = 760
COLORS = {"new": "#2f7d32", "updated": "#1f6fb2", "quarantined": "#d9822b"}
TIME_UNITS = {"hour": "utcyearmonthdatehours", "day": "utcyearmonthdate", "week": "utcyearweek"}
EMBED_CONFIG = {  # the page's look, shared by every chart (vega-embed's `config` option)
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelColor": "#333", "titleColor": "#333", "gridColor": "#e8e8e8", "labelLimit": 260},
    "legend": {"labelLimit": 220},
    "range": {"category": {"scheme": "tableau20"}},
}


def _short(text: str | None, n: int = 70) -> str:
    text = " ".join((text or "(untitled)").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def charts(data: ReportData, validate: bool = False) -> dict[str, dict | None]:
    """One Vega-Lite spec per chart id (None: nothing to draw for that period).

    `validate` checks each part against the Vega-Lite schema as altair builds it: ~1.2 s of a
    1,000-article run's report, at the end of the run, for specs that only change with this code. So
    runs skip it and tests/test_report.py runs it (and compares the two)."""
    from altair.utils.schemapi import debug_mode

    with debug_mode(validate):
        specs = _charts(data)
        return {name: (chart.to_dict(validate=validate) if chart is not None else None)
                for name, chart in specs.items()}


def _charts(data: ReportData) -> dict[str, Any]:
    """The charts as altair objects, in page order.

    Long because it is the page's charts one after another: each spec is a few declarative lines that
    read best next to the others."""
    import altair as alt

    def values(rows: list[Row]) -> alt.Data:
        return alt.Data(values=plain_rows(rows))

    specs: dict[str, Any] = {}
    outlets_order = sorted({r["outlet"] for r in data.daily}, key=lambda o: (o == "other", o))
    unit = data.days.unit
    when = "utcyearmonthdate(day):T" if unit == "day" else "utcyearmonth(day):T"
    specs["daily"] = alt.Chart(values(data.daily), title=f"Articles per {unit} by outlet").mark_bar().encode(
        x=alt.X(when, title=None),
        y=alt.Y("sum(articles):Q", title="articles"),
        color=alt.Color("outlet:N", sort=outlets_order, title="outlet"),
        tooltip=[alt.Tooltip(when, title=unit), "outlet:N", "sum(articles):Q"],
    ).properties(width=WIDE, height=240) if data.daily else None

    stories = [{**s, "label": f"{i + 1}. {_short(s['story_title'], 56)}", "rank": i}
               for i, s in enumerate(data.stories)]
    specs["stories"] = alt.Chart(values(stories), title="Top stories: outlets and articles").mark_bar().encode(
        y=alt.Y("label:N", sort=alt.SortField("rank"), title=None),
        x=alt.X("outlet_count:Q", title="outlets"),
        color=alt.Color("articles:Q", title="articles", scale=alt.Scale(scheme="blues")),
        tooltip=[alt.Tooltip("story_title:N", title="story"), "outlet_count:Q", "articles:Q",
                 alt.Tooltip("first_seen:T", title="first seen", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("last_seen:T", title="last seen", format="%Y-%m-%d %H:%M")],
    ).properties(width=WIDE - 300, height=alt.Step(20)) if stories else None

    panels = []
    for kind, label in KINDS.items():
        rows = [e for e in data.entities if e["kind"] == kind]
        if rows:
            panels.append(alt.Chart(values(rows), title=f"Most mentioned {label}").mark_bar().encode(
                y=alt.Y("entity:N", sort="-x", title=None, axis=alt.Axis(labelLimit=140)),
                x=alt.X("mentions:Q", title="mentions"),
                color=alt.value({"person": "#4e79a7", "org": "#59a14f", "place": "#e15759"}[kind]),
                tooltip=["entity:N", "mentions:Q", alt.Tooltip("articles:Q", title="articles")],
            ).properties(width=140, height=alt.Step(18)))
    specs["entities"] = alt.hconcat(*panels, spacing=30) if panels else None

    specs["entity_daily"] = alt.Chart(values(data.entity_daily), title=f"Mentions per {unit} of the most "
                                      "mentioned").mark_line(point=True).encode(
        x=alt.X(when, title=None),
        y=alt.Y("mentions:Q", title="mentions"),
        color=alt.Color("entity:N", title="entity"),
        tooltip=[alt.Tooltip(when, title=unit), "entity:N", "kind:N", "mentions:Q"],
    ).properties(width=WIDE - 200, height=220) if data.entity_daily else None

    if data.citations:
        base = alt.Chart(values(data.citations), title="Who cites whom: outlets (rows) and the outlets they "
                         "attribute to (columns)").encode(
            y=alt.Y("citing:N", title="citing outlet", sort="-x"),
            x=alt.X("cited:N", title="cited outlet", sort="-y", axis=alt.Axis(labelAngle=-40)),
        )
        specs["citations"] = (base.mark_rect().encode(
            color=alt.Color("citations:Q", scale=alt.Scale(scheme="oranges"), title="citations"),
            tooltip=["citing:N", "cited:N", "citations:Q", alt.Tooltip("in_body:Q", title="in the body")])
            + base.mark_text(fontSize=10).encode(text="citations:Q")
        ).properties(width=alt.Step(36), height=alt.Step(20))
    else:
        specs["citations"] = None

    unit = TIME_UNITS[data.run_unit]
    specs["runs"] = alt.Chart(values(data.runs), title=f"Ingest runs per {data.run_unit}: articles new and "
                              "updated, documents quarantined").transform_fold(
        ["new", "updated", "quarantined"], as_=["outcome", "count"]).mark_bar().encode(
        x=alt.X(f"{unit}(period):T", title=None),
        y=alt.Y("count:Q", title="count"),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                        title=None),
        tooltip=[alt.Tooltip(f"{unit}(period):T", title=data.run_unit), "outcome:N", "count:Q",
                 alt.Tooltip("runs:Q", title="runs"), alt.Tooltip("not_completed:Q", title="runs not completed")],
    ).properties(width=WIDE, height=200) if data.runs else None

    specs["quarantine"] = alt.Chart(values(data.quarantine), title="Quarantined documents by reason"
                                    ).mark_bar().encode(
        y=alt.Y("reason:N", sort="-x", title=None),
        x=alt.X("sum(documents):Q", title="documents"),
        color=alt.Color("stage:N", title="stage"),
        tooltip=["stage:N", "reason:N", "sum(documents):Q"],
    ).properties(width=WIDE - 380, height=alt.Step(20)) if data.quarantine else None

    specs["removed"] = alt.Chart(values(data.removed), title="Boilerplate removed by rule").mark_bar(
        color="#76b7b2").encode(
        y=alt.Y("rule:N", sort="-x", title=None),
        x=alt.X("segments:Q", title="segments removed"),
        tooltip=["rule:N", "segments:Q", alt.Tooltip("articles:Q", title="articles")],
    ).properties(width=WIDE - 380, height=alt.Step(20)) if data.removed else None

    validation = [{**v, "checked": v["passed"] + v["failed"],
                   "share": v["failed"] / (v["passed"] + v["failed"]) if v["passed"] + v["failed"] else 0.0}
                  for v in data.validation]
    if any(v["failed"] for v in validation):
        base = alt.Chart(values(validation), title="Validation: articles failing each expectation").encode(
            y=alt.Y("expectation:N", sort=alt.EncodingSortField("failed", op="max", order="descending"), title=None),
            x=alt.X("failed:Q", title="articles failed"),
        )
        specs["validation"] = (base.mark_bar(color="#e15759").encode(
            tooltip=["expectation:N", "passed:Q", "failed:Q",
                     alt.Tooltip("share:Q", title="failed share", format=".2%"), alt.Tooltip("runs:Q")])
            + base.mark_text(align="left", dx=4, fontSize=10, color="#333").encode(
                text=alt.Text("label:N")).transform_calculate(
                label="datum.failed + ' of ' + datum.checked")
        ).properties(width=WIDE - 460, height=alt.Step(20))
    else:
        specs["validation"] = None

    specs["fetch"] = alt.Chart(values(data.fetch_failures), title="Fetch failures by host").mark_bar().encode(
        y=alt.Y("host:N", sort="-x", title=None),
        x=alt.X("sum(failures):Q", title="failed fetches (quarantined)"),
        color=alt.Color("reason:N", title="reason"),
        tooltip=["host:N", "reason:N", "sum(failures):Q"],
    ).properties(width=WIDE - 380, height=alt.Step(20)) if data.fetch_failures else None
    return specs


# ---------------------------------------------------------------------------------------------------
# The page


def _bundle_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsflow"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega-embed with Vega and Vega-Lite as one script (vl-convert builds it, ~0.9 MB, in ~2.5 s the
    first time): kept in ~/.cache/newsflow per vl-convert version, so later reports read it."""
    import vl_convert

    cache = _bundle_cache() / f"vega-embed-vl-convert-{vl_convert.__version__}.js"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vl_convert.javascript_bundle()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".bundle.", suffix=".js")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(bundle)
        os.replace(tmp, cache)
    except OSError:
        pass  # no writable cache: built again next time
    return bundle


STYLE = """
:root { color-scheme: light; --ink: #1d1d1f; --muted: #666; --line: #e3e3e3; --accent: #1f6fb2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fafafa; }
header { padding: 20px 32px 12px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); font-size: 13px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; font-size: 14px; }
main { padding: 8px 32px 40px; max-width: 1100px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 20px 16px;
          margin: 18px 0; }
h2 { font-size: 18px; margin: 12px 0 4px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 4px; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px; min-width: 120px; }
.kpi b { display: block; font-size: 22px; }
.kpi span { color: var(--muted); font-size: 12px; }
.chart { margin: 10px 0; min-height: 40px; overflow-x: auto; }
.empty { color: var(--muted); font-style: italic; margin: 8px 0; }
details { border-top: 1px solid var(--line); padding: 5px 0; }
summary { cursor: pointer; }
summary .meta, li .meta { color: var(--muted); font-size: 13px; }
ol { margin: 6px 0 6px 8px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 13px; }
"""

SECTIONS = [  # id, heading, chart ids, what it is read from
    ("coverage", "Coverage", ["daily", "stories"], "articles (v_articles, v_daily_volume) and stories"),
    ("entities", "Entities and citations", ["entities", "entity_daily", "citations"],
     "entities, mentions (v_entity_mentions) and citations"),
    ("health", "Pipeline health", ["runs", "quarantine", "removed", "validation", "fetch"],
     "runs, quarantine, removed_segments, validation_results"),
]
EMPTY = {
    "daily": "No articles in this period.", "stories": "No stories in this period.",
    "entities": "No people, organisations or places mentioned in this period.",
    "entity_daily": "No mentions in this period.", "citations": "No article cites another outlet in this period.",
    "runs": "No runs in this period.", "quarantine": "Nothing was quarantined in this period.",
    "removed": "No boilerplate was removed from the articles of this period.",
    "validation": "No validation results recorded for the runs of this period (recorded from migration 007 on).",
    "fetch": "No fetch failed in this period.",
}


def _when(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def _hidden_note(days: DayWindow) -> str:
    n = days.hidden
    return (f"{n:,} older article{'s' if n != 1 else ''} (dated before {days.start}) "
            f"{'are' if n != 1 else 'is'} not drawn over time: these charts show the {DAILY_DAYS} days up to "
            "the newest article; the figures above count every article. <code>newsflow report --since "
            "YYYY-MM-DD</code> draws from the day you choose.")


def _isolated(text: str | None) -> str:
    """Text from the pages, escaped and isolated from the page's own direction (<bdi>): an Arabic or
    Hebrew title otherwise pulls the count or date beside it into its right-to-left run."""
    return f"<bdi>{html.escape(text or '')}</bdi>"


def _link(row: Row) -> str:
    title = _isolated(_short(row.get("title"), 140))
    url = row.get("url") or ""
    if url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" rel="noreferrer noopener">{title}</a>'
    return f'{title} <span class="meta">{html.escape(row.get("source_uri") or "")}</span>'


def _stories_html(data: ReportData) -> str:
    if not data.stories:
        return ""
    parts = ["<h3>Top stories, newest articles first (click to expand)</h3>"]
    for s in data.stories:
        arts = data.story_articles.get(s["story_id"], [])
        more = s["articles"] - len(arts)
        items = "".join(f'<li>{_link(a)} <span class="meta">— {_isolated(a["outlet"])}, '
                        f'{_when(a["seen_at"])}</span></li>' for a in arts)
        parts.append(
            f'<details><summary><b>{_isolated(_short(s["story_title"], 140))}</b> '
            f'<span class="meta">— {s["articles"]} articles, {s["outlet_count"]} outlets, first seen '
            f'{_when(s["first_seen"])}, last seen {_when(s["last_seen"])}</span></summary>'
            f'<p class="meta">Outlets: {", ".join(_isolated(o) for o in s["outlets"] or [])}</p><ol>{items}</ol>'
            + (f'<p class="meta">… and {more} more</p>' if more > 0 else "") + "</details>")
    return "\n".join(parts)


def _validation_table(data: ReportData) -> str:
    if not data.validation:
        return ""
    rows = "".join(f"<tr><td><code>{html.escape(v['expectation'])}</code></td><td class='n'>{v['passed']:,}</td>"
                   f"<td class='n'>{v['failed']:,}</td><td class='n'>{v['runs']:,}</td></tr>" for v in data.validation)
    return ("<table><tr><th>expectation</th><th class='n'>passed</th><th class='n'>failed</th>"
            f"<th class='n'>runs</th></tr>{rows}</table>")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '</' or '<!--' can end or confuse it."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render(data: ReportData, links: dict[str, str] | None = None) -> str:
    """The whole page as one string: style, data, charts and the Vega bundle inline."""
    specs = charts(data)
    o = data.overview
    kpis = [("articles", o["articles"]), ("outlets", o["outlets"]), ("stories", o["stories"]),
            ("entities", o["entities"]), ("runs", o["runs"]), ("quarantined", o["quarantined"])]
    period = (f"since {_when(data.since)}" if data.since else "all time")
    body = []
    for sid, heading, chart_ids, source in SECTIONS:
        body.append(f'<section id="{sid}"><h2>{heading}</h2><p class="note">From {html.escape(source)}.</p>')
        for cid in chart_ids:
            if specs.get(cid) is None:
                empty = EMPTY[cid] if not (cid == "validation" and data.validation) else \
                    "No article failed an expectation in this period."
                body.append(f'<p class="empty" data-chart="{cid}">{html.escape(empty)}</p>')
            else:
                body.append(f'<div class="chart" id="chart-{cid}" data-chart="{cid}"></div>')
            if cid == "daily" and data.days.hidden > 0:
                body.append(f'<p class="note" data-note="hidden">{_hidden_note(data.days)}</p>')
            if cid == "stories":
                body.append(_stories_html(data))
            if cid == "validation":
                body.append(_validation_table(data))
        body.append("</section>")
    extra = "".join(f' · <a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'
                    for text, url in (links or {}).items())
    drawn = {cid: spec for cid, spec in specs.items() if spec is not None}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsflow report</title>
<style>{STYLE}</style>
</head><body>
<header><h1>newsflow report</h1>
<p>{html.escape(data.db)} · {period} · articles seen {_when(o['first_seen'])} – {_when(o['last_seen'])} ·
last run finished {_when(o['last_run'])} · generated {_when(data.generated_at)}{extra}</p>
<nav><a href="#coverage">Coverage</a><a href="#entities">Entities</a><a href="#health">Pipeline health</a></nav>
</header>
<main>
<div class="kpis">{''.join(f'<div class="kpi"><b>{v:,}</b><span>{k}</span></div>' for k, v in kpis)}</div>
{''.join(body)}
<p class="note">Charts: Vega-Lite (Vega {html.escape(_vega_version())}), drawn in this page from the data it
carries; nothing is fetched. Hover a mark for its numbers.</p>
</main>
<script>{vega_bundle()}</script>
<script>
(function () {{
  const specs = {_script_json(drawn)};
  const config = {_script_json(EMBED_CONFIG)};
  const pending = Object.entries(specs).map(([id, spec]) =>
    vegaEmbed("#chart-" + id, spec, {{renderer: "svg", actions: false, config: config}})
      .then(() => document.getElementById("chart-" + id).setAttribute("data-rendered", "true")));
  Promise.all(pending).then(() => document.body.setAttribute("data-charts-rendered", String(pending.length)),
                            (err) => {{ console.error(err); document.body.setAttribute("data-charts-failed", "true"); }});
}})();
</script>
</body></html>
"""


def _vega_version() -> str:
    try:
        import vl_convert

        return vl_convert.get_vega_version()
    except Exception:  # noqa: BLE001 - a label only
        return "?"


@dataclass
class Written:
    path: Path
    bytes: int
    seconds: float
    articles: int


def write_report(db: Path | str, out: Path, since: datetime | None = None,
                 links: dict[str, str] | None = None) -> Written:
    """Read the analyst copy `db` read-only (or the lake it names, `ducklake:postgres:...`) and write the
    report to `out` (atomically: a reader never sees half a page). `links` are shown in the header
    (text -> URL), e.g. the Data Docs."""
    started = time.perf_counter()
    page, articles = report_page(db, since, links)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(out.parent, f".{out.name}.", ".tmp")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        replace_keeping_mode(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Written(out, len(page.encode("utf-8")), round(time.perf_counter() - started, 2), articles)


def report_page(db: Path | str, since: datetime | None = None,
                links: dict[str, str] | None = None) -> tuple[str, int]:
    """The report's HTML from the analyst copy `db` (read-only) or the lake it names, attached read-only
    (the same tables and views: the same queries), and how many articles it covers."""
    lake = is_lake_url(str(db))
    if lake:
        from tasks.lake import open_lake

        con = open_lake(str(db), read_only=True)
    else:
        con = duckdb.connect(str(db), read_only=True)
    try:
        data = collect(con, since)
    finally:
        con.close()
    if lake:
        data.db = masked(str(db))  # the header names the warehouse; DuckDB's name for it is the catalog's
    return render(data, links), int(data.overview["articles"])


def report_path(db: Path) -> Path:
    """The news report beside a warehouse file: report.html for news.duckdb (the default name),
    <stem>.report.html for any other name, so warehouses that share a folder keep their own."""
    return _beside(Path(db), REPORT_FILE)


def data_docs_path(db: Path) -> Path:
    """The Data Docs' folder beside a warehouse file: data_docs/ for news.duckdb, <stem>.data_docs/ for
    any other name."""
    return _beside(Path(db), DATA_DOCS)


def _beside(db: Path, name: str) -> Path:
    return db.parent / (name if db.name == DEFAULT_DB.name else f"{db.stem}.{name}")


def data_docs_link(db: Path, out: Path, building: bool = False) -> dict[str, str]:
    """A header link to the Data Docs built beside the warehouse (`data_docs_path`), relative to the
    page so it works from the file and from `newsflow serve` alike; none when there are none, unless
    they are `building` while the report is written."""
    index = data_docs_path(db) / "index.html"
    if not building and not index.exists():
        return {}
    return {"Data Docs (validation)": Path(os.path.relpath(index, Path(out).parent)).as_posix()}
