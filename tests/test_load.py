from pathlib import Path

import duckdb
import pytest

from tasks import load as L
from tasks.models import Article, RawDocument, Rejected, RemovedSegment, sha256_hex
from warehouse_helpers import quarantine_left_after_fixes


def doc(i: int) -> RawDocument:
    raw = f"document {i}".encode()
    return RawDocument(f"file:///d/{i}.txt", "text", raw, sha256_hex(raw), len(raw))


def article(d: RawDocument, body: str = "Body text.") -> Article:
    return Article(article_id=f"a-{d.source_uri}", document_id=d.document_id, source_uri=d.source_uri, url=None,
                   title="T", body=body, removed=[RemovedSegment(3, "Also Read: x", "teaser")])


def test_migrations_apply_once_and_record_versions(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    assert L.migrate(con) == []  # connect() already applied everything
    versions = [v for (v,) in con.execute("select version from schema_migrations order by 1").fetchall()]
    assert versions == [v for v, _ in L.migrations()]
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"runs", "documents", "articles", "removed_segments", "quarantine"} <= tables


def test_a_warehouse_quarantined_for_future_dates_before_retries_existed_gets_their_times(tmp_path: Path):
    """Migration 015 reads the time a row quarantined for a future date waits for from its reason, so an
    upgraded warehouse loads those documents too once their dates have come; other rows wait for nothing."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for version, path in L.migrations():
        if version < 15:
            (earlier / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    L.migrate(con, earlier)
    rows = [("a", ["failed expect_column_values_to_be_between(published_age_s): published_at "
                   "2026-12-06T05:17:16.132547+00:00 is in the future"]),
            ("b", ["failed expect_column_values_to_be_between(published_age_s): published_at "
                   "2026-12-07T00:00:00+00:00 is in the future"]),  # a day alone: begun at UTC+14
            ("c", ["failed expect_column_values_to_be_between(published_age_s): published_at "
                   "2026-12-07T00:00:00+00:00 is in the future", "failed x"]),
            ("d", ["failed expect_column_values_to_be_between(body_size): body has 3 characters"])]
    for doc_id, reasons in rows:
        con.execute("insert into quarantine values (?, 'file:///x', 'validate', ?, 'r', now())", [doc_id, reasons])
    L.migrate(con)
    con.execute("set TimeZone = 'UTC'")
    got = dict(con.execute("select document_id, strftime(retry_at, '%Y-%m-%dT%H:%M:%S') from quarantine").fetchall())
    assert got == {"a": "2026-12-06T04:17:16", "b": "2026-12-06T09:00:00", "c": None, "d": None}


def test_a_warehouse_a_newer_newsflow_migrated_is_refused_with_what_to_do(tmp_path: Path):
    """Older code writing a warehouse a newer one migrated failed part way ("table excluded has 6
    columns available but 7 columns specified") or did quietly less."""
    con = L.connect(tmp_path / "w.duckdb")
    con.execute("insert into schema_migrations values (999, '999_from_the_future.sql', now())")
    with pytest.raises(L.WarehouseTooNew, match=r"newer newsflow \(999_from_the_future.sql; this one knows "
                                                r"up to \d{3}\): update newsflow \(git pull, then make run\)"):
        L.migrate(con)


def test_load_batch_is_idempotent_and_counts(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    docs = [doc(1), doc(2), doc(3)]
    arts = [article(docs[0]), article(docs[1])]
    rej = [Rejected(docs[2].document_id, docs[2].source_uri, "validate", ["failed x"])]
    first = L.load_batch(con, "r1", "v", docs, arts, rej)
    assert (first.new, first.updated, first.unchanged, first.quarantined, first.segments_removed) == (2, 0, 0, 1, 2)
    assert first.quarantine_reasons == [(docs[2].source_uri, ["failed x"])]
    L.start_run(con, "r2", None, "test", "v")
    again = L.load_batch(con, "r2", "v", docs, arts, rej)  # as reclean: the same rejection again
    # the rejected again count as unchanged, still in quarantine: seen = new + updated + unchanged + quarantined
    assert (again.new, again.updated, again.unchanged, again.quarantined, again.segments_removed) == (0, 0, 3, 0, 0)
    assert again.still_quarantined == 1
    assert con.execute("select documents_seen, articles_unchanged, quarantined from runs where run_id = 'r2'"
                       ).fetchall() == [(3, 3, 0)]
    assert again.quarantine_reasons == []  # the summary lists what the count counts
    counts = [con.execute(f"select count(*) from {t}").fetchone()[0]
              for t in ("documents", "articles", "removed_segments", "quarantine")]
    assert counts == [3, 2, 2, 1]
    changed = L.load_batch(con, "r3", "v", docs[:1], [article(docs[0], body="New body.")], [])
    assert changed.updated == 1
    assert con.execute("select body, run_id from articles where article_id = ?",
                       [arts[0].article_id]).fetchone() == ("New body.", "r3")
    assert con.execute("select count(*) from removed_segments").fetchone()[0] == 2


def test_failed_batch_leaves_nothing_behind(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    d = doc(1)
    broken = Rejected(d.document_id, d.source_uri, None, ["x"])  # stage NOT NULL fails after the other inserts
    with pytest.raises(duckdb.Error):
        L.load_batch(con, "r1", "v", [d], [article(d)], [broken])
    for table in ("documents", "articles", "removed_segments", "quarantine"):
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0, table


def test_raw_documents_are_archived_and_read_back_exactly(tmp_path: Path):
    from tasks.archive import pack_record
    from tasks.reclean import stored_documents

    con = L.connect(tmp_path / "w.duckdb")
    html = ("<html><body>" + "<p>The council met on Tuesday to vote on the budget.</p>" * 400 + "</body></html>").encode()
    docs = [RawDocument("file:///d/page.html", "html", html, sha256_hex(html), len(html)), doc(2)]
    L.load_batch(con, "r1", "v", docs, [article(docs[0]), article(docs[1])], [])
    # A batch whose worker packed the records already appends them as they came.
    late = doc(3)
    L.load_batch(con, "r2", "v", [late], [article(late)], [], packed=[pack_record(late)])
    rows = dict(con.execute("select source_uri, (raw is null, archive_length) from documents").fetchall())
    assert rows["file:///d/page.html"][0] and rows["file:///d/page.html"][1] < len(html) / 10
    stored = {d.source_uri: d.raw for batch in stored_documents(con) for d in batch}
    assert stored == {"file:///d/page.html": html, "file:///d/2.txt": b"document 2", "file:///d/3.txt": b"document 3"}
    # Rows from before migration 009 that still hold their bytes (an unmigrated copy) read back too.
    from tasks.models import unpack_raw

    con.execute("update documents set raw = ?, raw_codec = null, archive_file = null where source_uri = "
                "'file:///d/2.txt'", [docs[1].raw])
    assert {d.source_uri: d.raw for batch in stored_documents(con) for d in batch} == stored
    assert unpack_raw(None, "zstd") is None
    with pytest.raises(ValueError, match="unknown raw_codec"):
        unpack_raw(b"x", "brotli")


def test_finish_run_records_validation_results_per_expectation(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    L.start_run(con, "r1", None, "test", "v1")
    L.finish_run(con, "r1", "completed", 3, L.BatchCounts(new=2, quarantined=1),
                 {"expect_column_values_to_not_be_null(body)": (3, 0),
                  "expect_column_value_lengths_to_be_between(body)": (2, 1)})
    assert con.execute("select status, articles_new from runs").fetchall() == [("completed", 2)]
    assert con.execute("select expectation, passed, failed from validation_results order by 1").fetchall() == [
        ("expect_column_value_lengths_to_be_between(body)", 2, 1),
        ("expect_column_values_to_not_be_null(body)", 3, 0)]


def test_extraction_and_its_confidence_are_stored_and_updated(tmp_path: Path):
    from tasks.clean import clean_document

    con = L.connect(tmp_path / "w.duckdb")
    page = (b"<html><head><title>A headline for the test</title></head><body><article><h1>A headline for the test</h1>"
            + b"<p>A paragraph of the story that is long enough to count as the text of an article.</p>" * 6
            + b"</article></body></html>")
    html_doc = RawDocument("file:///d/a.html", "html", page, sha256_hex(page), len(page))
    text_doc = doc(2)
    cleaned = [clean_document(html_doc), clean_document(text_doc)]
    assert all(isinstance(a, Article) for a in cleaned)
    L.load_batch(con, "r1", "v", [html_doc, text_doc], cleaned, [])
    rows = dict(con.execute("select source_uri, (extraction, extraction_confidence) from articles").fetchall())
    extraction, confidence = rows[html_doc.source_uri]
    assert extraction == "trafilatura" and 0.0 <= confidence <= 1.0
    assert rows[text_doc.source_uri] == ("text", 1.0)
    moved = cleaned[1]
    moved.extraction, moved.extraction_confidence = "record", 0.5
    L.load_batch(con, "r2", "v", [text_doc], [moved], [])
    assert con.execute("select extraction, extraction_confidence from articles where source_uri = ?",
                       [text_doc.source_uri]).fetchone() == ("record", 0.5)


def test_a_batch_without_articles_loads_into_a_warehouse_that_has_some(tmp_path: Path):
    """Every document of a batch quarantined: its (empty) articles table must still bind to the
    warehouse's columns, whatever DuckDB would guess for columns with no values."""
    con = L.connect(tmp_path / "w.duckdb")
    docs = [doc(1), doc(2)]
    L.load_batch(con, "r1", "v", docs, [article(d) for d in docs], [])
    empty = doc(3)
    counts = L.load_batch(con, "r2", "v", [empty], [], [Rejected(empty.document_id, empty.source_uri, "extract",
                                                                  ["empty file"])])
    assert (counts.new, counts.updated, counts.unchanged, counts.quarantined) == (0, 0, 0, 1)
    assert con.execute("select count(*) from articles").fetchone()[0] == 2


def test_a_source_that_loads_leaves_quarantine_and_others_stay(tmp_path: Path):
    """A fixed file, a page fetched again and a whole file read at last take their rows out of quarantine;
    a rejected record beside a loaded one in the same file, and other sources, keep theirs."""
    con = L.connect(tmp_path / "w.duckdb")
    assert quarantine_left_after_fixes(con, tmp_path / "archive") == {"file:///d/lines.jsonl#L2", "file:///d/other.txt"}


def test_a_document_cleaned_again_under_another_id_replaces_its_article_unless_rejected(tmp_path: Path):
    """Read back from the raw store (reclean), a document whose article now has another id moves it
    there: the old row goes, with its segments. One that is rejected now keeps its article."""
    from dataclasses import replace

    con = L.connect(tmp_path / "w.duckdb")
    first, second = doc(1), doc(2)
    L.load_batch(con, "r1", "v", [first, second], [article(first), article(second)], [])
    again = [replace(first, stored=True), replace(second, stored=True)]
    moved = replace(article(first), article_id="a-moved")
    counts = L.load_batch(con, "r2", "v", again, [moved],
                          [Rejected(second.document_id, second.source_uri, "validate", ["failed now"])])
    assert counts.new == 1
    assert sorted(con.execute("select article_id from articles").fetchall()) == [
        (f"a-{second.source_uri}",), ("a-moved",)]  # the rejected one kept its article
    assert con.execute("select distinct article_id from removed_segments order by 1").fetchall() == [
        (f"a-{second.source_uri}",), ("a-moved",)]


def test_a_retried_run_does_not_take_itself_for_a_dead_one(tmp_path: Path):
    """Prefect's Retry runs a flow run again under the same id, which is the warehouse's run id: the
    retry of a killed run found its own row still `running`, marked it interrupted and set its own
    flow run Crashed while it ran; a retried failed (cancelled) run showed `failed` while it ran."""
    import logging

    from newsflow.settings import Settings
    from tasks.pipeline import begin_run
    from tasks.warehouse import Warehouse

    warehouse = Warehouse.open(tmp_path / "news.duckdb", Settings())
    for run_id, status in (("killed-other", "running"), ("killed-retried", "running"), ("cancelled", "failed")):
        L.start_run(warehouse.con, run_id, None, "src", "v")
        warehouse.con.execute("update runs set status = ? where run_id = ?", [status, run_id])
    statuses = lambda: dict(warehouse.con.execute("select run_id, status from runs").fetchall())  # noqa: E731
    begin_run(warehouse, "killed-retried", None, "src", logging.getLogger("test"))
    assert statuses() == {"killed-other": "interrupted", "killed-retried": "running", "cancelled": "failed"}
    warehouse.con.execute("update runs set status = 'completed' where run_id = 'killed-retried'")
    begin_run(warehouse, "cancelled", None, "src", logging.getLogger("test"))
    assert statuses()["cancelled"] == "running"
    warehouse.close()


def test_the_fetch_state_a_run_reads(tmp_path: Path):
    """What a source's run remembers of each URL: its own validators, any source's failures and last
    request, and which of its failed items are due or waiting; an unknown URL has no state."""
    from tasks.discover import UrlState
    from tasks.fetch_state import load_fetch_state

    con = L.connect(tmp_path / "news.work.duckdb")
    con.execute("""insert into fetch_state (url, source, etag, last_modified, content_sha256, last_status, fetched_at,
                                            failures, next_attempt_at) values
        ('https://a.example/feed', 'wire', '"e1"', 'Sat, 05 Dec 2026 10:00:00 GMT', 'sha1', 200,
         '2026-12-05 10:00:00+00', null, null),
        ('https://a.example/due', 'wire', null, null, null, 503, '2026-12-05 11:00:00+00', 2,
         now() - interval 1 hour),
        ('https://a.example/later', 'wire', null, null, null, 503, '2026-12-05 12:00:00+00', 1,
         now() + interval 1 hour),
        ('https://b.example/feed', 'other', '"e2"', null, 'sha2', 200, '2026-12-05 13:00:00+00', null, null)""")
    con.execute("insert into seen_items values ('wire', 'https://a.example/1', now()), "
                "('other', 'https://b.example/1', now())")
    state = load_fetch_state(con, "wire")
    feed = state.urls.get("https://a.example/feed")
    assert (feed.etag, feed.last_modified, feed.content_sha256, feed.failures) == (
        '"e1"', "Sat, 05 Dec 2026 10:00:00 GMT", "sha1", 0)
    assert feed.fetched_at.isoformat() == "2026-12-05T10:00:00+00:00"
    other = state.urls.get("https://b.example/feed")  # another source's validators are not this one's
    assert other == UrlState(None, None, None, 0, other.fetched_at) and other.fetched_at.hour == 13
    assert state.urls.get("https://c.example/") is None and len(state.urls) == 4
    assert (state.due, state.waiting) == (["https://a.example/due"], {"https://a.example/later"})
    assert state.seen_items == {"https://a.example/1"}


def test_a_capture_older_than_the_fetched_page_leaves_the_article_on_the_fetched_one(tmp_path: Path):
    """A backfill from a web archive read after live fetching: its capture from 2024 replaced the page
    fetched today (and the next fetch, answered 304 or with the same bytes, never put it back)."""
    con = L.connect(tmp_path / "w.duckdb")
    url = "https://news.example/a"

    def page(body: bytes, **kw) -> RawDocument:
        return RawDocument(url, "html", body, sha256_hex(body), len(body), {"url": url, "http_status": 200}, **kw)

    fetched = page(b"<p>today</p>")
    L.load_batch(con, "r1", "v", [fetched], [article(fetched, body="Today's text.")], [])
    old = page(b"<p>2024</p>", captured=True)
    old.fields["fetched_at"] = "2024-03-01T10:00:00+00:00"
    counts = L.load_batch(con, "r2", "v", [old], [article(old, body="The 2024 text.")], [])
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    assert con.execute("select body, document_id from articles").fetchall() == [("Today's text.", fetched.document_id)]
    assert con.execute("select count(*) from documents").fetchone()[0] == 2  # the capture is kept
    newer = page(b"<p>tomorrow</p>", captured=True)
    newer.fields["fetched_at"] = "2099-01-01T00:00:00+00:00"
    assert L.load_batch(con, "r3", "v", [newer], [article(newer, body="Later text.")], []).updated == 1


def test_a_load_retried_after_a_failed_commit_stores_each_row_whole(tmp_path: Path):
    """A batch whose COMMIT failed (the disk full while writing the WAL) and whose load was tried
    again on the same connection, as the load task's retry does, committed one row per table holding
    every row's strings run together (ids of 2,432 characters, 76 URLs in one) in place of the rows."""
    import subprocess

    from newsflow.settings import Settings
    from tasks.warehouse import Warehouse

    def doc(i: int) -> RawDocument:
        raw = f"document {i}\n".encode() * 50
        return RawDocument(f"file:///d/{i}.txt", "text", raw, sha256_hex(raw), len(raw))

    def art(d: RawDocument) -> Article:
        return Article(article_id=f"a-{d.source_uri}", document_id=d.document_id, source_uri=d.source_uri,
                       url=None, title="T", body="Body text.")

    warehouse = Warehouse(tmp_path / "news.duckdb", Settings(db=tmp_path / "news.duckdb"))
    try:
        warehouse.load_batch("r1", "v", [doc(1)], [art(doc(1))], [])
        wal = Path(f"{warehouse.work}.wal")  # kept between commits: the checkpoint threshold is far
        if subprocess.run(["chattr", "+i", str(wal)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i (an immutable file, which even root cannot write) is not supported here")
        batch = [doc(i) for i in range(2, 6)]
        try:
            with pytest.raises(duckdb.TransactionException, match="Failed to commit"):
                warehouse.load_batch("r1", "v", batch, [art(d) for d in batch], [])
        finally:
            subprocess.run(["chattr", "-i", str(wal)], check=True)
        assert warehouse.load_batch("r1", "v", batch, [art(d) for d in batch], []).new == 4  # the retry
    finally:
        warehouse.close()
    with duckdb.connect(str(warehouse.work), read_only=True) as con:
        assert sorted(con.execute("select source_uri from documents").fetchall()) == [
            (f"file:///d/{i}.txt",) for i in range(1, 6)]
        assert sorted(con.execute("select article_id from articles").fetchall()) == [
            (f"a-file:///d/{i}.txt",) for i in range(1, 6)]


def _run_loading_one_article(warehouse, run_id: str) -> L.BatchCounts:
    """Start the run `run_id` on `warehouse` and load one document and its article; the batch's counts."""
    raw = b"one document\n" * 50
    doc = RawDocument("file:///d/1.txt", "text", raw, sha256_hex(raw), len(raw))
    warehouse.start_run(run_id, None, "src", "v")
    return warehouse.load_batch(run_id, "v", [doc], [Article(article_id="a1", document_id=doc.document_id,
                                                             source_uri=doc.source_uri, url=None, title="T",
                                                             body="Body text.")], [])


def test_a_run_whose_publish_fails_is_recorded_failed(tmp_path: Path):
    """The analyst file's disk full while publishing: the command said the run failed, but `runs`
    said completed (the status was written before the publish)."""
    from newsflow.settings import Settings
    from tasks.pipeline import publish_run
    from tasks.warehouse import Warehouse

    analyst = tmp_path / "news.duckdb"
    warehouse = Warehouse.open(analyst, Settings(db=analyst))
    try:
        warehouse.finish_run("r1", "completed", 1, _run_loading_one_article(warehouse, "r1"))
        analyst.mkdir()  # what the copy cannot replace
        (analyst / "keep").write_text("x")
        with pytest.raises(OSError):
            publish_run(warehouse, "r1")
    finally:
        warehouse.close()
    with duckdb.connect(str(warehouse.work), read_only=True) as con:
        assert con.execute("select status, articles_new from runs").fetchall() == [("failed", 1)]


def test_a_quiet_change_whose_publish_was_killed_is_published_by_the_next_run(tmp_path: Path):
    """A run that only took a stale row out of quarantine (no count shows it) completed, then died
    before copying the working file: the next run, changing nothing, must publish it. The flag lived in
    the dead process only, so analysts kept the row until some run loaded something."""
    from newsflow.settings import Settings
    from tasks.warehouse import Warehouse

    analyst = tmp_path / "news.duckdb"
    warehouse = Warehouse.open(analyst, Settings(db=analyst))
    try:
        assert warehouse.finish_run("r0", "completed", 1, _run_loading_one_article(warehouse, "r0"))
        warehouse.publish()
        warehouse.con.execute("insert into quarantine (document_id, source_uri, stage, reasons, run_id, "
                              "quarantined_at) values ('d9', 'file:///f.jsonl#L9', 'read', ['cut'], 'r0', now())")
        warehouse.start_run("r1", None, "src", "v")
        quiet = L.BatchCounts(quiet=warehouse.record_files_whole({"file:///f.jsonl": (2, set())}))
        assert warehouse.finish_run("r1", "completed", 0, quiet)  # ... and the process is killed here
        warehouse.start_run("r2", None, "src", "v")
        assert warehouse.finish_run("r2", "completed", 0, L.BatchCounts())
    finally:
        warehouse.close()


def test_stored_documents_read_on_after_the_writer_reopened_its_connection(tmp_path: Path):
    """reclean reads the stored documents batch by batch through the writer's connection; a load that
    failed closes it (for its retry), and the next batch's read failed "Connection already closed"."""
    from newsflow.settings import Settings
    from tasks.reclean import stored_documents
    from tasks.warehouse import Warehouse

    def doc(i: int) -> RawDocument:
        raw = f"stored document {i}\n".encode() * 30
        return RawDocument(f"file:///d/{i}.txt", "text", raw, sha256_hex(raw), len(raw))

    analyst = tmp_path / "news.duckdb"
    warehouse = Warehouse.open(analyst, Settings(db=analyst))
    try:
        docs = [doc(i) for i in range(3)]
        warehouse.load_batch("r1", "v", docs, [Article(article_id=f"a{i}", document_id=d.document_id,
                                                       source_uri=d.source_uri, url=None, title="T", body="Body.")
                                               for i, d in enumerate(docs)], [])
        batches = stored_documents(warehouse.con, batch_size=1, reconnect=lambda: warehouse.con)
        read = [d.source_uri for d in next(batches)]
        warehouse.close()  # as a failed load does
        read += [d.source_uri for batch in batches for d in batch]
        assert sorted(read) == [d.source_uri for d in docs]
    finally:
        warehouse.close()
