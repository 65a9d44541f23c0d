"""Migrations from an older file, COMMENTs on everything, the views, the example queries and search."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from newsflow.settings import MIGRATIONS_DIR, QUERIES_DIR
from tasks import load as L
from tasks.reclean import backfill_enrichment
from tasks.models import Article, RawDocument, Rejected, sha256_hex
from tasks.schema import README_END, README_START, apply_views, schema_markdown
from tasks.search import build_index, load_fts, search, snippet
from tasks.sql import statement
from warehouse_helpers import sample_articles, sample_docs, samples_warehouse


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("template")


@pytest.fixture
def warehouse(tmp_path: Path, template_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(samples_warehouse(tmp_path, template_dir)), read_only=True)
    load_fts(con)
    yield con
    con.close()


def test_upgrade_from_a_file_with_only_migration_001(tmp_path: Path):
    old = tmp_path / "old_migrations"
    old.mkdir()
    shutil.copy(MIGRATIONS_DIR / "001_core.sql", old)
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    L.migrate(con, folder=old)
    docs, arts, now = sample_docs(), sample_articles(), L.utcnow()
    for d in docs:  # raw pages stored in the file, as received (before migrations 005 and 009)
        con.execute("insert into documents values (?, ?, ?, ?, ?, ?, null, 'old-run', ?)",
                    [d.document_id, d.source_uri, d.media_type, d.raw, d.raw_sha256, d.size_bytes, now])
    con.register("a", L._articles_table(arts, "old-run", "1", now))
    con.register("s", L._segments_table(arts))
    con.execute("insert into articles select article_id, document_id, source_uri, url, title, body, "
                "try_cast(published_at as timestamptz), author, language, sitename, section, canonical_url, flags, "
                "extra::json, word_count, content_hash, cleaner_version, run_id, now, now from a")
    con.execute("insert into removed_segments select * from s")
    con.close()

    con = L.connect(path)  # the upgrade: every later migration, then the views
    versions = [v for (v,) in con.execute("select version from schema_migrations order by 1").fetchall()]
    assert versions == [v for v, _ in L.migrations()] and versions[0] == 1 and 3 in versions
    assert con.execute("select count(*) from articles").fetchone()[0] == 5
    assert con.execute("select count(*) from documents").fetchone()[0] == 5
    # Raw bytes stored before migration 005 (no codec) were moved to the archive by 009 and read back.
    from tasks.reclean import stored_documents
    assert {d.source_uri: d.raw for b in stored_documents(con) for d in b} == {d.source_uri: d.raw for d in docs}
    assert con.execute("select count(*) from removed_segments").fetchone()[0] == 20
    assert con.execute("select count(*) from v_articles where story_id is null").fetchone()[0] == 5
    assert backfill_enrichment(con) == 5  # older articles get stories, entities and citations
    assert con.execute("select count(distinct story_id) from v_articles").fetchone()[0] == 1
    assert con.execute("select count(*) from citations where outlet_key = 'reuters'").fetchone()[0] == 1
    assert backfill_enrichment(con) == 0


def test_every_table_view_and_column_has_a_comment(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    missing_tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' and database_name = current_database() "
        "and comment is null union all select view_name from duckdb_views() where schema_name = 'main' "
        "and database_name = current_database() and not internal and comment is null"
    ).fetchall()
    missing_columns = con.execute(
        "select table_name || '.' || column_name from duckdb_columns() where schema_name = 'main' "
        "and database_name = current_database() and not internal and comment is null").fetchall()
    assert missing_tables == [] and missing_columns == []
    doc = schema_markdown(con)
    for name in ("articles", "stories", "story_articles", "entities", "mentions", "citations", "v_articles",
                 "v_story_coverage", "v_entity_mentions", "v_daily_volume"):
        assert f"## `{name}`" in doc
    assert "| `merge_key` | VARCHAR | Normalized name" in doc


def test_views_are_idempotent(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    assert apply_views(con)[0] == "v_articles"
    apply_views(con)
    assert con.execute("select count(*) from v_story_coverage").fetchone()[0] == 0


def _outlets(tmp_path: Path, sources: list[tuple[str | None, str]]) -> list[str]:
    """v_articles.outlet of articles loaded from (url, source_uri) pairs without a site name, in order."""
    con = L.connect(tmp_path / "w.duckdb")
    docs = [RawDocument(uri, "text", f"{i}".encode(), sha256_hex(f"{i}".encode()), 1)
            for i, (_url, uri) in enumerate(sources)]
    L.load_batch(con, "r1", "v", docs, [Article(article_id=f"a{i}", document_id=d.document_id, source_uri=d.source_uri,
                                                url=url, title="T", body="Body text.")
                                        for i, (d, (url, _uri)) in enumerate(zip(docs, sources))], [])
    outlets = dict(con.execute("select article_id, outlet from v_articles").fetchall())
    con.close()
    return [outlets[f"a{i}"] for i in range(len(sources))]


def test_outlet_of_records_without_url_is_their_file_name(tmp_path: Path):
    sources = [(None, "file:///d/wire-feed.jsonl#L1"), (None, "file:///d/wire-feed.jsonl#L2"),
               (None, "file:///d/batch.json#0"), (None, "file:///d/plain.txt")]
    assert _outlets(tmp_path, sources) == ["wire-feed.jsonl", "wire-feed.jsonl", "batch.json", "plain.txt"]


HOSTS = [("https://user@userinfo.example/x", "userinfo.example"), ("https://[2001:db8::1]:8443/v6", "[2001:db8::1]"),
         ("https://example.net?id=1", "example.net"), ("https://frag.example#top", "frag.example"),
         ("https://Www.Mixed.example/a", "mixed.example"), ("HTTP://www.mixed.example:8080/b", "mixed.example"),
         ("https://u:p@Plain.example:443/c?d#e", "plain.example")]


def test_outlet_is_the_url_host_lower_case_without_userinfo_port_or_www(tmp_path: Path):
    sources = [(url, f"file:///d/f{i}.txt") for i, (url, _host) in enumerate(HOSTS)]
    assert _outlets(tmp_path, sources) == [host for _url, host in HOSTS]


def test_fetch_failures_name_hosts_as_outlets_do(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    docs = [RawDocument(url, "html", None, sha256_hex(url.encode()), 0) for url, _host in HOSTS]
    L.load_batch(con, "r1", "v", docs, [], [Rejected(d.document_id, d.source_uri, "fetch", ["HTTP 404"]) for d in docs])
    hosts = {h for (h, _reason, _n) in con.execute(statement("report_fetch_failures"), {"since": None}).fetchall()}
    assert hosts == {host for _url, host in HOSTS}


def test_outlet_file_names_are_decoded(tmp_path: Path):
    sources = [(None, "file:///d/my%20news.txt"), (None, "file:///d/Z%C3%BCrich%20Zeitung.txt#L3"),
               (None, "file:///d/a+b%25.txt"), (None, "file:///d/latin%FC.txt")]
    assert _outlets(tmp_path, sources) == ["my news.txt", "Zürich Zeitung.txt", "a+b%.txt", "latin%FC.txt"]


def test_published_at_without_a_zone_is_read_as_utc_as_its_comment_says(tmp_path: Path):
    from datetime import datetime, timezone

    from warehouse_helpers import load_docs

    body = "This is a sentence about the harbor council and its long budget debate in the city. " * 6
    records = [{"url": f"https://naive.example/{i}", "title": f"Naive time test article {i}", "text": body + str(i),
                "published_at": when} for i, when in enumerate(["2026-11-30T23:54:11", "2026-11-30"])]
    docs = [RawDocument(f"file:///d/n.jsonl#L{i + 1}", "record", raw, sha256_hex(raw), len(raw))
            for i, raw in enumerate(json.dumps(r, sort_keys=True).encode() for r in records)]
    con = L.connect(tmp_path / "w.duckdb")
    load_docs(con, docs)
    times = [t for (t,) in con.execute("select published_at from v_articles order by url").fetchall()]
    assert times == [datetime(2026, 11, 30, 23, 54, 11, tzinfo=timezone.utc), datetime(2026, 11, 30, tzinfo=timezone.utc)]
    comment = con.execute("select comment from duckdb_columns() where table_name = 'v_articles' "
                          "and column_name = 'published_at'").fetchone()[0]
    assert "00:00 UTC of the day when the source states a day but no time;" in comment
    assert "a time stated without a zone is read as UTC" in comment


def _query(con, name: str) -> list[tuple]:
    return con.execute((QUERIES_DIR / name).read_text(encoding="utf-8")).fetchall()


def test_example_question_shared_story_and_outlets(warehouse):
    rows = _query(warehouse, "01_samples_shared_story.sql")
    assert len(rows) == 1
    _story, _title, articles, outlet_count, outlets, _first, _last = rows[0]
    assert (articles, outlet_count, len(outlets)) == (5, 5, 5)


def test_a_story_is_labelled_with_its_first_article_s_title_as_it_reads_now(tmp_path: Path, template_dir: Path):
    """Its first article rewritten upstream (a new title), the story kept the old one as its label."""
    con = duckdb.connect(str(samples_warehouse(tmp_path, template_dir)))
    ((story, first),) = con.execute("select story_id, first_article_id from stories").fetchall()
    con.execute("update articles set title = 'Summit moves to Geneva' where article_id = ?", [first])
    assert con.execute("select story_title from v_story_coverage where story_id = ?", [story]).fetchall() == [
        ("Summit moves to Geneva",)]
    assert con.execute("select distinct story_title from v_articles where story_id = ?", [story]).fetchall() == [
        ("Summit moves to Geneva",)]
    con.close()


def test_example_question_all_kim_jong_un_mentions_under_one_entity(warehouse):
    rows = _query(warehouse, "02_kim_jong_un_mentions.sql")
    assert {r[0] for r in rows} == {rows[0][0]}  # one entity
    assert {"Kim Jong-un", "Kim Jong Un", "Kim"} <= {r[1] for r in rows}
    assert max(r[3] for r in rows) >= 3


def test_example_question_who_cites_reuters(warehouse):
    rows = _query(warehouse, "03_who_cites_reuters.sql")
    assert len(rows) == 1 and rows[0][0].startswith("Kim Jong-un Departs") and rows[0][3] is False
    assert "found via Reuters" in rows[0][4]


def test_example_question_artillery_shells(warehouse):
    rows = _query(warehouse, "04_search_artillery_shells.sql")
    assert rows and all(r[0] > 0 for r in rows)
    assert rows == sorted(rows, key=lambda r: -r[0])


@pytest.mark.parametrize("name", sorted(p.name for p in QUERIES_DIR.glob("*.sql")))
def test_every_example_query_runs(warehouse, name: str):
    assert _query(warehouse, name)


def test_search_ranks_bm25_and_snippets_show_the_words(warehouse):
    hits = search(warehouse, "armored train", limit=10)
    assert len(hits) >= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("armored train" in h.snippet for h in hits)
    assert search(warehouse, "zzqx nonexistentword") == []


def test_each_load_updates_the_index(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    assert build_index(con) == 0
    assert search(con, "Vladivostok") == []
    from warehouse_helpers import load_docs

    load_docs(con, sample_docs())
    assert len(search(con, "Vladivostok")) >= 4  # indexed in the batch's own transaction


def test_snippet_windows_the_first_match():
    body = "x " * 200 + "the artillery shells arrived " + "y " * 200
    assert re.search(r"artillery shells", snippet(body, "artillery shells"))
    assert snippet("short body", "nothing").startswith("short body")


def test_schema_command_writes_the_document_and_docs_are_current(tmp_path: Path):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "schema.md"
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "schema", "--markdown", "--db",
                           str(tmp_path / "absent.duckdb"), "-o", str(out)], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "## `v_story_coverage` (view)" in text and "| `outlet_key` |" in text
    stale = "stale: run `newsflow schema --db /nonexistent -o docs/schema.md --readme README.md`"
    assert (repo / "docs" / "schema.md").read_text(encoding="utf-8") == text, f"docs/schema.md is {stale}"
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert README_START in readme, "README.md has no generated schema section"
    section = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    assert "| `v_articles` | view |" in section
    for line in section.strip().splitlines():
        if line.startswith("| `"):
            assert line.split("`")[1] in text, f"README schema section is {stale}"
    assert section.count("| `") == text.count("\n## `"), f"README schema section is {stale}"



def test_schema_readme_without_the_section_is_left_as_it_is(tmp_path: Path):
    """--readme appended a schema section to any file without the markers: a typo's neighbour, a
    script, /etc/passwd (found by probing as root)."""
    repo = Path(__file__).resolve().parent.parent
    other = tmp_path / "notes.txt"
    other.write_text("user:x:1:1::/home/user:/bin/sh\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "schema", "--db", str(tmp_path / "absent.duckdb"),
                           "--readme", str(other), "-o", str(tmp_path / "schema.md")], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and f"{other}: no schema section: put the two lines" in proc.stderr
    assert other.read_text(encoding="utf-8") == "user:x:1:1::/home/user:/bin/sh\n"

def test_search_without_an_index_says_so(tmp_path: Path):
    from tasks.search import SearchUnavailable

    con = L.connect(tmp_path / "w.duckdb")
    with pytest.raises(SearchUnavailable, match="no search index"):
        search(con, "anything")


@pytest.mark.parametrize("query", ["", "   ", "!!!", "\"?\" ;"])
def test_search_for_no_word_says_what_to_give(query: str, tmp_path: Path):
    """It printed "no matches for '!!!'" and exited 0, as if the warehouse held nothing."""
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", query, "--db", str(tmp_path / "w.duckdb")],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "holds no word to search for" in proc.stderr and "newsflow search" in proc.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_search_for_only_numbers_or_stop_words_says_they_are_not_indexed(tmp_path: Path, template_dir: Path):
    """Digits and stop words are never indexed: "737" or "The Who" printed a bare "no matches"."""
    db = samples_warehouse(tmp_path, template_dir)

    def said(query: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", query, "--db", str(db)],
                              cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    for query in ("737", "The Who", "2024 and the"):
        out = said(query)
        assert out.startswith(f"no matches for {query!r}") and "not indexed" in out, out
    assert "not indexed" not in said("zzqx 737")  # a word the index could hold: nothing to explain


def test_search_prints_titles_and_snippets_as_they_are(tmp_path: Path):
    """Titles and bodies come from pages. Printed as rich markup, "[/bold]" in a title was a closing tag
    with none open (MarkupError: a traceback and no results) and "[link=...]" a terminal link."""
    from tasks.models import RawDocument, sha256_hex
    from warehouse_helpers import load_docs

    title = "Markets [/bold] rally [link=http://127.0.0.1:9/]here[/link]"
    page = (f"<html><head><title>{title}</title>"
            '<meta property="article:published_time" content="2024-03-10T02:30:00Z">'
            f"</head><body><article><h1>{title}</h1>"
            + "".join(f"<p>Stocks rose sharply on day {i} as investors weighed new data on inflation, said "
                      "analysts in London [/dim] [red]today[/red].</p>" for i in range(8))
            + "</article></body></html>").encode()
    db = tmp_path / "news.duckdb"
    con = L.connect(db)
    load_docs(con, [RawDocument("file:///d/markets.html", "html", page, sha256_hex(page), len(page))])
    build_index(con)
    con.close()
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", "stocks", "--db", str(db)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TZ": "America/New_York"})  # the day is UTC's on any machine
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"1. {title}" in proc.stdout and "London [/dim] [red]today[/red]." in proc.stdout, proc.stdout
    assert " · 2024-03-10 · " in proc.stdout, proc.stdout
    pasted = "unheard " * 5000  # a whole text pasted as the query was echoed whole
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", pasted, "--db", str(db)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("no matches for 'unheard unheard"), proc.stdout
    assert len(proc.stdout) < 300, len(proc.stdout)
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "search", "日経平均", "--db", str(db)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert "written without spaces, search for a whole phrase" in proc.stdout, proc.stdout  # not a bare "no"


def test_saving_fetch_state_says_when_a_failure_is_new_or_a_fetch_resolves_one(tmp_path: Path):
    """What decides whether a run whose counts show nothing still publishes the analyst copy."""
    from tasks.discover import FetchRecord
    from tasks.fetch_state import save_fetch_rows

    con = L.connect(tmp_path / "w.duckdb")
    url = "https://news.example/story"
    failed = FetchRecord(url, None, 503, None, None, None, "2026-12-06T10:00:00+00:00", "HTTP 503 after 4 attempts",
                         "transient", 1)
    assert save_fetch_rows(con, "s", [failed], [])  # a first failure
    assert not save_fetch_rows(con, "s", [failed], [])  # the same state again
    failed.failures = 2
    assert save_fetch_rows(con, "s", [failed], [])  # one more in a row
    con.execute("insert into quarantine (document_id, source_uri, stage, reasons, run_id, quarantined_at) "
                "values ('d', ?, 'fetch', ['HTTP 503'], 'r', now())", [url])
    read = FetchRecord(url, url, 200, None, None, "abc", "2026-12-06T11:00:00+00:00")
    assert save_fetch_rows(con, "s", [read], [])  # it reads now: its row leaves quarantine
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert not save_fetch_rows(con, "s", [read], [])
    con.close()
