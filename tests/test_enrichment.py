"""Entities, citations and stories: pure functions directly, and through a real DuckDB load."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from tasks import load as L
from tasks.citations import extract_citations, outlet_key
from tasks.entities import entity_key, extract_entities
from tasks.stories import assign_stories, write_assignments
from warehouse_helpers import WCXB, load_docs, sample_articles, sample_docs


@pytest.mark.parametrize("a, b", [
    ("Kim Jong-un", "Kim Jong Un"),
    ("Sergei Shoigu", "Sergey Shoigu"),
    ("Mikhail Gorbachev", "Mihail Gorbachev"),
    ("Volodymyr Zelensky", "Volodymyr Zelenskyy"),
    ("José Martí", "Jose Marti"),
])
def test_spelling_variants_share_a_key(a: str, b: str):
    assert entity_key(a) == entity_key(b)


@pytest.mark.parametrize("a, b", [("Kim Jong Un", "Kim Yo Jong"), ("North Korea", "South Korea")])
def test_different_names_keep_different_keys(a: str, b: str):
    assert entity_key(a) != entity_key(b)


def test_extract_entities_strips_titles_merges_short_forms_and_skips_grammar():
    text = ("Russian Defense Minister Sergei Shoigu met North Korean leader Kim Jong-un in Pyongyang. "
            "Interestingly, Shoigu praised the parade. Kim Jong Un thanked him. Kim smiled.")
    found = {m.key: m for m in extract_entities(text)}
    kim = found[entity_key("Kim Jong Un")]
    assert dict(kim.surface_forms) == {"Kim Jong-un": 1, "Kim Jong Un": 1, "Kim": 1}
    assert kim.kind == "person"
    assert dict(found[entity_key("Sergei Shoigu")].surface_forms) == {"Sergei Shoigu": 1, "Shoigu": 1}
    assert found[entity_key("Pyongyang")].kind == "place"
    assert "interestingly" not in found and "russian defense minister" not in found
    assert not any("korean" in k for k in found)  # nationality adjectives are not entities


def test_acronyms_and_outlet_names_are_organisations():
    found = {m.key: m.kind for m in extract_entities("State news agency KCNA and The New York Times said so.")}
    assert found["kcna"] == "org" and found[entity_key("New York Times")] == "org"


@pytest.mark.parametrize("text, outlet, pattern", [
    ("Information for this story was found via Reuters.", "Reuters", "found-via"),
    ("He will meet Putin, according to a report by The New York Times.", "New York Times", "according-to-report"),
    ("The agency, as cited by Yonhap news agency, said so.", "Yonhap", "cited-by"),
    ("The deal was first reported by Bloomberg on Monday.", "Bloomberg", "reported-by"),
    ("A senior official told Reuters the talks failed.", "Reuters", "told-outlet"),
    ("It is not sudden, as the New York Times earlier this month mentioned a dialogue.", "New York Times",
     "outlet-mentioned"),
])
def test_citation_patterns(text: str, outlet: str, pattern: str):
    found = extract_citations(text)
    assert [(c.outlet, c.pattern) for c in found][:1] == [(outlet, pattern)]
    assert found[0].sentence == text


def test_people_are_not_cited_outlets():
    assert extract_citations("According to Dmitry Peskov, the talks went well. Kim reported nothing new.") == []


def test_citations_in_removed_segments_are_kept_and_marked():
    found = extract_citations("Body without attribution.", ["Information for this story was found via Reuters."])
    assert [(c.outlet_key, c.in_body) for c in found] == [("reuters", False)]
    assert outlet_key("The New York Times") == "new york times"


def _story_db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return L.connect(tmp_path / "stories.duckdb")


def _features(article) -> set[str]:
    return {m.key for m in extract_entities(article.body)}


def test_the_five_samples_form_one_story_incrementally(tmp_path: Path):
    con = _story_db(tmp_path)
    arts = sample_articles()
    assert len(arts) == 5
    items = [(a.article_id, a.title, _features(a)) for a in arts]
    # Two runs: the last two articles are matched against what the first run stored, not reprocessed.
    write_assignments(con, assign_stories(con, items[:3]), L.utcnow())
    second = assign_stories(con, items[3:])
    assert all(a.matched_article_id in {i[0] for i in items[:3]} for a in second)
    write_assignments(con, second, L.utcnow())
    assert con.execute("select count(distinct story_id), count(*) from story_articles").fetchone() == (1, 5)
    assert con.execute("select count(*) from stories").fetchone()[0] == 1


def test_unrelated_article_starts_its_own_story(tmp_path: Path):
    con = _story_db(tmp_path)
    arts = sample_articles()
    write_assignments(con, assign_stories(con, [(a.article_id, a.title, _features(a)) for a in arts]), L.utcnow())
    other = ("Apple Inc. unveiled the iPhone in Cupertino. Tim Cook said Apple and Samsung Electronics compete "
             "in Seoul and San Francisco. Google, Microsoft and Amazon responded in Seattle. Satya Nadella "
             "spoke at Microsoft Build.")
    (assigned,) = assign_stories(con, [("unrelated", "Phones", _features(type("A", (), {"body": other})))])
    assert assigned.story_id == "unrelated" and assigned.matched_article_id is None


@pytest.mark.dataset
@pytest.mark.skipif(not WCXB.is_dir(), reason=f"WCXB dev articles not found at {WCXB}")
def test_wcxb_pages_do_not_join_the_samples_story(tmp_path: Path):
    con = _story_db(tmp_path)
    arts = sample_articles()
    write_assignments(con, assign_stories(con, [(a.article_id, a.title, _features(a)) for a in arts]), L.utcnow())
    pages = []
    for path in sorted((WCXB / "ground-truth").glob("*.json"))[:400]:
        text = json.loads(path.read_text(encoding="utf-8"))["ground_truth"].get("main_content") or ""
        pages.append((f"wcxb-{path.stem}", None, {m.key for m in extract_entities(text)}))
    assigned = assign_stories(con, pages)
    sample_ids = {a.article_id for a in arts}
    joined = [a.article_id for a in assigned if a.matched_article_id in sample_ids]
    assert joined == []


def test_load_batch_enriches_in_the_same_transaction(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    counts = load_docs(con, sample_docs())
    assert counts.new == 5
    one = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    assert one("select count(distinct story_id) from story_articles") == [(1,)]
    forms = {f for (f,) in one("select surface_form from mentions join entities using (entity_id) "
                               "where merge_key = 'kim jong un'")}
    assert {"Kim Jong-un", "Kim Jong Un"} <= forms
    assert one("select count(distinct article_id) from citations where outlet_key = 'reuters'") == [(1,)]
    # A rerun changes nothing and duplicates nothing.
    before = one("select (select count(*) from mentions), (select count(*) from citations), "
                 "(select count(*) from story_bands)")
    load_docs(con, sample_docs(), run_id="again")
    assert one("select (select count(*) from mentions), (select count(*) from citations), "
               "(select count(*) from story_bands)") == before


def test_an_updated_article_has_its_rows_replaced_and_new_ones_only_added(tmp_path: Path):
    """Deletes run only for updated articles (new ones have nothing to replace): an update still
    leaves exactly the rows a fresh load of the new version makes, and the other articles' rows stay."""
    from dataclasses import replace

    from tasks.models import sha256_hex

    docs = sample_docs()
    edited = docs[0].raw + (b"\nReuters reported that Angela Merkel and the Bundesbank met in Frankfurt on Monday, "
                            b"and said Olaf Scholz would attend, according to Reuters.\n")
    new_version = replace(docs[0], raw=edited, raw_sha256=sha256_hex(edited), size_bytes=len(edited), mtime_ns=None)
    per_article = {
        "mentions": "select article_id, entity_id, surface_form, count from mentions",
        "citations": "select article_id, outlet_key, pattern, sentence, in_body from citations",
        "removed_segments": "select article_id, position, text, rule from removed_segments",
        "story_bands": "select article_id, band, bucket from story_bands",
    }

    def rows(con, table: str) -> list[tuple]:
        return sorted(con.execute(per_article[table]).fetchall())

    updated = L.connect(tmp_path / "updated.duckdb")
    load_docs(updated, docs)
    before = {t: rows(updated, t) for t in per_article}
    assert load_docs(updated, [new_version], run_id="edit").updated == 1
    fresh = L.connect(tmp_path / "fresh.duckdb")
    load_docs(fresh, docs[1:])
    load_docs(fresh, [new_version], run_id="edit")
    for table in per_article:
        assert rows(updated, table) == rows(fresh, table), table
    assert rows(updated, "citations") != before["citations"]  # the edit cites Reuters: it did change


