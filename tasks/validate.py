"""Validate a batch of cleaned articles with the Great Expectations suite in expectations/.

One small module around an in-memory (ephemeral) GX context, as GX's own operators do: a DataFrame in,
per-row failures out. Rows with failures are quarantined with the expectations they failed. Results
stay in the context so one Data Docs build at the end of a run shows every batch of that run.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsflow.settings import FUTURE_TOLERANCE_S
from tasks.models import Article, Rejected

if TYPE_CHECKING:  # pandas loads with Great Expectations; worker processes import this module without either
    import pandas as pd

DATA_DOCS_SITE = "newsflow"


@dataclass
class Validation:
    valid: list[Article]
    rejected: list[Rejected]
    # expectation -> (passed rows, failed rows) for the run report
    per_expectation: dict[str, tuple[int, int]]


def describe(config: Any) -> str:
    """A short name for an expectation: its type and the column it checks."""
    return f"{config.type}({config.kwargs.get('column', '')})"


def _detail(article: Article, column: str, name: str, now: datetime) -> str:
    """What was wrong with this row, in words an operator can act on."""
    if column == "boilerplate_left":
        return f"boilerplate left in body (rule {article.analysis.boilerplate_left[:160]})"
    if column in ("body_size", "title_size"):
        text = (article.body if column == "body_size" else article.title) or ""
        size = text_size(text)
        return (f"{column[:-5]} has {len(text)} characters"
                + (f" (counted as {size}: Chinese, Japanese and Thai count three, Korean two)"
                   if size != len(text) else ""))
    if column == "published_age_s":
        if _far_ahead(article.published_at, now):
            return (f"published_at {article.published_at} is more than a year in the future: a wrong date (a "
                    "Thai Buddhist-era year is 543 ahead: 2567 is 2024), not retried; correct it at the source")
        return (f"published_at {article.published_at} is in the future; the first run after "
                f"{_iso(passes_from(article.published_at))} loads it")
    if column == "article_id":
        return f"article id {article.article_id} appears more than once in the batch (same URL twice?)"
    value = getattr(article, column, None)
    return f"{column}={str(value)[:200]!r}"


# A date without a time is stored as midnight UTC (`tasks.clean.parse_published`), and that day began
# up to 14 hours earlier east of UTC (UTC+14, Kiribati): a page dated today there is not in the future.
MIDNIGHT_UTC = "T00:00:00+00:00"
DAY_BEGAN_EARLIER_S = 14 * 3600


def passes_from(published_at: str) -> datetime:
    """The instant from which `published_at` is no longer in the future for validation (the
    tolerance for clock skew included)."""
    when = datetime.fromisoformat(published_at)
    early = DAY_BEGAN_EARLIER_S if published_at.endswith(MIDNIGHT_UTC) else 0
    return (when - timedelta(seconds=FUTURE_TOLERANCE_S + early)).astimezone(timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


_HANGUL = re.compile("[\uac00-\ud7a3]")  # Korean syllables: spaced words, each syllable a few letters


def text_size(text: str) -> int:
    """A text's length as validation measures it: in characters, each of a script written without
    spaces (Chinese, Japanese, Thai) counted as three and each Korean syllable as two, about what the
    same words take in English: a 117-character Chinese brief says what ~350 English characters say,
    a 120-character Korean one (26 words) what ~200 say."""
    from tasks.segments import UNSPACED_SCRIPT

    return len(text) + 2 * len(UNSPACED_SCRIPT.findall(text)) + len(_HANGUL.findall(text))


def articles_frame(articles: list[Article], now: datetime | None = None) -> pd.DataFrame:
    """One row per article, with the derived columns the suite checks: `published_age_s` (seconds
    between publication and now; for a day without a time, between that day's start at UTC+14 and
    now), `body_size` and `title_size` (`text_size`) and `boilerplate_left` (tasks.enrich.Analysis: the
    first body line a boilerplate rule still matches, found in the worker that cleaned the article)."""
    import pandas as pd

    from tasks.enrich import analysis_of

    now_ts = (now or datetime.now(timezone.utc)).timestamp()

    def age(value: str | None) -> float | None:
        if not value:
            return None
        seconds = now_ts - datetime.fromisoformat(value).timestamp()
        return seconds + DAY_BEGAN_EARLIER_S if value.endswith(MIDNIGHT_UTC) else seconds

    return pd.DataFrame({
        "row": range(len(articles)),
        "article_id": [a.article_id for a in articles],
        "source_uri": [a.source_uri for a in articles],
        "url": pd.Series([a.url for a in articles], dtype="object"),
        "title": pd.Series([a.title for a in articles], dtype="object"),
        "body": [a.body for a in articles],
        "body_size": pd.Series([text_size(a.body) for a in articles], dtype="int64"),
        "title_size": pd.Series([None if a.title is None else text_size(a.title) for a in articles], dtype="float64"),
        "published_age_s": pd.Series([age(a.published_at) for a in articles], dtype="float64"),
        "boilerplate_left": pd.Series([analysis_of(a).boilerplate_left for a in articles], dtype="object"),
    })


@lru_cache(maxsize=1)
def preload() -> threading.Thread:
    """Import Great Expectations in a background thread (a few seconds of imports, once per process),
    so the first validation does not wait for them. Returns the thread."""
    thread = threading.Thread(target=lambda: __import__("great_expectations"), name="preload-gx", daemon=True)
    thread.start()
    return thread


@lru_cache(maxsize=1)
def _gx():
    """The ephemeral context with the suite and its validation definition, made once per process."""
    import great_expectations as gx

    from expectations.articles import SUITE_NAME, build_suite

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("newsflow").add_dataframe_asset("articles")
    batch_definition = asset.add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(build_suite())
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE_NAME, data=batch_definition, suite=suite)
    )
    return context, definition


def validate_articles(articles: list[Article], now: datetime | None = None, run_name: str | None = None) -> Validation:
    """Run the articles suite over one batch; split it into valid articles and rejected ones."""
    from great_expectations.core.run_identifier import RunIdentifier

    if not articles:
        return Validation([], [], {})
    now = now or datetime.now(timezone.utc)
    _context, definition = _gx()
    result = definition.run(
        batch_parameters={"dataframe": articles_frame(articles, now)},
        # Rows only, never the values: GX's Data Docs put unexpected values into their HTML unescaped
        # (a quarantined article whose text shows "<script>" ran it in the operator's browser), and
        # copying whole bodies into the results cost memory for nothing newsflow reads.
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row"],
                       "exclude_unexpected_values": True},
        run_id=RunIdentifier(run_name=run_name) if run_name else None,
    )
    failures: dict[int, list[str]] = {}
    failed: dict[int, list[str]] = {}  # the columns each failed row failed on
    per_expectation: dict[str, tuple[int, int]] = {}
    for res in result.results:
        name = describe(res.expectation_config)
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {name} could not run: {res.exception_info.get('exception_message')}")
        # without the values, GX lists the failed rows together: [{"row": [3, 7]}]
        bad_rows = {int(row) for item in (res.result.get("unexpected_index_list") or []) for row in item["row"]}
        column = res.expectation_config.kwargs.get("column", "")
        for row in bad_rows:
            failures.setdefault(row, []).append(f"failed {name}: {_detail(articles[row], column, name, now)}")
            failed.setdefault(row, []).append(column)
        per_expectation[name] = (len(articles) - len(bad_rows), len(bad_rows))
    valid = [a for i, a in enumerate(articles) if i not in failures]
    rejected = [Rejected(a.document_id, a.source_uri, "validate", failures[i], _retry_at(a, failed[i], now))
                for i, a in enumerate(articles) if i in failures]
    return Validation(valid, rejected, per_expectation)


def _retry_at(article: Article, failed: list[str], now: datetime) -> datetime | None:
    """When an article that failed only for a date still in the future would pass: the document is
    cleaned again by the first ingest run after that (a publisher's clock or zone ahead of ours, a story
    scheduled for later). None when anything else failed too, or the date is over a year ahead."""
    if failed != ["published_age_s"] or not article.published_at or _far_ahead(article.published_at, now):
        return None
    return passes_from(article.published_at)


FAR_AHEAD = timedelta(days=366)  # no story is scheduled this far ahead: the date is wrong


def _far_ahead(published_at: str, now: datetime) -> bool:
    return datetime.fromisoformat(published_at) - now > FAR_AHEAD


def build_data_docs(folder: Path) -> str | None:
    """Build GX Data Docs for the validations this process ran into `folder`; return the index's
    file:// URL (GX's own leaves spaces unquoted, so terminals cut the link there)."""
    context, _definition = _gx()
    if DATA_DOCS_SITE in (context.get_site_names() or []):
        context.delete_data_docs_site(DATA_DOCS_SITE)  # the folder may differ from the last run's
    context.add_data_docs_site(site_name=DATA_DOCS_SITE, site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    urls = context.build_data_docs(site_names=[DATA_DOCS_SITE])
    return (folder / "index.html").as_uri() if urls.get(DATA_DOCS_SITE) else None
