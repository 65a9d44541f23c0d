"""Enrich a loaded batch: entities + mentions, citations, and story assignment, in the load transaction.

Called by `tasks.load.load_batch` for the articles whose content is new or changed, on the same
cursor, so a batch and its enrichment commit (or roll back) together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from tasks.citations import extract_citations
from tasks.entities import entity_id_for, extract_entities
from tasks.stories import assign_stories, story_features, write_assignments


@dataclass(slots=True)
class EnrichInput:
    """What enrichment needs from one article."""

    article_id: str
    title: str | None
    body: str
    removed: list[str]


def enrich_batch(con: duckdb.DuckDBPyConnection, items: list[EnrichInput], now: datetime) -> dict[str, int]:
    """Replace the entities/mentions/citations of these articles and assign their stories.

    Args:
        con: A cursor inside the caller's open transaction.
        items: Articles to (re-)enrich, in load order.
        now: Timestamp recorded on new rows.

    Returns:
        Counts: mentions, citations, new_stories.
    """
    if not items:
        return {"mentions": 0, "citations": 0, "new_stories": 0}
    ids = [i.article_id for i in items]
    ent_rows, men_rows, cit_rows, story_items = [], [], [], []
    for item in items:
        found = extract_entities(item.body)
        for m in found:
            eid = entity_id_for(m.key)
            ent_rows.append((eid, m.name, m.kind, m.key))
            men_rows.extend((item.article_id, eid, form, n) for form, n in m.surface_forms.items())
        for c in extract_citations(item.body, item.removed):
            cit_rows.append((item.article_id, c.outlet, c.outlet_key, c.pattern, c.sentence, c.in_body))
        story_items.append((item.article_id, item.title, story_features({m.key for m in found}, item.body)))
    con.register("b_entities", pa.table({
        "entity_id": [r[0] for r in ent_rows], "name": [r[1] for r in ent_rows],
        "kind": [r[2] for r in ent_rows], "merge_key": [r[3] for r in ent_rows],
    }, schema=pa.schema([("entity_id", pa.string()), ("name", pa.string()), ("kind", pa.string()),
                         ("merge_key", pa.string())])))
    con.register("b_mentions", pa.table({
        "article_id": [r[0] for r in men_rows], "entity_id": [r[1] for r in men_rows],
        "surface_form": [r[2] for r in men_rows], "count": pa.array([r[3] for r in men_rows], type=pa.int32()),
    }, schema=pa.schema([("article_id", pa.string()), ("entity_id", pa.string()), ("surface_form", pa.string()),
                         ("count", pa.int32())])))
    con.register("b_citations", pa.table({
        "article_id": [r[0] for r in cit_rows], "outlet": [r[1] for r in cit_rows],
        "outlet_key": [r[2] for r in cit_rows], "pattern": [r[3] for r in cit_rows],
        "sentence": [r[4] for r in cit_rows], "in_body": pa.array([r[5] for r in cit_rows], type=pa.bool_()),
    }, schema=pa.schema([("article_id", pa.string()), ("outlet", pa.string()), ("outlet_key", pa.string()),
                         ("pattern", pa.string()), ("sentence", pa.string()), ("in_body", pa.bool_())])))
    try:
        # One row per entity: the most frequent specific kind in this batch wins over "other"; an
        # existing entity keeps its name and only gains a kind it did not have.
        con.execute("""
            insert into entities
            select entity_id, arg_min(name, name), coalesce(mode(kind) filter (where kind <> 'other'), 'other'),
                   any_value(merge_key), ?
            from b_entities group by entity_id
            on conflict (entity_id) do update set
                kind = case when entities.kind = 'other' then excluded.kind else entities.kind end
        """, [now])
        con.execute("delete from mentions where article_id in (select unnest(?))", [ids])
        con.execute("insert into mentions select * from b_mentions")
        con.execute("delete from citations where article_id in (select unnest(?))", [ids])
        con.execute("insert into citations select * from b_citations")
    finally:
        for name in ("b_entities", "b_mentions", "b_citations"):
            con.unregister(name)
    before = con.execute("select count(*) from stories").fetchone()[0]
    write_assignments(con, assign_stories(con, story_items), now)
    new_stories = con.execute("select count(*) from stories").fetchone()[0] - before
    return {"mentions": len(men_rows), "citations": len(cit_rows), "new_stories": new_stories}
