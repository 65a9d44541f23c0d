"""The raw store (tasks/archive.py): standard WARC/1.1 files, byte-exact read-back, crash safety,
rotation, migration 009 of warehouses that kept raw pages as BLOBs, and a fetched run archived."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator

from newsflow.settings import MIGRATIONS_DIR, archive_dir_for, work_db_path
from tasks import archive as A
from tasks import load as L
from tasks.models import Article, RawDocument, Rejected, sha256_hex
from tasks.reclean import stored_documents

REPO = Path(__file__).resolve().parent.parent


def local(i: int, body: bytes | None = None) -> RawDocument:
    raw = body if body is not None else f"document {i}\n".encode() * 50
    return RawDocument(f"file:///d/{i}.txt", "text", raw, sha256_hex(raw), len(raw))


def fetched(url: str, body: bytes) -> RawDocument:
    headers = {"content-type": "text/html; charset=utf-8", "content-encoding": "gzip", "etag": '"x1"'}
    return RawDocument(url, "html", body, sha256_hex(body), len(body), {"url": url, "http_status": 200},
                       **A.http_exchange(headers, {"User-Agent": "newsflow-test"}))


def article(d: RawDocument) -> Article:
    return Article(article_id=f"a-{d.source_uri}", document_id=d.document_id, source_uri=d.source_uri, url=None,
                   title="T", body="Body text.")


def refs(con) -> list[tuple]:
    return con.execute("select source_uri, archive_file, archive_offset, archive_length, archive_digest, raw_sha256 "
                       "from documents order by source_uri").fetchall()


def read_back(folder: Path, rows: list[tuple]) -> dict[str, bytes]:
    return {uri: A.read_payload(folder, A.ArchiveRef(f, o, n, dg)) for uri, f, o, n, dg, _ in rows}


def test_records_are_standard_warc_and_read_back_byte_for_byte(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    html = b"<html><body>" + "<p>Caf\u00e9 council vote.</p>".encode() * 300 + b"</body></html>"
    docs = [fetched("https://news.example/a?x=1", html), local(1), local(2, b"")]
    L.load_batch(con, "r1", "v", docs, [article(d) for d in docs[:2]], [])
    folder = archive_dir_for(tmp_path / "w.duckdb")
    rows = refs(con)
    assert read_back(folder, rows) == {d.source_uri: d.raw for d in docs}
    (name,) = {r[1] for r in rows}
    assert (name, (folder / name).stat().st_size) == con.execute("select name, bytes from archive_files").fetchone()
    with open(folder / name, "rb") as fh:  # what any WARC tool sees: valid records, digests that check
        records = [(r.rec_headers, r.rec_type, r.http_headers, r.content_stream().read(), r.digest_checker.passed)
                   for r in ArchiveIterator(fh, check_digests=True)]
    assert [t for _, t, *_ in records] == ["request", "response", "resource", "resource"]
    assert all(h.protocol == "WARC/1.1" and h.get_header("WARC-Record-ID") and h.get_header("WARC-Date")
               and h.get_header("WARC-Target-URI") for h, *_ in records)
    assert all(passed is not False for *_, passed in records)
    (req, _, req_http, _, _), (resp, _, resp_http, body, _) = records[:2]
    assert req.get_header("WARC-Concurrent-To") == resp.get_header("WARC-Record-ID")
    assert resp.get_header("WARC-Target-URI") == "https://news.example/a?x=1" and body == html
    assert (req_http.protocol, req_http.statusline) == ("GET", "/a?x=1 HTTP/1.1")
    assert req_http.get_header("User-Agent") == "newsflow-test" and req_http.get_header("Host") == "news.example"
    assert resp_http.get_header("etag") == '"x1"' and resp_http.get_header("Content-Encoding") is None
    assert resp_http.get_header("X-Crawler-content-encoding") == "gzip"  # the body is stored decoded
    assert resp.get_header("WARC-Payload-Digest") == dict((r[0], r[4]) for r in rows)["https://news.example/a?x=1"]
    # Each record is its own gzip member: the stored range alone decompresses to one whole record.
    _, f, offset, length, *_ = rows[0]
    with open(folder / f, "rb") as fh:
        fh.seek(offset)
        assert gzip.decompress(fh.read(length)).startswith(b"WARC/1.1\r\n")


def test_reruns_archive_nothing_twice_and_files_rotate(tmp_path: Path):
    con = L.connect(tmp_path / "w.duckdb")
    config = A.ArchiveConfig(tmp_path / "arch", max_file_bytes=1)  # every batch starts a new file
    docs = [local(i) for i in range(6)]
    for part in (docs[:2], docs[2:4], docs[:4], docs[4:]):
        L.load_batch(con, "r", "v", part, [article(d) for d in part], [], archive=config)
    files = sorted(p.name for p in (tmp_path / "arch").iterdir())
    assert len(files) == 3 and all(A._FILE_NAME.match(f) for f in files)
    rows = refs(con)
    assert len({r[1] for r in rows}) == 3 and read_back(tmp_path / "arch", rows) == {d.source_uri: d.raw for d in docs}
    assert sum((tmp_path / "arch" / f).stat().st_size for f in files) == sum(r[3] for r in rows)


def test_warehouses_sharing_an_archive_folder_keep_their_files_apart(tmp_path: Path):
    """NEWSFLOW_ARCHIVE_DIR is one setting for every warehouse it reaches. A warehouse starting its first
    file took another's first file for one a killed batch of its own had left, and deleted it: that
    warehouse's raw pages were gone and its next run failed ("archive file missing")."""
    shared = A.ArchiveConfig(tmp_path / "raw")
    a, b = L.connect(tmp_path / "a.duckdb"), L.connect(tmp_path / "b.duckdb")
    L.load_batch(a, "r1", "v", [local(1)], [article(local(1))], [], archive=shared)
    L.load_batch(b, "r1", "v", [local(2)], [article(local(2))], [], archive=shared)
    L.load_batch(a, "r2", "v", [local(3)], [article(local(3))], [], archive=shared)
    files = sorted(p.name for p in shared.folder.iterdir())
    assert len(files) == 2 and all(A._FILE_NAME.match(f) for f in files), files
    assert read_back(shared.folder, refs(a)) == {d.source_uri: d.raw for d in (local(1), local(3))}
    assert read_back(shared.folder, refs(b)) == {local(2).source_uri: local(2).raw}
    ids = {con.execute("select id from warehouse_identity").fetchone()[0] for con in (a, b)}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)