def test_a_story_s_label_follows_its_first_article_retitled_upstream(tmp_path: Path):
    """`stories.title` is documented as its first article's title; the first article retitled upstream,
    the views followed but the table kept the title it began with."""
    from dataclasses import replace

    from tasks.models import sha256_hex

    docs = sample_docs()
    retitled = b"Kim Jong Un Arrives in Russia by Armoured Train" + docs[0].raw[docs[0].raw.index(b"\n"):]
    new_version = replace(docs[0], raw=retitled, raw_sha256=sha256_hex(retitled), size_bytes=len(retitled),
                          mtime_ns=None)
    con = L.connect(tmp_path / "w.duckdb")
    load_docs(con, docs)
    ((first, title),) = con.execute("select first_article_id, title from stories").fetchall()
    assert title.startswith("Kim Jong-un Departs")
    assert load_docs(con, [new_version], run_id="edit").updated == 1
    assert con.execute("select first_article_id, title from stories").fetchall() == [
        (first, "Kim Jong Un Arrives in Russia by Armoured Train")]


def test_a_name_written_with_combining_accents_is_one_name():
    """Text in decomposed form (NFD: "Ha" + U+0300) cut the name at the accent: "Ha" for "Hà Nội"."""
    import unicodedata

    text = "Chính quyền thành phố Hà Nội cho biết dự án sẽ hoàn thành. Người dân Hà Nội hoan nghênh."
    assert [m.name for m in extract_entities(unicodedata.normalize("NFD", text))] == ["Hà Nội"]


