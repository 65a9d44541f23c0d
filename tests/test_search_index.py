"""The BM25 index is maintained incrementally and scores exactly as a full create_fts_index rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_helpers import load_docs, sample_docs

from newsflow.settings import SAMPLES_DIR
from tasks import load as L
from tasks.search import FTS_SCHEMA, build_index, index_articles, index_is_maintained, prepare_index, search
from tasks.sources import discover, read_all

QUERIES = ["Vladivostok armored train", "bitcoin price", "zeppelin", "minister election", "the of and"]


def index_state(con) -> dict:
    """Everything BM25 reads, keyed by article and term (not by the internal ids)."""
    f = FTS_SCHEMA
    return {
        "docs": sorted(con.execute(f"select name, len from {f}.docs").fetchall()),
        "df": sorted(con.execute(f"select term, df from {f}.dict where df > 0").fetchall()),
        "postings": sorted(con.execute(
            f"select d.name, fl.field, t.term, count(*) from {f}.terms p join {f}.docs d using (docid) "
            f"join {f}.dict t using (termid) join {f}.fields fl using (fieldid) group by all").fetchall()),
        "stats": con.execute(f"select num_docs, round(avgdl, 9) from {f}.stats").fetchall(),
        "scores": {q: [(h.article_id, round(h.score, 9)) for h in search(con, q, limit=50)] for q in QUERIES},
    }


# Words the tokenizer must treat exactly as create_fts_index does: accents, case, punctuation inside and
# around words, digits, tabs, a no-break space, and a Greek question mark (U+037E, which strip_accents
# turns into a ';' and so into a word break).
TRICKY = ("Café NAÏVE co-operate e-mail “quoted” don’t 2024-05-01 x86_64 Ærø İstanbul Ŝtrange "
          "tab\there no\u00a0break the;end semi\u037ecolon (brackets) [more] {curly} path/to\\file")


def more_docs(folder: Path) -> list:
    """Five more articles: the samples' text, reworded, under new names."""
    folder.mkdir()
    for i, path in enumerate(sorted(SAMPLES_DIR.glob("*.txt"))):
        text = path.read_text(encoding="utf-8").replace(" the ", " a zeppelin ", 3)
        (folder / f"more-{i}.txt").write_text(f"Zeppelin report number {i} from the harbour\n\n{text}\n\n{TRICKY}",
                                              encoding="utf-8")
    return list(read_all(discover([folder])))


@pytest.fixture()
def con(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def test_batches_added_updated_and_deleted_match_a_full_rebuild(con, tmp_path: Path):
    load_docs(con, sample_docs())  # the first batch builds an empty index and enters it
    load_docs(con, more_docs(tmp_path / "more"), run_id="second")  # the second only adds its postings
    assert con.execute(f"select count(*) from {FTS_SCHEMA}.docs").fetchone()[0] == 10
    changed, gone = con.execute("select article_id from articles order by article_id limit 2").fetchall()
    con.execute("update articles set body = body || ' A zeppelin over Vladivostok.', content_hash = 'changed' "
                "where article_id = ?", [changed[0]])
    con.execute("delete from articles where article_id = ?", [gone[0]])
    assert index_articles(con) == 1  # the changed one; the deleted one only leaves

    incremental = index_state(con)
    assert build_index(con) == 9
    rebuilt = index_state(con)
    assert incremental == rebuilt
    assert changed[0] in [aid for aid, _ in rebuilt["scores"]["zeppelin"]]
    assert gone[0] not in [name for name, _ in rebuilt["docs"]]


def test_a_new_warehouse_indexes_its_first_articles_incrementally(con):
    """The first load finds the index already there, empty, and adds its articles to it."""
    prepare_index(con)
    assert index_is_maintained(con)
    assert con.execute(f"select count(*) from {FTS_SCHEMA}.docs").fetchone()[0] == 0
    load_docs(con, sample_docs())
    assert con.execute(f"select count(*) from {FTS_SCHEMA}.docs").fetchone()[0] == 5
    incremental = index_state(con)
    build_index(con)
    assert incremental == index_state(con)


def test_articles_indexed_a_few_at_a_time_match_a_full_rebuild(con, tmp_path: Path):
    load_docs(con, sample_docs())
    load_docs(con, more_docs(tmp_path / "more"), run_id="second")
    con.execute("update articles set content_hash = content_hash || '-edited'")  # all ten to index again
    assert index_articles(con, chunk=3) == 10  # in four runs: 3, 3, 3, 1
    assert con.execute(f"select count(*), count(distinct docid) from {FTS_SCHEMA}.docs").fetchone() == (10, 10)
    chunked = index_state(con)
    build_index(con)
    assert chunked == index_state(con)


def test_nothing_to_do_changes_nothing(con):
    load_docs(con, sample_docs())
    before = index_state(con)
    assert index_articles(con) == 0
    assert index_state(con) == before


def test_an_index_without_hashes_is_rebuilt(con):
    load_docs(con, sample_docs())
    con.execute("pragma create_fts_index('articles', 'article_id', 'title', 'body', overwrite = 1)")
    assert index_articles(con) == 5
    assert con.execute(f"select count(content_hash) from {FTS_SCHEMA}.docs").fetchone()[0] == 5


# Every kind of whitespace, in runs and at the ends: the macro's '\s+' (RE2) splits on tab, newline,
# form feed, carriage return and space only; a vertical tab, a no-break space, U+0085 and U+2028 stay
# inside their word. Text files never carry most of these into a body (the reader splits lines on them),
# so they are written into the table directly.
WHITESPACE = ("  lead\ttab\t\tdouble  spaced\nnew\x0cfeed\rcarriage vertical\x0btab no\u00a0break "
              "next\x85line line\u2028sep trailing \t\n")


def test_every_whitespace_splits_words_as_a_full_rebuild_does(con):
    load_docs(con, sample_docs())
    con.execute("update articles set title = ?, body = body || ?, content_hash = 'changed' where article_id = "
                "(select min(article_id) from articles)", [WHITESPACE, WHITESPACE])
    assert index_articles(con) == 1
    incremental = index_state(con)
    build_index(con)
    assert incremental == index_state(con)
    postings = {t for _name, _field, t, _n in incremental["postings"]}
    assert {"tab", "doubl", "feed", "carriag"} <= postings  # split where RE2 splits
    assert "vertical\x0btab" in postings and "no\u00a0break" in postings  # and nowhere else


def test_words_beside_any_punctuation_mark_are_found(con):
    """Curly quotes and apostrophes, ellipses, guillemets and CJK punctuation stayed inside the words of
    the index: "Zanzibar’s", "“Lingang”" and "«Газпром»" were words that a search for zanzibar, lingang
    or газпром never matched. An index made that way is rebuilt by the next load."""
    load_docs(con, sample_docs())
    con.execute("pragma create_fts_index('articles', 'article_id', 'title', 'body', overwrite = 1)")
    con.execute("alter table fts_main_articles.docs add column content_hash varchar")  # else current
    first = con.execute("select min(article_id) from articles").fetchone()[0]
    con.execute("update articles set body = body || ?, content_hash = 'changed' where article_id = ?",
                ["\n\nZanzibar’s “Lingang” plan… «Газпром» 上海、北京", first])
    assert not index_is_maintained(con)
    index_articles(con)
    assert index_is_maintained(con)
    for query in ("zanzibar", "Lingang", "газпром", "北京"):
        assert [h.article_id for h in search(con, query)] == [first], query