def test_copies_of_one_warehouse_sharing_an_archive_folder_keep_their_records(tmp_path: Path):
    """A copy has the warehouse's id: both appended to the same file, each cut back what the other had
    written past its own length, and one then read the other's page as its own."""
    import shutil

    shared = A.ArchiveConfig(tmp_path / "raw")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    a = L.connect(tmp_path / "a" / "w.duckdb")
    L.load_batch(a, "r1", "v", [local(1)], [article(local(1))], [], archive=shared)
    a.close()
    shutil.copy(tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb")
    a, b = L.connect(tmp_path / "a" / "w.duckdb"), L.connect(tmp_path / "b" / "w.duckdb")
    L.load_batch(a, "r2", "v", [local(2), local(3)], [article(local(2)), article(local(3))], [], archive=shared)
    L.load_batch(b, "r2", "v", [local(4)], [article(local(4))], [], archive=shared)
    L.load_batch(a, "r3", "v", [local(5)], [article(local(5))], [], archive=shared)
    assert read_back(shared.folder, refs(a)) == {d.source_uri: d.raw for d in map(local, (1, 2, 3, 5))}
    assert read_back(shared.folder, refs(b)) == {d.source_uri: d.raw for d in map(local, (1, 4))}
    # a record overwritten all the same is refused, never read as the page stored there
    ((_uri, file, offset, length, _digest, _sha),) = [r for r in refs(b) if r[0] == local(4).source_uri]
    with pytest.raises(A.ArchiveError, match="is not the one stored there"):
        A.read_payload(shared.folder, A.ArchiveRef(file, offset, length, "sha1:" + "A" * 32))
    a.close()
    b.close()


def test_a_failed_load_leaves_no_record_and_a_killed_one_is_cut_back(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    con = L.connect(db)
    L.load_batch(con, "r1", "v", [local(1)], [article(local(1))], [])
    (name, committed), = con.execute("select name, bytes from archive_files").fetchall()
    path = archive_dir_for(db) / name
    broken = Rejected(local(2).document_id, local(2).source_uri, None, ["x"])  # stage NOT NULL fails at the end
    with pytest.raises(duckdb.Error):
        L.load_batch(con, "r2", "v", [local(2)], [], [broken])
    assert path.stat().st_size > committed  # appended, never committed: the next append cuts it
    assert con.execute("select bytes from archive_files").fetchone()[0] == committed
    con.close()
    # A process SIGKILLed between the fsynced append and its commit leaves a tail no row refers to.
    code = ("import os, signal; from tasks import load as L, archive as A; from test_archive import local; "
            f"con = L.connect({str(db)!r}); A.append(con, L.archive_config_of(con), [A.pack_record(local(3))]); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert path.stat().st_size > committed + 100
    con = L.connect(db)
    L.load_batch(con, "r3", "v", [local(3)], [article(local(3))], [])  # cuts the tail, then appends
    rows = refs(con)
    assert read_back(archive_dir_for(db), rows) == {d.source_uri: d.raw for d in (local(1), local(3))}
    assert path.stat().st_size == con.execute("select bytes from archive_files").fetchone()[0] == sum(r[3] for r in rows)


def _old_warehouse(path: Path, docs: list[RawDocument], plain: bool = False) -> None:
    """A warehouse as newsflow wrote it before migration 009: raw pages zstd-compressed in documents.raw
    (the first, or all when `plain`, from before migration 005: plain bytes, no codec)."""
    import zstandard

    old = path.parent / "old_migrations"
    old.mkdir()
    for p in sorted(MIGRATIONS_DIR.glob("00[1-7]_*.sql")):
        shutil.copy(p, old)
    with duckdb.connect(str(path)) as con:
        L.migrate(con, folder=old)
        for i, d in enumerate(docs):
            raw, codec = (d.raw, None) if i == 0 or plain else (zstandard.ZstdCompressor().compress(d.raw), "zstd")
            con.execute("insert into documents (document_id, source_uri, media_type, raw, raw_codec, raw_sha256, "
                        "size_bytes, fields, run_id, received_at) values (?, ?, ?, ?, ?, ?, ?, ?, 'old', now())",
                        [d.document_id, d.source_uri, d.media_type, raw, codec, d.raw_sha256, d.size_bytes,
                         '{"url": "%s", "http_status": 200}' % d.source_uri if d.media_type == "html" else None])
            con.execute("insert into quarantine values (?, ?, 'validate', ['x'], 'old', now())",
                        [d.document_id, d.source_uri])



def test_reclean_reads_past_a_record_it_cannot_read_and_names_it(tmp_path: Path):
    """A record cut short or damaged, or one in a missing file, failed the whole reclean with an
    ArchiveError (warcio's own error for a damaged one, quoting its bytes): no other document was
    recleaned. Each such document is now listed with the file and its reason, and the others read."""
    con = L.connect(tmp_path / "w.duckdb")
    docs = [local(i) for i in range(5)]
    L.load_batch(con, "r1", "v", docs, [article(d) for d in docs], [])
    folder = archive_dir_for(tmp_path / "w.duckdb")
    rows = {uri: (f, offset, length) for uri, f, offset, length, *_ in refs(con)}
    name, offset, _ = rows["file:///d/1.txt"]
    data = bytearray((folder / name).read_bytes())
    data[offset + 30] ^= 0xFF  # inside the gzip member of document 1
    _, last, _ = rows["file:///d/4.txt"]
    (folder / name).write_bytes(bytes(data[:last + 20]))  # document 4's record cut short
    unreadable: list[tuple[str, str]] = []
    read = [d.source_uri for batch in stored_documents(con, unreadable=unreadable) for d in batch]
    assert sorted(read) == ["file:///d/0.txt", "file:///d/2.txt", "file:///d/3.txt"]
    reasons = dict(unreadable)
    assert reasons.keys() == {"file:///d/1.txt", "file:///d/4.txt"}
    assert reasons["file:///d/4.txt"] == (f"raw record unreadable, not recleaned: {folder / name}: record at "
                                          f"{last:,} is cut short; restore the file")
    assert reasons["file:///d/1.txt"].startswith(f"raw record unreadable, not recleaned: {folder / name}: "
                                                 f"record at {offset:,} cannot be read (")
    why = reasons["file:///d/1.txt"].split("cannot be read (", 1)[1]
    assert why.endswith("); restore the file") and len(why) < 130  # not warcio's kilobytes of damaged bytes
    with pytest.raises(A.ArchiveError, match="cannot be read"):  # a caller that lists nothing is told
        list(stored_documents(con))
    (folder / name).unlink()
    unreadable.clear()
    assert list(stored_documents(con, unreadable=unreadable)) == []
    # a file missing here may be in another folder (a lake writer's own raw store): the setting is named
    assert len(unreadable) == 5 and all("No such file or directory); check that NEWSFLOW_ARCHIVE_DIR names the folder "
                                        "the raw store was written to" in r for _, r in unreadable)


@pytest.mark.parametrize("where, why", [("taken", "a file is there"), ("taken/sub", "Not a directory")])
def test_a_raw_store_folder_that_cannot_be_made_names_the_setting(tmp_path: Path, where: str, why: str):
    """NEWSFLOW_ARCHIVE_DIR naming a file (or a path under one) failed the run with "FileExistsError:
    [Errno 17] File exists: '/etc/passwd'", which said neither that it was the raw store nor what to set."""
    (tmp_path / "taken").write_text("a file")
    con = L.connect(tmp_path / "w.duckdb")
    with pytest.raises(A.ArchiveError, match=f"cannot make the raw store's folder {tmp_path / where} \\({why}\\); "
                                             "set NEWSFLOW_ARCHIVE_DIR"):
        L.load_batch(con, "r1", "v", [local(1)], [article(local(1))], [], archive=A.ArchiveConfig(tmp_path / where))
    assert con.execute("select count(*) from documents").fetchone() == (0,)  # nothing loaded without its bytes

def test_a_raw_store_folder_that_cannot_be_written_says_so_and_is_not_retried(tmp_path: Path):
    """A raw store folder this user could not write failed the run with "PermissionError: [Errno 13]
    Permission denied" on a file that did not exist, after two retries of the batch's load."""
    import subprocess

    from prefect.states import Failed

    from tasks.pipeline import _retry_load

    folder = tmp_path / "store"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (an immutable folder, which even root cannot write) is not supported here")
    con = L.connect(tmp_path / "w.duckdb")
    try:
        with pytest.raises(A.ArchiveError, match=f"cannot write the raw store's file {folder}/newsflow-.*"
                                                 "let this user write .*, or move its files to a folder it can "
                                                 "write and set NEWSFLOW_ARCHIVE_DIR") as caught:
            L.load_batch(con, "r1", "v", [local(1)], [article(local(1))], [], archive=A.ArchiveConfig(folder))
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert con.execute("select count(*) from documents").fetchone() == (0,)
    assert not _retry_load(None, None, Failed(data=caught.value))
    assert _retry_load(None, None, Failed(data=RuntimeError("TransactionContext Error: conflict")))


def test_migration_009_moves_raw_pages_out_and_is_rerunnable(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    docs = [local(1), local(2), RawDocument("https://n.example/p", "html", b"<p>page</p>" * 40,
                                           sha256_hex(b"<p>page</p>" * 40), 440), local(4)]
    _old_warehouse(db, docs)
    with duckdb.connect(str(db)) as con:  # a move killed half way: 2 moved, the version not recorded
        con.execute((MIGRATIONS_DIR / "009_archive.sql").read_text())
        rows = con.execute("select * from documents where false").description
        assert "archive_file" in [c[0] for c in rows]
        A.move_raw_to_archive(con, A.ArchiveConfig(archive_dir_for(db)), batch_size=2)  # all, 2 per batch
        con.execute("update documents set raw = ?, archive_file = null where source_uri = 'file:///d/4.txt'",
                    [docs[3].raw])  # as if the last batch had not committed
    con = L.connect(db)  # 009 runs (again), then records itself
    assert 9 in {v for (v,) in con.execute("select version from schema_migrations").fetchall()}
    assert con.execute("select count(*) from documents where raw is not null or raw_codec is not null").fetchone() == (0,)
    stored = {d.source_uri: d.raw for batch in stored_documents(con) for d in batch}
    assert stored == {d.source_uri: d.raw for d in docs}
    with open(archive_dir_for(db) / refs(con)[0][1], "rb") as fh:
        kinds = {r.rec_headers.get_header("WARC-Target-URI"): r.rec_type for r in ArchiveIterator(fh)}
    assert kinds["https://n.example/p"] == "response" and kinds["file:///d/1.txt"] == "resource"
    assert L.migrate(con) == [] and A.move_raw_to_archive(con, A.ArchiveConfig(archive_dir_for(db))) == 0


def test_a_migrated_warehouse_file_keeps_no_raw_bytes(tmp_path: Path):
    """After 009 moved the raw pages out, the file is rewritten without the blocks that held them: it
    shrinks, no page's bytes are left in it (nor in the analyst copy made from it), comments survive."""
    import base64

    docs = []
    for i in range(10):  # ~600 KB each of text no codec shrinks much
        raw = b"<html><body><p>" + base64.b64encode(os.urandom(450_000)) + b"</p></body></html>"
        docs.append(RawDocument(f"https://n.example/{i}", "html", raw, sha256_hex(raw), len(raw)))
    db = tmp_path / "old.duckdb"
    _old_warehouse(db, docs, plain=True)
    marks = [d.raw[100_000:100_064] for d in docs]
    before = db.read_bytes()
    assert all(m in before for m in marks)
    L.connect(db).close()
    after = db.read_bytes()
    assert len(after) < len(before) / 2
    assert not any(m in after for m in marks)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select comment from duckdb_tables() where table_name = 'documents'").fetchone()[0]
        assert con.execute("select comment from duckdb_columns() where table_name = 'documents' "
                           "and column_name = 'archive_file'").fetchone()[0]
        assert {d.source_uri: d.raw for b in stored_documents(con) for d in b} == {d.source_uri: d.raw for d in docs}
    con = L.connect(db)  # nothing freed now: no second rewrite
    assert L.migrate(con) == []
    con.close()
    assert db.stat().st_size <= len(after) + (1 << 20)


@pytest.mark.slow
def test_a_fetched_run_archives_request_and_response_and_reclean_reads_them(tmp_path: Path, monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.ingest import ingest
    from flows.reclean import reclean
    from webserver import LocalServer

    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "true")
    db = tmp_path / "news.duckdb"
    with LocalServer() as server:
        urls = [server.url("/news/1.html"), server.url("/gzipped")]
        served = {u: server.site.pages[p].encode() for u, p in zip(urls, ("/news/1.html", "/news/2.html"))}
        first = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))(sources=urls, db=str(db))
    assert first["articles_new"] == 2
    with duckdb.connect(str(db), read_only=True) as con:  # the analyst copy: references, no raw bytes
        rows = refs(con)
        assert con.execute("select count(*) from documents where raw is not null").fetchone() == (0,)
    assert read_back(archive_dir_for(db), rows) == served  # byte for byte what the server sent (decoded)
    with open(archive_dir_for(db) / rows[0][1], "rb") as fh:
        pairs = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)]
    assert sorted(pairs) == sorted([("request", u) for u in urls] + [("response", u) for u in urls])
    size = sum(f.stat().st_size for f in archive_dir_for(db).iterdir())
    again = reclean(db=str(db))
    assert (again["documents_seen"], again["articles_unchanged"]) == (2, 2)
    assert sum(f.stat().st_size for f in archive_dir_for(db).iterdir()) == size  # nothing archived again
    with duckdb.connect(str(db), read_only=True) as con:
        assert refs(con) == rows


