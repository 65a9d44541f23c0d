"""Enrich articles: entities + mentions, citations, and story assignment.

Two halves, so the CPU-heavy part runs in parallel with cleaning and the single writer only writes:

- `analyze(title, body, removed, language)`: pure; entity extraction, citations, the story features and their
  MinHash signature, and the validation suite's boilerplate leak check. It runs in the worker that
  cleaned the article (tasks/guard.py), inside the per-document time limit, and travels back on
  `Article.analysis`.
- `enrich_batch(con, items, now)`: called by `tasks.load.load_batch` for the articles whose content is
  new or changed, on the same cursor, so a batch and its enrichment commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
from datasketch import LeanMinHash

from tasks.citations import extract_citations
from tasks.entities import entity_id_for, extract_entities
from tasks.rules import find_leak
from tasks.sql import registered, statement
from tasks.stories import among_stored, assign_stories, signature, story_features, write_assignments


@dataclass(slots=True)
class Analysis:
    """What is derived from one article's text alone (no warehouse state), as plain row tuples: they
    pickle back from the worker cheaper than the extractors' objects (the single writer unpickles them)."""

    entities: list[tuple[str, str, str, str]]  # (entity_id, name, kind, merge_key)
    mentions: list[tuple[str, str, int]]  # (entity_id, surface_form, count)
    citations: list[tuple[str, str, str, str, bool]]  # (outlet, outlet_key, pattern, sentence, in_body)
    story_features: set[str]
    signature: LeanMinHash  # of story_features
    # "rule-id: line" for the first body line a boilerplate rule still matches (the cleaner missed it);
    # the validation suite rejects the article when this is set.
    boilerplate_left: str | None


# Languages that capitalise every noun: a run of capitalised words there is no name ("Die Regierung",
# "Nach Angaben"), so their articles get no entity rows and are matched to stories by their words.
NOUNS_CAPITALISED = frozenset({"de", "lb"})


def analyze(title: str | None, body: str, removed: list[str], language: str | None = None) -> Analysis:
    """Everything enrichment and validation need from the text, computed once, where it is cleaned.
    `language` (the article's, ISO 639-1) turns entities off where capitals do not mark names."""
    found = extract_entities(body) if language not in NOUNS_CAPITALISED else []
    ids = {m.key: entity_id_for(m.key) for m in found}
    features = story_features(set(ids), body)
    leak = find_leak(body)
    return Analysis(
        entities=[(ids[m.key], m.name, m.kind, m.key) for m in found],
        mentions=[(ids[m.key], form, n) for m in found for form, n in m.surface_forms.items()],
        citations=[(c.outlet, c.outlet_key, c.pattern, c.sentence, c.in_body)
                   for c in extract_citations(body, removed)],
        story_features=features,
        signature=signature(features),
        boilerplate_left=f"{leak[0].id}: {leak[1][:200]}" if leak else None,
    )


def analysis_of(article) -> Analysis:
    """The article's analysis, computed here when the worker did not attach one (e.g. reclean paths)."""
    if article.analysis is None:
        article.analysis = analyze(article.title, article.body, [s.text for s in article.removed], article.language)
    return article.analysis


ENTITY_COLUMNS = pa.schema([("entity_id", pa.string()), ("name", pa.string()), ("kind", pa.string()),
                            ("merge_key", pa.string())])
MENTION_COLUMNS = pa.schema([("article_id", pa.string()), ("entity_id", pa.string()),
                             ("surface_form", pa.string()), ("count", pa.int32())])
CITATION_COLUMNS = pa.schema([("article_id", pa.string()), ("outlet", pa.string()), ("outlet_key", pa.string()),
                              ("pattern", pa.string()), ("sentence", pa.string()), ("in_body", pa.bool_())])


def _rows_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Row tuples as an Arrow table with `schema` (the tuples' fields in the schema's order)."""
    return pa.table({f.name: pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(schema)},
                    schema=schema)


def enrich_batch(con: duckdb.DuckDBPyConnection, items: list[tuple[str, str | None, Analysis]],
                 now: datetime, stored: Collection[str] | None = None) -> dict[str, int]:
    """Replace the entities/mentions/citations of these articles and assign their stories.

    Args:
        con: A cursor inside the caller's open transaction.
        items: (article_id, title, analysis) of the articles to (re-)enrich, in load order.
        now: Timestamp recorded on new rows.
        stored: Which of them were enriched before (None: any may have been). Only their rows are
            deleted: each delete scans its whole table, which grows with the warehouse, and a batch of
            new articles has nothing to delete.

    Returns:
        Counts: mentions, citations, new_stories.
    """
    if not items:
        return {"mentions": 0, "citations": 0, "new_stories": 0}
    ids = [aid for aid, _title, _a in items]
    replaced = among_stored(ids, stored)
    ent_rows, men_rows, cit_rows, story_items = [], [], [], []
    for aid, title, analysis in items:
        ent_rows.extend(analysis.entities)
        men_rows.extend((aid, *m) for m in analysis.mentions)
        cit_rows.extend((aid, *c) for c in analysis.citations)
        story_items.append((aid, title, analysis.story_features))
    entities = _rows_table(ent_rows, ENTITY_COLUMNS)
    mentions = _rows_table(men_rows, MENTION_COLUMNS)
    citations = _rows_table(cit_rows, CITATION_COLUMNS)
    with registered(con, b_entities=entities, b_mentions=mentions, b_citations=citations):
        con.execute(statement("upsert_entities"), {"now": now})
        if replaced:
            con.execute("delete from mentions where article_id in (select unnest(?))", [replaced])
            con.execute("delete from citations where article_id in (select unnest(?))", [replaced])
        con.execute("insert into mentions select * from b_mentions")
        con.execute("insert into citations select * from b_citations")
    before = con.execute("select count(*) from stories").fetchone()[0]
    signatures = {aid: analysis.signature for aid, _title, analysis in items}
    write_assignments(con, assign_stories(con, story_items, signatures=signatures), now, stored=stored)
    new_stories = con.execute("select count(*) from stories").fetchone()[0] - before
    return {"mentions": len(men_rows), "citations": len(cit_rows), "new_stories": new_stories}