def test_pronoun_contractions_are_not_entities():
    assert [m.key for m in extract_entities("I've seen it. Then I'm told I'd go with Maria Lopez.")] == [
        entity_key("Maria Lopez")]


def test_short_briefs_with_few_entities_match_their_copies_only(tmp_path: Path):
    from tasks.stories import story_features

    con = _story_db(tmp_path)
    brief = ("The city council voted on Tuesday to extend the night bus service for another year after "
             "riders complained that the last connection left too early for shift workers and students.")
    other = ("A heavy storm closed the coastal road on Monday evening and crews expect to clear the fallen "
             "trees and reopen both lanes before the morning commute if the wind drops overnight.")
    copies = [("orig", brief + " Officials said the cost is covered."),
              ("copy", brief + " Read more local news on our site."),
              ("storm", other)]
    items = [(aid, None, story_features({m.key for m in extract_entities(t)}, t)) for aid, t in copies]
    assert all(any(f.startswith("w:") for f in feats) for _, _, feats in items)
    write_assignments(con, assign_stories(con, items[:1]), L.utcnow())
    copy, storm = assign_stories(con, items[1:])
    assert (copy.story_id, storm.story_id) == ("orig", "storm")
    # An entity-rich article never shares features with a shingle-signed brief.
    rich = sample_articles()[0]
    assert not story_features({m.key for m in extract_entities(rich.body)}, rich.body) & items[0][2]


def test_german_articles_name_no_common_nouns_and_join_no_unrelated_story(tmp_path: Path):
    """German capitalises every noun: "Die Regierung", "Nach Angaben", "Prozent" became entities, and a
    rail strike and a hospital reform written in the same news wording shared a story."""
    from tasks.enrich import analyze

    strike = ("Am Dienstag hat die Gewerkschaft erneut zum Streik aufgerufen. Nach Angaben der Bahn fielen rund "
              "80 Prozent der Züge aus. Die Gespräche über Löhne sollen in der nächsten Woche weitergehen. Die "
              "Regierung forderte beide Seiten zu einer Einigung auf. Pendler mussten am Dienstag auf Busse "
              "umsteigen. Nach Angaben der Polizei blieb es an den Bahnhöfen ruhig. Die Kosten für die Wirtschaft "
              "liegen bei mehreren Millionen Euro pro Tag.")
    reform = ("Am Dienstag hat das Kabinett die Reform der Kliniken beschlossen. Nach Angaben des Ministeriums "
              "sollen rund 20 Prozent der Häuser umgebaut werden. Die Gespräche mit den Ländern sollen in der "
              "nächsten Woche weitergehen. Die Regierung rechnet mit Kosten von mehreren Millionen Euro. Patienten "
              "sollen am Ende von kürzeren Wartezeiten profitieren. Nach Angaben der Kassen steigen die Beiträge "
              "nicht. Die Opposition kritisierte die Pläne am Dienstag scharf.")
    a, b = analyze("Bahnstreik", strike, [], "de"), analyze("Krankenhausreform", reform, [], "de")
    assert a.entities == [] and b.entities == []
    con = _story_db(tmp_path)
    write_assignments(con, assign_stories(con, [("strike", None, a.story_features)]), L.utcnow())
    (other,) = assign_stories(con, [("reform", None, b.story_features)])
    assert other.story_id == "reform"
    assert analyze(None, strike + " Copied.", [], "de").story_features & a.story_features  # a copy still matches


