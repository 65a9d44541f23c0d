"""Validate a batch of cleaned articles with the Great Expectations suite in expectations/.

One small function around an in-memory (ephemeral) GX context, as GX's own operators do: a DataFrame
in, per-row failures out. Rows with failures are quarantined with the expectations they failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd

from tasks.models import Article, Rejected


@dataclass
class Validation:
    valid: list[Article]
    rejected: list[Rejected]
    # expectation -> (passed rows, failed rows) for the run report
    per_expectation: dict[str, tuple[int, int]]
    result: dict[str, Any]


def describe(config: Any) -> str:
    """A short name for an expectation: its type and the column it checks."""
    kwargs = config.kwargs
    return f"{config.type}({kwargs.get('column', '')})"


def _detail(article: Article, column: str, name: str) -> str:
    """What was wrong with this row, in words an operator can act on."""
    from tasks.rules import match_line_rule

    if column == "body":
        if "regex" in name:
            for line in article.body.splitlines():
                rule = match_line_rule(line.strip())
                if rule:
                    return f"boilerplate left in body (rule {rule.id}): {line.strip()[:120]!r}"
            return "boilerplate left in body"
        return f"body has {len(article.body)} characters"
    if column == "title":
        return f"title has {len(article.title or '')} characters"
    if column == "published_ts":
        return f"published_at {article.published_at} is in the future"
    if column == "article_id":
        return f"article id {article.article_id} appears more than once in the batch (same URL twice?)"
    value = getattr(article, column, None)
    return f"{column}={str(value)[:200]!r}"


def articles_frame(articles: list[Article]) -> pd.DataFrame:
    def ts(value: str | None) -> float | None:
        return datetime.fromisoformat(value).timestamp() if value else None

    return pd.DataFrame({
        "row": range(len(articles)),
        "article_id": [a.article_id for a in articles],
        "source_uri": [a.source_uri for a in articles],
        "url": pd.Series([a.url for a in articles], dtype="object"),
        "title": pd.Series([a.title for a in articles], dtype="object"),
        "body": [a.body for a in articles],
        "published_ts": pd.Series([ts(a.published_at) for a in articles], dtype="float64"),
    })


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_pandas("newsflow")
    asset = source.add_dataframe_asset("articles")
    return context, asset.add_batch_definition_whole_dataframe("batch")


def validate_articles(articles: list[Article], now: datetime | None = None) -> Validation:
    """Run the articles suite over one batch; split it into valid articles and rejected ones."""
    from expectations.articles import build_suite

    if not articles:
        return Validation([], [], {}, {})
    _context, batch_definition = _batch_definition()
    frame = articles_frame(articles)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        build_suite(now),
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row"]},
    )
    failures: dict[int, list[str]] = {}
    per_expectation: dict[str, tuple[int, int]] = {}
    for res in result.results:
        name = describe(res.expectation_config)
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {name} could not run: {res.exception_info.get('exception_message')}")
        bad_rows = {item["row"] for item in (res.result.get("unexpected_index_list") or [])}
        column = res.expectation_config.kwargs.get("column", "")
        for row in bad_rows:
            failures.setdefault(row, []).append(f"failed {name}: {_detail(articles[row], column, name)}")
        per_expectation[name] = (len(articles) - len(bad_rows), len(bad_rows))
    valid = [a for i, a in enumerate(articles) if i not in failures]
    rejected = [
        Rejected(a.document_id, a.source_uri, "validate", failures[i]) for i, a in enumerate(articles) if i in failures
    ]
    return Validation(valid, rejected, per_expectation, result.describe_dict())
