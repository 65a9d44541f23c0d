"""Stories: group articles about the same event with MinHash + LSH (datasketch), incrementally.

Features: the article's set of entity merge keys (tasks/entities.py). The bundled samples are
rewrites, not copies, so word shingles barely overlap (3-word shingles: Jaccard 0.01-0.03 between the
samples) while the people, places and organisations they name overlap strongly (0.24-0.5); against
790 unrelated WCXB pages the entity-set Jaccard stays below 0.07 for 99.9% of pairs. See
docs/warehouse.md for the measurements and bench/story_thresholds.py to repeat them.

Incremental: every signature's LSH band buckets are stored in `story_bands`; a new article is matched
by joining its buckets there (candidates), then its estimated Jaccard with each candidate's stored
signature decides. Articles in the same batch are matched against each other with an in-memory
datasketch MinHashLSH using the same (b, r) parameters.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasketch import LeanMinHash, MinHash, MinHashLSH

from newsflow.settings import (STORY_MAX_CANDIDATES, STORY_MIN_FEATURES, STORY_NUM_PERM, STORY_SEED,
                               STORY_THRESHOLD)
from tasks.sql import registered


@dataclass(slots=True)
class Assignment:
    """The story chosen for one article."""

    article_id: str
    story_id: str
    matched_article_id: str | None
    similarity: float | None
    feature_count: int
    signature: np.ndarray
    title: str | None


_WORDS = re.compile(r"\w+")


def story_features(entity_keys: set[str], body: str, min_entities: int = STORY_MIN_FEATURES) -> set[str]:
    """What a story signature is built from: the entity keys, or, for an article naming fewer than
    `min_entities` entities, its word 3-shingles (prefixed "w:"), which only match near-copies of it.

    The two kinds of feature never overlap, so a short wire brief can only join its own syndicated
    copies, never a long article about something else. The text is compared in NFKC form: a copy that
    writes full-width digits or letters ("１０", common in Japanese) is still a copy.
    """
    if len(entity_keys) >= min_entities:
        return set(entity_keys)
    words = _WORDS.findall(unicodedata.normalize("NFKC", body).lower())  # "１０" as "10", as typed elsewhere
    return {"w:" + " ".join(words[i:i + 3]) for i in range(len(words) - 2)}


@lru_cache(maxsize=4)
def lsh_params(threshold: float = STORY_THRESHOLD, num_perm: int = STORY_NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) that datasketch picks for this threshold (equal FP/FN weights)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, str]:
    """The hash permutations of a MinHash with our seed, and their scheme: drawn once per process, not
    once per article (a third of a signature's cost)."""
    mh = MinHash(num_perm=num_perm, seed=STORY_SEED)
    return mh.permutations, mh.scheme


def signature(features: Iterable[str], num_perm: int = STORY_NUM_PERM) -> LeanMinHash:
    """MinHash of a feature set (fixed seed, so signatures stay comparable across runs); lean, so it
    pickles small when a worker computes it."""
    permutations, scheme = _permutations(num_perm)
    mh = MinHash(num_perm=num_perm, seed=STORY_SEED, permutations=permutations, scheme=scheme)
    mh.update_batch([f.encode("utf-8") for f in features])
    return LeanMinHash(mh)


def band_buckets(hashvalues: np.ndarray, b: int, r: int) -> list[int]:
    """One signed 64-bit bucket per band: a hash of that band's rows."""
    out = []
    for i in range(b):
        digest = hashlib.blake2b(hashvalues[i * r:(i + 1) * r].tobytes(), digest_size=8).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out


def _jaccard(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """Estimated Jaccard similarity of two signatures; of each row of `a` with `b` when `a` is a matrix."""
    return np.count_nonzero(a == b, axis=-1) / a.shape[-1]


def assign_stories(con: duckdb.DuckDBPyConnection, items: list[tuple[str, str | None, set[str]]],
                   threshold: float = STORY_THRESHOLD,
                   signatures: dict[str, MinHash] | None = None) -> list[Assignment]:
    """Choose a story for each (article_id, title, features), matching stored and same-batch articles.

    Args:
        con: Connection (or cursor) inside the load transaction; reads story_bands/story_articles.
        items: The batch's articles with their entity-key sets, in load order.
        threshold: Minimum estimated Jaccard similarity to join a story.
        signatures: Signatures already computed for these articles (by `signature`), by article id.

    Returns:
        One Assignment per item; the caller writes them with `write_assignments`.
    """
    b, r = lsh_params(threshold)
    known = signatures or {}
    sigs = {aid: known[aid] if aid in known else signature(feats) for aid, _t, feats in items}
    ids = [aid for aid, _t, _f in items]
    rows = [(aid, band, bucket) for aid in ids for band, bucket in enumerate(band_buckets(sigs[aid].hashvalues, b, r))]
    stored = _stored_candidates(con, rows) if rows else {}
    batch_lsh = MinHashLSH(threshold=threshold, num_perm=STORY_NUM_PERM, params=(b, r))
    story_of: dict[str, str] = {}
    out = []
    for aid, title, feats in items:
        mh = sigs[aid]
        best: tuple[float, str, str] | None = None
        if len(feats) >= STORY_MIN_FEATURES:
            if aid in stored:  # the first of the most similar stored candidates, as the loop below would pick
                old_ids, story_ids, matrix = stored[aid]
                sims = _jaccard(matrix, mh.hashvalues)
                i = int(np.argmax(sims))
                sim = float(sims[i])
                if sim >= threshold:
                    best = (sim, old_ids[i], story_ids[i])
            for other in batch_lsh.query(mh):
                sim = float(_jaccard(mh.hashvalues, sigs[other].hashvalues))
                if sim >= threshold and (best is None or sim > best[0]):
                    best = (sim, other, story_of[other])
            if aid not in batch_lsh.keys:
                batch_lsh.insert(aid, mh)
        if best:
            story_of[aid] = best[2]
            out.append(Assignment(aid, best[2], best[1], round(best[0], 4), len(feats), mh.hashvalues, title))
        else:
            story_of[aid] = aid
            out.append(Assignment(aid, aid, None, None, len(feats), mh.hashvalues, title))
    return out


def _stored_candidates(con: duckdb.DuckDBPyConnection,
                       rows: list[tuple[str, int, int]]) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """The stored articles that may join each new one's story, from the band buckets they share:
    new article id -> (their ids, their story ids, their signatures as the rows of one matrix).

    At most STORY_MAX_CANDIDATES per new article, those sharing the most buckets (the likeliest to be
    similar): a crowded bucket (a long list of names many pages share) must not make every batch fetch
    and compare thousands of signatures. Only those naming STORY_MIN_FEATURES entities or more count.
    The signatures come back as Arrow arrays, not Python lists: a batch fetches ~10,000 of them once
    the warehouse holds a few thousand articles (128 integers each, ~0.2 s as Python objects)."""
    bands = pa.table({
        "article_id": pa.array([x[0] for x in rows], type=pa.string()),
        "band": pa.array([x[1] for x in rows], type=pa.int16()),
        "bucket": pa.array([x[2] for x in rows], type=pa.int64()),
    })
    with registered(con, b_bands=bands):
        table = con.execute(
            "with shared as (select n.article_id as new_id, s.article_id as old_id, count(*) as bands "
            "  from b_bands n join story_bands s using (band, bucket) where s.article_id <> n.article_id "
            "  group by n.article_id, s.article_id "
            "  qualify row_number() over (partition by new_id order by bands desc, old_id) <= ?) "
            "select new_id, old_id, sa.story_id, sa.signature "
            "from shared join story_articles sa on sa.article_id = shared.old_id "
            "where sa.feature_count >= ? order by new_id, bands desc, old_id",
            [STORY_MAX_CANDIDATES, STORY_MIN_FEATURES],
        ).fetch_arrow_table()
    if table.num_rows == 0:
        return {}
    signatures = table.column("signature").combine_chunks()
    if not (pc.list_value_length(signatures).to_numpy() == STORY_NUM_PERM).all():
        raise ValueError(f"stored story signatures must have {STORY_NUM_PERM} values each (STORY_NUM_PERM)")
    matrix = signatures.flatten().to_numpy().reshape(table.num_rows, STORY_NUM_PERM)
    new_ids = table.column("new_id").to_pylist()
    old_ids = table.column("old_id").to_pylist()
    story_ids = table.column("story_id").to_pylist()
    out: dict[str, tuple[list[str], list[str], np.ndarray]] = {}
    start = 0
    for new_id, rows_of_one in itertools.groupby(new_ids):  # rows come ordered by new id
        end = start + sum(1 for _ in rows_of_one)
        out[new_id] = (old_ids[start:end], story_ids[start:end], matrix[start:end])
        start = end
    return out


def among_stored(ids: list[str], stored: Collection[str] | None) -> list[str]:
    """The ids that may already have rows to replace: all of them when `stored` is None."""
    return ids if stored is None else [aid for aid in ids if aid in stored]


def write_assignments(con: duckdb.DuckDBPyConnection, assignments: list[Assignment], now,
                      stored: Collection[str] | None = None) -> None:
    """Upsert story_articles, replace the articles' band buckets, and create stories that are new.

    An article that already had a story keeps it (ids analysts saw stay valid); only its signature and
    buckets are refreshed when its content changed. `stored` says which articles may have a story
    already (None: any); the others' lookups and deletes, each a scan of a growing table, are skipped.
    """
    if not assignments:
        return
    b, r = lsh_params()
    ids = [a.article_id for a in assignments]
    replaced = among_stored(ids, stored)
    keep = dict(con.execute("select article_id, story_id from story_articles where article_id in (select unnest(?))",
                            [replaced]).fetchall()) if replaced else {}
    # A story an article of the batch would have started is not started when that article keeps its
    # own: the first of the batch's articles that joined it starts it instead, and the others follow.
    dropped = {a.article_id for a in assignments
               if a.article_id in keep and a.story_id == a.article_id != keep[a.article_id]}
    founders: dict[str, str] = {}
    for a in assignments:
        if a.article_id in keep:
            a.story_id = keep[a.article_id]
        elif a.story_id in dropped:
            a.story_id = founders.setdefault(a.story_id, a.article_id)
    story = pa.table({
        "article_id": pa.array(ids, type=pa.string()),
        "story_id": pa.array([a.story_id for a in assignments], type=pa.string()),
        "matched_article_id": pa.array([a.matched_article_id for a in assignments], type=pa.string()),
        "similarity": pa.array([a.similarity for a in assignments], type=pa.float64()),
        "feature_count": pa.array([a.feature_count for a in assignments], type=pa.int32()),
        "signature": pa.array([a.signature.tolist() for a in assignments], type=pa.list_(pa.uint64())),
        "title": pa.array([a.title for a in assignments], type=pa.string()),
    })
    bands = [(a.article_id, band, bucket) for a in assignments
             for band, bucket in enumerate(band_buckets(a.signature, b, r))]
    story_bands = pa.table({
        "band": pa.array([x[1] for x in bands], type=pa.int16()),
        "bucket": pa.array([x[2] for x in bands], type=pa.int64()),
        "article_id": pa.array([x[0] for x in bands], type=pa.string()),
    })
    with registered(con, b_story=story, b_story_bands=story_bands):
        con.execute("insert into stories select story_id, article_id, title, ? from b_story "
                    "where story_id = article_id on conflict do nothing", [now])
        con.execute("""
            insert into story_articles
            select article_id, story_id, matched_article_id, similarity, feature_count, signature, ? from b_story
            on conflict (article_id) do update set signature = excluded.signature,
                feature_count = excluded.feature_count
        """, [now])
        if replaced:
            con.execute("delete from story_bands where article_id in (select unnest(?))", [replaced])
        # a story's label is its first article's title: one retitled upstream relabels it (a story's id
        # is its first article's; only stories whose first article this batch updated are looked up)
        if founders_updated := [aid for aid, story in keep.items() if aid == story]:
            con.execute("update stories set title = b.title from b_story b where stories.story_id = b.article_id "
                        "and stories.story_id in (select unnest(?)) and stories.title is distinct from b.title",
                        [founders_updated])
        con.execute("insert into story_bands select * from b_story_bands")