def test_a_copy_that_writes_full_width_digits_is_still_a_copy():
    """Two copies of a Japanese wire story, one with full-width digits (１０) and one with ASCII (10),
    shared a tenth of their shingles and became two stories."""
    from tasks.stories import story_features

    text = ("１日午後４時１０分ごろ、石川県能登地方を震源とする地震があり、同県志賀町で震度７を観測した。"
            "気象庁によると、震源の深さは約１０キロ、地震の規模はマグニチュード７・６と推定される。"
            "気象庁は石川県能登に大津波警報を、新潟県や富山県などに津波警報を発表した。")
    half = text.translate({0xFF10 + d: ord("0") + d for d in range(10)})
    assert half != text
    assert story_features(set(), text) == story_features(set(), half)


def test_citation_keyword_prefilter_covers_every_pattern():
    """The per-pattern keywords are a speed-up only: each pattern's example still matches through it."""
    from tasks.citations import _KEYWORDS, PATTERNS, extract_citations

    assert set(_KEYWORDS) == {pid for pid, _rx, _ex in PATTERNS}
    for pattern_id, _regex, example in PATTERNS:
        assert pattern_id in {c.pattern for c in extract_citations(example)}, pattern_id


def test_citation_sentences_end_at_line_ends():
    """A line without a full stop is a sentence of its own: found, and never glued to the next line."""
    text = "Market report\nThe figures were obtained from Bloomberg\nPrices rose. Analysts were calm."
    found = extract_citations(text)
    assert [(c.outlet, c.sentence) for c in found] == [("Bloomberg", "The figures were obtained from Bloomberg")]


def test_a_tie_between_stored_candidates_goes_to_the_smaller_id_not_to_storage_order(tmp_path: Path):
    """Two stored articles in different stories, equally similar to a new one: the choice must not
    depend on the order DuckDB happens to return them in (here: the order they were stored)."""
    from tasks.stories import Assignment, signature

    con = _story_db(tmp_path)
    features = {f"person {i}" for i in range(8)}
    hv = signature(features).hashvalues
    for aid in ("z-stored", "m-stored", "a-stored"):  # stored last to first
        write_assignments(con, [Assignment(aid, aid, None, None, len(features), hv, aid)], L.utcnow())
    (assigned,) = assign_stories(con, [("new", "New", features)])
    assert (assigned.story_id, assigned.matched_article_id, assigned.similarity) == ("a-stored", "a-stored", 1.0)


def test_a_signature_is_datasketchs_minhash_of_the_features_in_any_order():
    """Signatures are stored and compared with later runs' ones: the permutations drawn once per
    process must give the values a plain MinHash with the story seed gives, whatever the order."""
    from datasketch import MinHash

    from newsflow.settings import STORY_NUM_PERM, STORY_SEED
    from tasks.stories import signature

    features = [f"w:word{i} and more" for i in range(50)]
    plain = MinHash(num_perm=STORY_NUM_PERM, seed=STORY_SEED)
    plain.update_batch([f.encode("utf-8") for f in features])
    assert list(signature(features).hashvalues) == list(plain.hashvalues)
    assert list(signature(features[::-1]).hashvalues) == list(plain.hashvalues)
    assert list(signature({"w:other words here"}).hashvalues) != list(plain.hashvalues)


def test_an_article_matching_an_updated_one_that_kept_its_story_gets_a_story_that_exists(tmp_path: Path):
    """A (updated to another event) keeps the story it had; D, new in the same batch and a copy of A's
    new text, matched A and took the story A would have started: a story id with no `stories` row
    (no title in v_articles, no story to count). D starts that story itself now."""
    from datetime import datetime, timezone

    from tasks.enrich import analyze, enrich_batch

    far_east = ("Kim Jong Un met Vladimir Putin in Vladivostok with Sergey Shoigu and Choe Son Hui. The Kremlin "
                "and the Korean Central News Agency said talks with Dmitry Peskov covered Ukraine. ") * 5
    paris = ("Emmanuel Macron hosted Olaf Scholz and Giorgia Meloni in Paris while Ursula von der Leyen and "
             "Charles Michel of the European Commission discussed Brussels budgets with Christine Lagarde. ") * 5
    now = datetime.now(timezone.utc)
    con = L.connect(tmp_path / "news.work.duckdb")
    enrich_batch(con, [("B", "b", analyze("b", far_east, [])), ("A", "a", analyze("a", far_east, []))], now,
                 stored=set())
    enrich_batch(con, [("A", "a2", analyze("a2", paris, [])), ("D", "d", analyze("d", paris, [])),
                       ("E", "e", analyze("e", paris, []))], now, stored={"A"})
    stories = dict(con.execute("select article_id, story_id from story_articles").fetchall())
    assert stories == {"B": "B", "A": "B", "D": "D", "E": "D"}
    assert con.execute("select count(*) from story_articles where story_id not in (select story_id from stories)"
                       ).fetchone()[0] == 0
