"""Vega-Lite (Altair, vl-convert's inline bundle) or Plotly (plotly.js embedded) for `newsflow report`?

Draws the report's ten charts from the same data (tasks.report.collect) both ways, each as one
self-contained page, and measures each page's size and its render time in headless Chromium
(navigation start to every chart drawn; median of --repeats). The Altair page is the one
`newsflow report` writes; the Plotly page draws the same chart types (stacked bars, horizontal bars,
lines, a heatmap). Plotly is not a dependency of newsflow; to run this:

    .venv/bin/pip install plotly==7.1.0
    .venv/bin/python bench/report_libs.py warehouse/news.duckdb bench/out/report/news-20000.duckdb
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks import report as R  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


def plotly_page(data: R.ReportData) -> str:
    """The same charts with Plotly, plotly.js inlined once."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    def rows(rs):
        return R.plain_rows(rs)

    figs: dict[str, go.Figure] = {}
    daily = rows(data.daily)
    fig = go.Figure()
    for outlet in sorted({r["outlet"] for r in daily}):
        pts = [r for r in daily if r["outlet"] == outlet]
        fig.add_bar(x=[r["day"] for r in pts], y=[r["articles"] for r in pts], name=outlet)
    figs["daily"] = fig.update_layout(barmode="stack", title="Articles per day by outlet", width=1000, height=320)
    st = rows(data.stories)
    figs["stories"] = go.Figure(go.Bar(y=[f"{i + 1}. {R._short(s['story_title'], 56)}" for i, s in enumerate(st)],
                                       x=[s["outlet_count"] for s in st], orientation="h",
                                       marker=dict(color=[s["articles"] for s in st], colorscale="Blues"))
                                ).update_layout(title="Top stories", width=900, height=120 + 20 * len(st))
    from plotly.subplots import make_subplots

    ent = make_subplots(rows=1, cols=3, subplot_titles=list(R.KINDS.values()))
    for col, kind in enumerate(R.KINDS, 1):
        es = [e for e in data.entities if e["kind"] == kind]
        ent.add_bar(y=[e["entity"] for e in es], x=[e["mentions"] for e in es], orientation="h", row=1, col=col)
    figs["entities"] = ent.update_layout(title="Most mentioned", width=1000, height=320, showlegend=False)
    ed = rows(data.entity_daily)
    fig = go.Figure()
    for name in sorted({r["entity"] for r in ed}):
        pts = [r for r in ed if r["entity"] == name]
        fig.add_scatter(x=[r["day"] for r in pts], y=[r["mentions"] for r in pts], name=name, mode="lines+markers")
    figs["entity_daily"] = fig.update_layout(title="Daily mentions", width=1000, height=300)
    cit = data.citations
    citing = sorted({c["citing"] for c in cit})
    cited = sorted({c["cited"] for c in cit})
    z = [[next((c["citations"] for c in cit if c["citing"] == a and c["cited"] == b), None) for b in cited]
         for a in citing]
    figs["citations"] = go.Figure(go.Heatmap(z=z, x=cited, y=citing, colorscale="Oranges", texttemplate="%{z}")
                                  ).update_layout(title="Who cites whom", width=900, height=200 + 20 * len(citing))
    runs = rows(data.runs)
    fig = go.Figure()
    for key in ("new", "updated", "quarantined"):
        fig.add_bar(x=[r["period"] for r in runs], y=[r[key] for r in runs], name=key)
    figs["runs"] = fig.update_layout(barmode="stack", title="Runs", width=1000, height=280)
    for name, rs, y, x, color in (("quarantine", data.quarantine, "reason", "documents", "stage"),
                                  ("fetch", data.fetch_failures, "host", "failures", "reason")):
        fig = go.Figure()
        for c in sorted({r[color] for r in rs}):
            pts = [r for r in rs if r[color] == c]
            fig.add_bar(y=[r[y] for r in pts], x=[r[x] for r in pts], name=c, orientation="h")
        figs[name] = fig.update_layout(barmode="stack", title=name, width=900, height=150 + 20 * len({r[y] for r in rs}))
    figs["removed"] = go.Figure(go.Bar(y=[r["rule"] for r in data.removed], x=[r["segments"] for r in data.removed],
                                       orientation="h")).update_layout(title="Boilerplate removed by rule", width=900)
    figs["validation"] = go.Figure(go.Bar(y=[v["expectation"] for v in data.validation],
                                          x=[v["failed"] for v in data.validation], orientation="h",
                                          text=[f"{v['failed']} of {v['passed'] + v['failed']}" for v in data.validation])
                                   ).update_layout(title="Validation", width=900)
    divs = []
    for name, fig in figs.items():
        spec = fig.to_json()
        divs.append(f'<div class="chart" id="chart-{name}"></div><script>(function(f){{Plotly.newPlot('
                    f'"chart-{name}", f.data, f.layout, {{displaylogo: false}}).then(() => '
                    f'window.__drawn = (window.__drawn || 0) + 1);}})({spec});</script>')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>plotly</title></head><body>'
            f'<script>{get_plotlyjs()}</script>{"".join(divs)}'
            f'<script>window.__charts = {len(figs)};</script></body></html>')


def render_time(page_path: Path, repeats: int, done_js: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_function(done_js, timeout=120_000, polling=20)
            # Navigation start to now, measured by the page's own clock.
            times.append(page.evaluate("() => performance.now()") / 1000)
            if errors:
                raise RuntimeError(f"{page_path}: {errors}")
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "report-libs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    R.vega_bundle()  # built once (cached), not part of any page's timing
    results = []
    for db in args.db:
        con = duckdb.connect(str(db), read_only=True)
        data = R.collect(con)
        con.close()
        pages = {}
        started = time.perf_counter()
        pages["vega-lite (altair)"] = (R.render(data), "() => document.body.dataset.chartsRendered !== undefined",
                                       time.perf_counter() - started)
        started = time.perf_counter()
        pages["plotly"] = (plotly_page(data), "() => window.__drawn === window.__charts", time.perf_counter() - started)
        for lib, (html, done, build) in pages.items():
            path = args.out / f"{db.stem}-{lib.split()[0]}.html"
            path.write_text(html, encoding="utf-8")
            times = render_time(path, args.repeats, done)
            results.append({"warehouse": str(db), "articles": data.overview["articles"], "library": lib,
                            "page_kb": round(path.stat().st_size / 1024), "build_s": round(build, 2),
                            "render_s": [round(t, 2) for t in times], "render_median_s": round(statistics.median(times), 2)})
            print(json.dumps(results[-1]))


if __name__ == "__main__":
    main()