def test_a_raw_store_file_lost_for_good_is_recorded_and_runs_go_on(tmp_path: Path):
    """The raw store's current file lost with no backup (a disk died) made every later load fail
    "archive file missing ... restore it from a backup", with no way to go on without it."""
    analyst = tmp_path / "news.duckdb"
    db = work_db_path(analyst)
    con = L.connect(db)
    L.load_batch(con, "r1", "v", [local(1), local(2)], [article(local(1)), article(local(2))], [])
    ((name,),) = con.execute("select name from archive_files").fetchall()
    con.close()
    folder = archive_dir_for(db)
    whole = newsflow("raw-store-lost", name, "--db", str(analyst))
    assert whole.returncode == 2 and f"{folder / name} is there and whole" in whole.stderr, whole.stderr
    (folder / name).unlink()

    con = L.connect(db)
    with pytest.raises(A.ArchiveError, match=f"newsflow raw-store-lost {name}"):
        L.load_batch(con, "r2", "v", [local(3)], [article(local(3))], [])
    con.close()
    unknown = newsflow("raw-store-lost", "newsflow-x-00001.warc.gz", "--db", str(analyst))
    assert unknown.returncode == 2 and "is not a file of this warehouse's raw store" in unknown.stderr, unknown.stderr
    for _ in range(2):  # saying it again changes nothing
        lost = newsflow("raw-store-lost", name, "--db", str(analyst))
        assert lost.returncode == 0, lost.stderr
        assert f"{name} is recorded as lost: 2 documents had their raw page in it" in " ".join(lost.stdout.split())
    with duckdb.connect(str(analyst), read_only=True) as copy:  # what a nightly backup of the analyst file holds
        assert copy.execute("select lost_at is not null from archive_files where name = ?", [name]).fetchall() == [
            (True,)]

    con = L.connect(db)
    L.load_batch(con, "r2", "v", [local(3)], [article(local(3))], [])
    rows = [r for r in refs(con) if r[0] == local(3).source_uri]
    assert rows[0][1] != name and read_back(folder, rows) == {local(3).source_uri: local(3).raw}
    assert con.execute("select count(*) from articles").fetchone()[0] == 3

    # The originals ingested again refill the store: they were skipped as seen before, so their pages
    # were never stored again and reclean passed over them for good.
    assert local(1).document_id not in L.known_document_ids(con)
    assert local(3).document_id in L.known_document_ids(con)
    stored_again = L.load_batch(con, "r3", "v", [local(1), local(2)], [article(local(1)), article(local(2))], [])
    assert stored_again.quiet and stored_again.new == 0  # counted nowhere, yet published (runs.quiet_change)
    rows = refs(con)
    assert name not in {r[1] for r in rows} and read_back(folder, rows) == {d.source_uri: d.raw for d in
                                                                            (local(1), local(2), local(3))}
    assert {local(1).document_id, local(2).document_id} <= L.known_document_ids(con)
    assert con.execute("select count(*) from articles").fetchone()[0] == 3
    con.close()


def newsflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsflow.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})
