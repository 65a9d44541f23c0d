"""End to end through the real CLI, a real Prefect (ephemeral) run, real GX and a real DuckDB file."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from newsflow.settings import work_db_path

REPO = Path(__file__).resolve().parent.parent
NEWSFLOW = [sys.executable, "-m", "newsflow.cli"]

pytestmark = pytest.mark.slow


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([*NEWSFLOW, *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def mixed_inputs(tmp_path: Path, samples_dir: Path) -> Path:
    src = tmp_path / "in"
    shutil.copytree(samples_dir, src / "samples", ignore=shutil.ignore_patterns("LICENSE", "*.md"))
    bad = src / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (bad / "latin1.txt").write_bytes("Caf\xe9 owners protest new rules\nThe caf\xe9 owners met.".encode("latin-1"))
    (bad / "huge.txt").write_bytes(b"word " * 40_000)  # 200 KB, over the limit set below
    (bad / "short.txt").write_text("Headline Only Here\nToo short to be an article.")
    good_body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    (bad / "records.jsonl").write_text(
        json.dumps({"url": "https://news.example.org/bridge", "title": "Harbour bridge reopens",
                    "text": good_body, "published_at": "2023-09-05T10:00:00Z", "author": "A. Writer",
                    "topic": "local"}) + "\n"
        + "[\"not\", \"an\", \"object\"]\n"
        + "{broken json\n"
    )
    page = (REPO / "tests" / "data" / "edge_cases" / "html" / "e01_also_read.html").read_bytes()
    (bad / "page.html.gz").write_bytes(gzip.compress(page))
    (bad / "bomb.txt.gz").write_bytes(gzip.compress(b"word " * 40_000))  # over the limit once decompressed
    (bad / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # not a document type: passed over, said so
    _age(src)
    return src


def _age(folder: Path) -> None:
    """Give every file an old modification time, so runs record it and reruns skip the unchanged ones."""
    old = 1_600_000_000 * 10**9
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))


def test_ingest_loads_good_quarantines_bad_and_is_idempotent(mixed_inputs: Path, db_file: Path):
    env = {"NEWSFLOW_MAX_DOCUMENT_BYTES": "100000"}
    first = run_cli("ingest", str(mixed_inputs), "--db", str(db_file), "--batch-size", "4", env=env)
    assert "documents seen" in first.stdout
    assert "1 file(s) of other types passed over (.png 1)" in first.stdout

    articles = rows(db_file, "select source_uri, title, author, extra from articles order by source_uri")
    uris = [a[0] for a in articles]
    assert len(articles) == 7  # the five samples, the good JSON line and the compressed page
    assert sum(u.endswith(".txt") for u in uris) == 5
    record = next(a for a in articles if "records.jsonl#L1" in a[0])
    assert record[1] == "Harbour bridge reopens" and record[2] == "A. Writer"
    assert any(u.endswith("page.html.gz") for u in uris)
    assert json.loads(record[3]) == {"topic": "local"}  # unknown fields kept

    quarantine = dict(rows(db_file, "select regexp_extract(source_uri, '[^/]+$'), array_to_string(reasons, '; ') "
                                    "from quarantine"))
    assert quarantine["empty.txt"] == "empty file"
    assert "binary content" in quarantine["binary.txt"]
    assert "not valid UTF-8" in quarantine["latin1.txt"]
    assert "too large" in quarantine["huge.txt"]
    assert "too large once decompressed" in quarantine["bomb.txt.gz"]
    assert "body has" in quarantine["short.txt"]
    assert "not an object" in quarantine["records.jsonl#L2"]
    assert "not valid JSON" in quarantine["records.jsonl#L3"]
    assert len(quarantine) == 8

    segments = rows(db_file, "select rule, count(*) from removed_segments join articles using (article_id) "
                             "where source_uri like '%.txt' group by rule")
    assert dict(segments)["teaser"] == 4
    run = rows(db_file, "select status, documents_seen, articles_new, quarantined from runs")
    assert run == [("completed", 15, 7, 8)]

    before = {t: rows(db_file, f"select * from {t} order by all")
              for t in ("articles", "documents", "removed_segments", "quarantine")}
    # Readable .txt files get their time recorded (not the empty or too large ones, nor JSON lines)...
    assert rows(db_file, "select count(*) from documents where source_mtime_ns is not null") == [(8,)]
    second = run_cli("ingest", str(mixed_inputs), "--db", str(db_file), env=env)
    assert "unchanged" in second.stdout  # ...and the rerun counts them unchanged without reading them
    # The ones in quarantine too, which it said nothing of: "quarantined 0" read as "all loaded".
    assert "Of the unchanged, 8 document(s) are still in quarantine from an earlier run" in second.stdout
    for table, content in before.items():
        assert rows(db_file, f"select * from {table} order by all") == content, table
    # Nothing changed, so the analyst file was not copied again; the run is recorded in the working db.
    last = rows(work_db_path(db_file), "select documents_seen, articles_new, articles_unchanged, quarantined "
                                       "from runs order by started_at desc limit 1")
    assert last == [(15, 0, 15, 0)]
    assert rows(db_file, "select count(*) from runs") == [(1,)]


def test_changed_file_updates_its_article_in_place(tmp_path: Path, samples_dir: Path, db_file: Path):
    src = tmp_path / "one"
    src.mkdir()
    target = src / "story.txt"
    shutil.copy(samples_dir / "004_2fe4be489d5cafce.txt", target)
    _age(src)  # its time is recorded: the edit below must still be seen
    run_cli("ingest", str(src), "--db", str(db_file))
    (first_id, first_hash), = rows(db_file, "select article_id, content_hash from articles")
    target.write_text(target.read_text() + "\nThe talks ended on Thursday without a joint statement.\n")
    run_cli("ingest", str(src), "--db", str(db_file))
    (second_id, second_hash), = rows(db_file, "select article_id, content_hash from articles")
    assert second_id == first_id and second_hash != first_hash
    assert rows(db_file, "select count(*) from documents") == [(2,)]  # both raw versions kept
    assert rows(db_file, "select articles_updated from runs order by started_at desc limit 1") == [(1,)]


def test_a_file_edited_back_to_an_earlier_version_loads_that_version(tmp_path: Path, samples_dir: Path,
                                                                     db_file: Path):
    """v1 -> v2 -> v1 (a correction withdrawn, a banner taken down): the third run skipped the file as a
    document received before, and its article kept v2's text while the file said v1 again; also when
    the file came back with v1's own modification time (restored from a backup). A JSON record of the
    same story at another line is not an earlier version of it."""
    src = tmp_path / "one"
    src.mkdir()
    target = src / "story.txt"
    v1 = (samples_dir / "004_2fe4be489d5cafce.txt").read_text()
    v2 = v1 + "\nCorrection: the talks ended on Thursday without a joint statement.\n"
    for n, (text, mtime) in enumerate([(v1, 1_600_000_000), (v2, 1_600_000_100), (v1, 1_600_000_200),
                                       (v2, 1_600_000_300), (v1, 1_600_000_000)]):  # the last: v1's time
        target.write_text(text)
        os.utime(target, ns=(mtime * 10**9, mtime * 10**9))
        run_cli("ingest", str(src), "--db", str(db_file))
        (body,), = rows(db_file, "select body from articles")
        assert ("Correction:" in body) == (text == v2), n
    assert rows(db_file, "select count(*) from documents") == [(2,)]
    run_cli("ingest", str(src), "--db", str(db_file))  # nothing changed: nothing read again (not published)
    assert rows(work_db_path(db_file), "select articles_unchanged, articles_updated from runs "
                                       "order by started_at desc limit 1") == [(1, 0)]


def test_the_same_url_twice_in_one_batch_loads_its_later_version(tmp_path: Path, db_file: Path):
    """As from batches one after another: the first version is new, the later one updates it."""
    body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"url": "https://news.example.org/bridge", "title": title,
                                        "text": body + " " + extra}) + "\n"
                            for title, extra in (("Bridge reopens", "First report."),
                                                 ("Bridge reopens after repairs", "Updated with the mayor's words."))))
    proc = run_cli("ingest", str(feed), "--db", str(db_file))
    assert rows(db_file, "select title from articles") == [("Bridge reopens after repairs",)], proc.stdout
    assert rows(db_file, "select articles_new, articles_updated, quarantined from runs") == [(1, 1, 0)]
    assert rows(db_file, "select count(*) from documents") == [(2,)]  # both versions' raw records kept
    run_cli("ingest", str(feed), "--db", str(db_file))  # the first line is no earlier version of the second
    assert rows(work_db_path(db_file), "select title from articles") == [("Bridge reopens after repairs",)]
    assert rows(work_db_path(db_file), "select articles_unchanged, articles_updated from runs "
                                       "order by started_at desc limit 1") == [(2, 0)]


def test_a_json_lines_file_rotated_while_read_leaves_no_stale_quarantine_row(tmp_path: Path, db_file: Path):
    """A writer's last line, cut where the run read it, is quarantined; once the file is rotated
    (the cut line's record went to the rotated copy: fewer lines) that line no longer exists and its row
    goes, from the analyst copy too. A line that still cannot be read keeps its row."""
    body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    record = [json.dumps({"url": f"https://news.example.org/story/{i}", "title": f"Harbour story number {i}",
                          "text": f"{body} Report {i}."}) for i in range(4)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text(f"{record[0]}\n{{broken json\n{record[1]}\n{record[2][:40]}")
    run_cli("ingest", str(feed), "--db", str(db_file))
    assert sorted(u.rpartition("#")[2] for (u,) in rows(db_file, "select source_uri from quarantine")) == ["L2", "L4"]
    feed.write_text(f"{record[0]}\n{{broken json\n{record[1]}\n")  # the cut line went with the old copy
    run_cli("ingest", str(feed), "--db", str(db_file))
    assert rows(work_db_path(db_file), "select articles_new, articles_unchanged from runs "
                                       "order by started_at desc limit 1") == [(0, 3)]
    # in the analyst copy too: the run loaded nothing, yet took a row out
    assert [u.rpartition("#")[2] for (u,) in rows(db_file, "select source_uri from quarantine")] == ["L2"]
    assert rows(db_file, "select count(*) from articles") == [(2,)]


def test_a_record_corrected_upstream_in_its_byline_and_date_updates_its_article(tmp_path: Path, db_file: Path):
    """The same text with another author and day is an update: it was counted unchanged, so the run
    skipped the publish and analysts kept the old byline and day (the working file had the new)."""
    body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    feed = tmp_path / "feed.jsonl"

    def write(author: str, day: str) -> None:
        feed.write_text(json.dumps({"url": "https://news.example.org/bridge", "title": "Bridge reopens",
                                    "text": body, "author": author, "published_at": day}) + "\n")

    write("Ann Lee", "2026-11-21T09:00:00Z")
    run_cli("ingest", str(feed), "--db", str(db_file))
    ((first_update,),) = rows(db_file, "select updated_at from articles")
    write("Ann Lee and Carl Diaz", "2026-11-19T09:00:00Z")
    run_cli("ingest", str(feed), "--db", str(db_file))
    assert rows(db_file, "select articles_new, articles_updated, articles_unchanged from runs "
                         "order by started_at desc limit 1") == [(0, 1, 0)]
    ((author, day, updated),) = rows(db_file, "select author, published_at::date::varchar, updated_at from articles")
    assert (author, day) == ("Ann Lee and Carl Diaz", "2026-11-19") and updated > first_update
    run_cli("ingest", str(feed), "--db", str(db_file))  # the same again: unchanged
    assert rows(work_db_path(db_file), "select articles_updated, articles_unchanged from runs "
                                       "order by started_at desc limit 1") == [(0, 1)]


def test_a_json_lines_export_larger_than_the_limit_loads_line_by_line(tmp_path: Path, db_file: Path):
    """The size limit holds for each line: a compressed export far over it loads every record, the
    one line over it is quarantined by its number, and a rerun adds nothing."""
    body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    lines = [json.dumps({"url": f"https://news.example.org/story/{i}", "title": f"Harbour story number {i}",
                         "text": f"{body} Report {i}."}) for i in range(30)]
    lines.insert(10, json.dumps({"url": "https://news.example.org/long", "title": "Long", "text": body * 60}))
    feed = tmp_path / "export.jsonl.gz"
    feed.write_bytes(gzip.compress("\n".join(lines).encode()))
    env = {"NEWSFLOW_MAX_DOCUMENT_BYTES": "20000"}  # the export holds ~55 KB of records
    assert len("\n".join(lines)) > 2 * 20_000
    run_cli("ingest", str(feed), "--db", str(db_file), env=env)
    assert rows(db_file, "select count(*) from articles") == [(30,)]
    ((uri, reason),) = rows(db_file, "select source_uri, reasons[1] from quarantine")
    assert uri.endswith("export.jsonl.gz#L11") and reason.startswith("line 11 too large (")
    run_cli("ingest", str(feed), "--db", str(db_file), env=env)  # changes nothing: recorded in the work file
    assert rows(work_db_path(db_file), "select articles_new, articles_updated, articles_unchanged, quarantined "
                                       "from runs order by started_at") == [(30, 0, 0, 1), (0, 0, 31, 0)]


def test_a_json_array_export_larger_than_the_limit_loads_item_by_item(tmp_path: Path, db_file: Path):
    """A .json array over the size limit loads an item at a time: every record, the one item over the
    limit quarantined by its index, and a rerun adds nothing."""
    body = " ".join(["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6)
    items = [{"url": f"https://news.example.org/story/{i}", "title": f"Harbour story number {i}",
              "text": f"{body} Report {i}."} for i in range(30)]
    items.insert(10, {"url": "https://news.example.org/long", "title": "Long", "text": body * 60})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(items, indent=1))
    env = {"NEWSFLOW_MAX_DOCUMENT_BYTES": "20000"}
    assert export.stat().st_size > 2 * 20_000
    run_cli("ingest", str(export), "--db", str(db_file), env=env)
    assert rows(db_file, "select count(*) from articles") == [(30,)]
    ((uri, reason),) = rows(db_file, "select source_uri, reasons[1] from quarantine")
    assert uri.endswith("export.json#10") and reason.startswith("item 10 too large (")
    run_cli("ingest", str(export), "--db", str(db_file), env=env)
    assert rows(work_db_path(db_file), "select articles_new, articles_updated, articles_unchanged, quarantined "
                                       "from runs order by started_at") == [(30, 0, 0, 1), (0, 0, 31, 0)]


def test_an_analyst_copy_alone_seeds_the_run(tmp_path: Path, samples_dir: Path, db_file: Path):
    """A warehouse handed over as its analyst file only (copied to another machine, its work file
    deleted): the next run starts from its rows, and publishing keeps them."""
    run_cli("ingest", str(samples_dir), "--db", str(db_file))
    for leftover in db_file.parent.glob(work_db_path(db_file).name + "*"):
        leftover.unlink()
    one = tmp_path / "one"
    one.mkdir()
    (one / "story.txt").write_text("Harbour bridge reopens\n\n" + " ".join(
        ["Officials in the harbour town reopened the bridge after repairs lasting months."] * 6))
    run_cli("ingest", str(one), "--db", str(db_file))
    assert rows(db_file, "select count(*) from articles") == [(6,)]
    assert rows(db_file, "select count(*) from runs") == [(2,)]


def test_missing_source_is_a_clear_error(tmp_path: Path):
    proc = subprocess.run([*NEWSFLOW, "ingest", str(tmp_path / "nowhere")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "nowhere: no such file or folder" in proc.stderr


def _story(path: Path, title: str, date: str | None, paragraph: str, mtime_s: int) -> None:
    head = f'<meta property="article:published_time" content="{date}">' if date else ""
    path.write_text(f"<html><head><title>{title}</title>{head}</head><body><main><h1>{title}</h1>"
                    + "".join(f"<p>{paragraph} Part {i} of the page.</p>" for i in range(4)) + "</main></body></html>")
    os.utime(path, ns=(mtime_s * 10**9, mtime_s * 10**9))


def test_an_undated_page_under_another_title_does_not_replace_a_dated_article(tmp_path: Path, db_file: Path):
    """A consent wall served at a stored article's URL replaced it: title the site's name, body the
    consent text, date gone."""
    src = tmp_path / "in"
    src.mkdir()
    page = src / "story.html"
    story = "Residents packed the community hall on Thursday to hear how the riverside path will be repaired."
    _story(page, "Riverside path repairs to begin in June", "2025-05-14T07:30:00Z", story, 1_600_000_000)
    run_cli("ingest", str(src), "--db", str(db_file))
    consent = "We and our partners store and access information on a device, such as cookies, for advertising."
    _story(page, "The Riverside Courier", None, consent, 1_600_000_100)
    walled = run_cli("ingest", str(src), "--db", str(db_file))
    assert "not taken: this version of the page states no date and is titled 'The Riverside Courier'" in walled.stdout
    assert rows(db_file, "select title, published_at from articles") == [
        ("Riverside path repairs to begin in June", datetime(2025, 5, 14, 7, 30, tzinfo=timezone.utc))]
    _story(page, "Riverside path repairs to begin in July", "2025-05-20T08:00:00Z", story, 1_600_000_200)
    run_cli("ingest", str(src), "--db", str(db_file))  # the page's next real version replaces it
    assert rows(db_file, "select title from articles") == [("Riverside path repairs to begin in July",)]
    assert rows(db_file, "select count(*) from quarantine") == [(0,)]
