"""Web archives as a source (tasks/warc.py): a CC-NEWS-like WARC written with warcio, read back."""

from __future__ import annotations

import gzip
import random
import re
import sys
import threading
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from tasks.sources import discover, read_all
from tasks.warc import WarcFilter, WarcReading, _stderr_kept, is_web_archive, read_warc
from warc_helpers import (Page, _page_response, news_pages, truncate, write_arc, write_cc_news_warc,
                          write_headerless_responses)
from webserver import page_html


def _with_truncated_page(path: Path, page: Page, cut: int = 300) -> None:
    """Append one more page's response record to `path`, then cut its end off."""
    with open(path, "ab") as fh:
        writer = WARCWriter(fh, gzip=str(path).endswith(".gz"), warc_version="1.1")
        writer.write_record(_page_response(writer, page))
    truncate(path, cut)


@pytest.fixture
def cc_news(tmp_path: Path) -> tuple[Path, list[Page]]:
    pages = news_pages(4)
    path = tmp_path / "CC-NEWS-20261130100000-00001.warc.gz"
    write_cc_news_warc(path, pages)
    _with_truncated_page(path, Page("https://news.example/story/cut", page_html(999).encode(), pages[0].date))
    return path, pages


def test_html_responses_become_documents_and_the_rest_is_counted(cc_news):
    path, pages = cc_news
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    good, bad = docs[:-1], docs[-1]
    assert [d.source_uri for d in good] == [p.url for p in pages]
    assert [d.raw for d in good] == [p.html for p in pages]  # gzip and chunked bodies decoded
    first = good[0]
    assert first.media_type == "html" and first.error is None
    assert first.fields["url"] == pages[0].url and first.fields["fetched_at"] == "2026-11-30T10:00:00+00:00"
    assert ("Content-Encoding", "gzip") in first.headers  # the HTTP headers as archived
    assert first.fields["warc_record_id"].startswith("<urn:uuid:")
    # The truncated last record: one quarantined document naming where, after everything before it.
    assert bad.raw is None and f"truncated at byte {path.stat().st_size:,}: the file ends inside the record" in bad.error
    assert "the 17 records before it were read" in bad.error and bad.source_uri.startswith(path.resolve().as_uri())
    assert dict(reading.counts) == {
        "records": 1 + 4 * 3 + 4 + 1, "documents": 4, "skipped: warcinfo record": 1, "skipped: request record": 4,
        "skipped: metadata record": 4, "skipped: revisit record": 1, "skipped: not HTML": 2,
        "skipped: HTTP status 404": 1, "corrupt files": 1}


def test_a_target_uri_holding_control_characters_is_skipped(tmp_path: Path):
    """A record whose WARC-Target-URI held a terminal's escape sequences (clear the screen, retitle the
    window) was loaded with it as its URL, and the run's summary printed it raw to the operator."""
    hostile = Page("https://w.example/\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED", page_html(1).encode(), "2026-11-01T00:00:00Z")
    path = tmp_path / "esc.warc.gz"
    write_cc_news_warc(path, [*news_pages(1), hostile])
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert [d.source_uri for d in docs] == ["https://news.example/story/0"]
    assert reading.counts["skipped: target URI holds control characters"] == 1


def test_uncompressed_warc_with_garbage_keeps_the_records_before_it(tmp_path: Path):
    path = tmp_path / "a.warc"
    write_cc_news_warc(path, news_pages(2), gz=False)
    with open(path, "ab") as fh:
        fh.write(b"this is not a WARC record\r\n\r\n" * 3)
    docs = list(read_warc(path, 5_000_000))
    assert [d.error is None for d in docs] == [True, True, False]
    assert "corrupt" in docs[-1].error


def test_filters_domains_dates_and_declared_language(tmp_path: Path):
    pages = [Page("https://news.example/a", page_html(1).encode(), "2026-11-01T00:00:00Z"),
             Page("https://sub.news.example/b", page_html(2).encode(), "2026-11-15T00:00:00Z"),
             Page("https://other.example/c", page_html(3).encode(), "2026-11-15T00:00:00Z"),
             Page("https://news.example/d", page_html(4).encode(), "2026-12-01T00:00:00Z"),
             Page("https://news.example/e", page_html(5).encode(), "2026-11-20T00:00:00Z", lang_header="de")]
    path = tmp_path / "f.warc.gz"
    write_cc_news_warc(path, pages)
    utc = timezone.utc
    reading = WarcReading(WarcFilter(("news.example",), "en", datetime(2026, 11, 10, tzinfo=utc),
                                     datetime(2026, 12, 1, tzinfo=utc)))
    docs = list(read_warc(path, 5_000_000, reading))
    assert [d.source_uri for d in docs] == ["https://sub.news.example/b"]
    assert reading.counts["skipped: domain not allowed by the source"] == 1  # other.example
    assert reading.counts["skipped: outside the source's date range"] == 2
    assert reading.counts["skipped: declared language is not the source's"] == 1


def test_arc_files_are_read_too(tmp_path: Path):
    path = tmp_path / "old.arc"
    html = page_html(7).encode()
    write_arc(path, "http://old.example/story", html)
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert [(d.source_uri, d.raw) for d in docs] == [("http://old.example/story", html)]
    assert reading.counts["documents"] == 1 and "corrupt files" not in reading.counts


def test_pages_over_the_size_limit_are_quarantined_not_read(tmp_path: Path):
    path = tmp_path / "big.warc.gz"
    write_cc_news_warc(path, news_pages(2))
    docs = list(read_warc(path, 1000))
    assert all(d.raw is None and "over the size limit (1,000 bytes)" in d.error for d in docs)


def test_a_response_the_crawler_marked_truncated_is_quarantined_not_read(tmp_path: Path):
    """WARC-Truncated (WARC 1.1): the crawler kept only part of the response (its length or time limit,
    a disconnect). That part read as the page would be half an article stored as the article."""
    pages = news_pages(3)
    path = tmp_path / "cut.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for i, page in enumerate(pages):
            record = _page_response(writer, page)
            if i == 1:
                record.rec_headers.add_header("WARC-Truncated", "length")
            writer.write_record(record)
    docs = list(read_warc(path, 5_000_000))
    assert [d.source_uri for d in docs] == [p.url for p in pages]
    assert [d.raw for d in docs] == [pages[0].html, None, pages[2].html]
    assert docs[1].error == "the crawler cut this response short (WARC-Truncated: length): not the whole page"
    assert docs[1].fields == {"url": pages[1].url}


def test_a_compressed_body_that_breaks_off_is_quarantined_not_read_as_the_page(tmp_path: Path):
    """warcio decodes a gzip body as far as it goes and returns that as the whole body: a stream the
    crawler stored cut short, or one broken two thirds in, was half a page stored as the article. A
    brotli body failed the whole file (warcio's decoder and brotli 1.2 disagree): the records after it
    were never read. A chunked body cut short was read as the page, and one sent "Chunked" kept its
    chunk sizes in the text. A gzip body of two members was read as its first half."""
    noise = random.Random(5)
    def page(i: int, encoding: str) -> Page:  # > 64 KB of text that compresses: the break is past one read
        html = "".join(f"<p>{noise.getrandbits(300):x} story {i}</p>" for _ in range(1500)).encode()
        return Page(f"https://news.example/story/{i}", html, "2026-11-30T10:00:00Z", encoding)
    kinds = ["gzip", "gzip-cut", "gzip+chunked", "gzip-flipped", "x-gzip", "gzip-label", "", "br", "br-cut",
             "br-garbage", "br", "chunked", "Chunked", "chunked-cut", "chunked-unended", "gzip-members"]
    pages = [page(i, kind) for i, kind in enumerate(kinds)]
    path = tmp_path / "bodies.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for p in pages:
            writer.write_record(_page_response(writer, p))
    docs = list(read_warc(path, 5_000_000))
    assert [d.source_uri for d in docs] == [p.url for p in pages]
    whole = [None if kind.endswith(("-cut", "-flipped", "-garbage", "-unended")) else p.html
             for p, kind in zip(pages, kinds)]
    assert [d.raw for d in docs] == whole
    assert docs[13].error == "the chunked body ends inside a chunk: the crawler stored it cut short, not the whole page"
    assert docs[14].error == ("the chunked body ends before its last chunk: the crawler stored it cut short, not "
                              "the whole page")
    assert re.fullmatch(r"the br body ends before its end marker after [\d,]+ bytes: the crawler stored it "
                        r"cut short, not the whole page", docs[8].error)
    assert re.match(r"the br body (breaks off|ends before its end marker) after [\d,]+ bytes", docs[9].error)
    assert re.fullmatch(r"the gzip body ends before its end marker after [\d,]+ bytes: the crawler stored it "
                        r"cut short, not the whole page", docs[1].error)
    assert re.fullmatch(r"the gzip body breaks off after [\d,]+ bytes \(corrupt gzip body: Error -3 while "
                        r"decompressing data: .+\): not the whole page", docs[3].error)
    assert docs[1].fields == {"url": pages[1].url}
    assert [d.raw for d in read_warc(path, 10_000)] == [None] * len(kinds)  # the size limit holds for every kind
    assert all("over the size limit" in d.error for d in read_warc(path, 10_000))


def test_folders_and_globs_find_web_archives(tmp_path: Path, cc_news):
    path, _ = cc_news
    (tmp_path / "sub").mkdir()
    write_cc_news_warc(tmp_path / "sub" / "b.warc", news_pages(1, host="b.example"))
    found = discover([tmp_path])
    assert sorted(p.name for p in found) == ["CC-NEWS-20261130100000-00001.warc.gz", "b.warc"]
    assert discover([str(tmp_path / "*.warc.gz")]) == [path.resolve()]
    assert all(is_web_archive(p) for p in found) and not is_web_archive("a.gz")
    reading = WarcReading()
    uris = [d.source_uri for d in read_all(found, warc=reading)]
    assert "https://b.example/story/0" in uris and reading.counts["corrupt files"] == 1
    assert reading.read_bytes == sum(p.stat().st_size for p in found)


@pytest.mark.slow
def test_ingest_a_warc_then_rerun_adds_nothing(tmp_path: Path, cc_news):
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.ingest import ingest

    path, pages = cc_news
    db = tmp_path / "news.duckdb"
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    first = run(sources=[str(path)], db=str(db))
    assert (first["articles_new"], first["quarantined"]) == (4, 1)
    assert first["warc"]["documents"] == 4 and first["warc"]["skipped: request record"] == 4
    again = run(sources=[str(path)], db=str(db))
    assert (again["articles_new"], again["articles_unchanged"], again["quarantined"]) == (0, 5, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(u for (u,) in con.execute("select url from articles").fetchall()) == sorted(p.url for p in pages)
        reasons = con.execute("select reasons from quarantine").fetchone()[0]
        assert "web archive truncated at byte" in reasons[0]
        assert con.execute("select count(*) from documents where archive_file is not null").fetchone()[0] == 4

    # The cut copy replaced by the whole file, as the row says to: its last page loads and the row goes
    # (it stayed, run after run: the row is `<archive>#offset=N`, which no loaded record is).
    cut = Page("https://news.example/story/cut", page_html(999).encode(), pages[0].date)
    write_cc_news_warc(path, [*pages, cut])
    whole = run(sources=[str(path)], db=str(db))
    assert (whole["articles_new"], whole["quarantined"]) == (1, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from quarantine").fetchone() == (0,)
        assert con.execute("select count(*) from articles").fetchone() == (5,)


def test_an_earlier_capture_read_again_does_not_replace_the_later_one(tmp_path: Path):
    """A file edited back to an earlier version loads that version again; a web archive's earlier
    capture of a page, read again beside the later one (the same backfill run twice), does not."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.ingest import ingest

    url = "https://news.example/tram"
    older, later = tmp_path / "2024.warc.gz", tmp_path / "2025.warc.gz"
    write_cc_news_warc(older, [Page(url, page_html(1).encode(), "2024-03-01T10:00:00Z")])
    write_cc_news_warc(later, [Page(url, page_html(2).encode(), "2025-03-01T10:00:00Z")])
    db = tmp_path / "news.duckdb"
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    run(sources=[str(older)], db=str(db))
    run(sources=[str(later)], db=str(db))
    again = run(sources=[str(older), str(later)], db=str(db))
    assert (again["articles_updated"], again["articles_unchanged"]) == (0, 2)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select title from articles").fetchall() == [("Tram network expansion, report number 2",)]


def test_an_earlier_capture_read_after_a_later_one_does_not_set_the_article_back(tmp_path: Path):
    """Archives read newest first (a backfill of older months after the recent ones), or one archive
    holding a page's later capture before its earlier one: the earlier capture replaced the article
    for good (a rerun of the later archive found its document known and skipped it). Its document is
    kept; the article stays on the later capture."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.ingest import ingest
    from newsflow.settings import work_db_path

    url = "https://news.example/tram"
    older, later = Page(url, page_html(1).encode(), "2024-03-01T10:00:00Z"), Page(url, page_html(2).encode(),
                                                                                  "2025-03-01T10:00:00Z")
    write_cc_news_warc(tmp_path / "2025.warc.gz", [later])
    write_cc_news_warc(tmp_path / "2024.warc.gz", [older])
    write_cc_news_warc(tmp_path / "both.warc.gz", [later, older])
    run = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    for name, sources in (("apart", ["2025.warc.gz", "2024.warc.gz"]), ("together", ["both.warc.gz"])):
        db = tmp_path / name / "news.duckdb"
        for source in sources:
            summary = run(sources=[str(tmp_path / source)], db=str(db))
        assert summary["articles_updated"] == 0, (name, summary)
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("select title from articles").fetchall() == [
                ("Tram network expansion, report number 2",)], name
        with duckdb.connect(str(work_db_path(db)), read_only=True) as con:  # both captures kept
            assert con.execute("select count(*) from documents").fetchone()[0] == 2, name


_LATIN1_TEXT = ("The café on the harbour reopened on Friday with crème brûlée, a naïve mural on its façade and a "
                "señor from Málaga at the piano, the owners said. ")


def _latin1_page(n: int) -> bytes:
    """A page in ISO-8859-1 that says so only in its HTTP header, as many older sites do: no <meta> charset."""
    paragraphs = "".join(f"<p>{_LATIN1_TEXT}(Part {i}.)</p>" for i in range(5))
    return (f"<html><head><title>Harbour café reopens, report {n}</title></head><body><article>"
            f"<h1>Harbour café reopens, report {n}</h1>{paragraphs}</article></body></html>").encode("latin-1")


@pytest.mark.slow
def test_a_page_is_read_in_the_charset_its_http_header_names_and_recleaned_so(tmp_path: Path):
    """Without the header's charset the page's encoding was guessed, as a Central European code page:
    "crčme brűlée". The raw store keeps the headers, so `reclean` reads the page the same way."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.ingest import ingest
    from flows.reclean import reclean
    from newsflow.settings import work_db_path

    pages = [Page(f"https://old.example/{n}", _latin1_page(n), "2026-11-30T10:00:00Z", charset="iso-8859-1")
             for n in range(2)]
    path = tmp_path / "old.warc.gz"
    write_cc_news_warc(path, pages)
    db = tmp_path / "news.duckdb"
    first = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))(sources=[str(path)], db=str(db))
    assert first["articles_new"] == 2

    def bodies(file: Path) -> list[str]:
        with duckdb.connect(str(file), read_only=True) as con:
            return [b for (b,) in con.execute("select body from articles order by url").fetchall()]

    assert all(_LATIN1_TEXT.strip() in body for body in bodies(db))
    with duckdb.connect(str(work_db_path(db))) as con:  # as if written by older rules
        con.execute("update articles set body = 'stale text', content_hash = 'old', cleaner_version = '0'")
    again = reclean(db=str(db))
    assert again["articles_updated"] == 2
    assert all(_LATIN1_TEXT.strip() in body for body in bodies(db))


def test_a_warc_source_in_newsflow_toml_carries_its_limits(tmp_path: Path):
    from newsflow.config import ConfigError, parse_config, plan_run
    from newsflow.settings import Settings

    raw = {"sources": [{"name": "cc", "kind": "warc", "location": "backfill/*.warc.gz",
                        "limits": {"allowed_domains": ["apnews.com"], "language": "en",
                                   "since": datetime(2026, 11, 1).date(), "until": "2026-11-08T12:00:00"}}]}
    cfg = parse_config(raw, tmp_path / "newsflow.toml")
    (tmp_path / "newsflow.toml").write_text(
        '[[sources]]\nname = "cc"\nkind = "warc"\nlocation = "backfill/*.warc.gz"\n'
        'limits = { allowed_domains = ["apnews.com"], since = 2026-11-01, until = 2026-11-08T12:00:00 }\n')
    plan = plan_run(Settings(config=tmp_path / "newsflow.toml"), source="cc")
    assert plan.paths == (str(tmp_path / "backfill/*.warc.gz"),) and plan.urls == ()
    assert plan.since == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert plan.until == datetime(2026, 11, 8, 12, tzinfo=timezone.utc) and plan.allowed_domains == ("apnews.com",)
    assert cfg.sources[0].kind == "warc"
    with pytest.raises(ConfigError, match="since must be before until"):
        parse_config({"sources": [{**raw["sources"][0], "limits": {"since": "2026-12-01", "until": "2026-11-01"}}]})


def _only_corrupt(path: Path) -> str:
    """The one quarantine reason reading `path` gives (after any documents), with its offset checked."""
    reading = WarcReading()
    bad = list(read_warc(path, 5_000_000, reading))[-1]
    assert reading.counts["corrupt files"] == 1 and bad.raw is None
    assert "offset=-" not in bad.source_uri and "byte -" not in bad.error
    return bad.error


def test_a_gzip_file_that_is_no_warc_is_named_at_byte_0(tmp_path: Path):
    path = tmp_path / "notwarc.warc.gz"
    path.write_bytes(gzip.compress(b"hello, this is not a web archive at all\n" * 200))
    error = _only_corrupt(path)
    assert "at byte 0 (ArchiveLoadFailed: Invalid WARC record, first line: hello, this is not" in error
    assert "nothing of the file was read" in error


def test_a_warc_gzipped_whole_is_named_by_record_and_says_how_to_fix_it(tmp_path: Path):
    plain = tmp_path / "plain.warc"
    write_cc_news_warc(plain, news_pages(2), gz=False)
    path = tmp_path / "whole.warc.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))  # `gzip file.warc`: one member, not one per record
    error = _only_corrupt(path)
    assert "in the record number 2 (" in error and "the record before it was read" in error
    assert "`warcio recompress FILE FIXED.warc.gz`" in error
    # warcio's long message is quoted to its first sentence, never cut inside a word
    assert "beyond single record.)" in error and "still valid a" not in error


def test_binary_garbage_is_quoted_short_and_printable(tmp_path: Path):
    path = tmp_path / "garbage.arc"
    path.write_bytes(random.Random(7).randbytes(3000))
    error = _only_corrupt(path)
    assert error.isprintable() and all(c.isascii() or c == "\u2026" for c in error)
    assert "Invalid ARC record, first line: \u2026 (binary data)" in error and len(error) < 300


def test_warcio_warnings_stay_off_the_terminal_and_are_counted(tmp_path: Path, capsys):
    path = tmp_path / "short.warc"
    write_cc_news_warc(path, news_pages(2), gz=False)
    data = path.read_bytes()
    length = re.compile(rb"Content-Length: (\d+)").search(data, data.index(b"WARC-Type: response"))
    # the first response declares 5 bytes fewer than it holds: warcio prints a warning with those bytes
    path.write_bytes(data[:length.start(1)] + b"%d" % (int(length.group(1)) - 5) + data[length.end(1):])
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert capsys.readouterr().err == ""
    assert reading.counts["records longer than their Content-Length"] == 1 and len(docs) == 2


def test_what_warcio_says_of_broken_gzip_data_goes_into_the_reason(tmp_path: Path, capsys):
    noise = random.Random(3)
    html = "".join(f"<p>{noise.getrandbits(400):x}</p>" for _ in range(800)).encode()  # > 16 KB gzipped
    path = tmp_path / "flipped.warc.gz"
    write_cc_news_warc(path, [Page("https://news.example/big", html, "2026-11-30T10:00:00Z")])
    start, length = _record_spans(path)["https://news.example/big"]
    data = bytearray(path.read_bytes())
    data[start + length * 2 // 3] ^= 0xFF  # a bit flip late in the page's gzip member
    path.write_bytes(bytes(data))
    error = _only_corrupt(path)
    assert f"in the record at byte {start:,}" in error and "warcio: Error -3 while decompressing data" in error
    assert capsys.readouterr().err == ""


def test_other_threads_write_to_stderr_while_an_archive_is_read(capsys):
    notes: deque[str] = deque()
    with _stderr_kept(notes):
        print("from warcio", file=sys.stderr)
        other = threading.Thread(target=lambda: print("from a progress display", file=sys.stderr))
        other.start()
        other.join()
    print("after", file=sys.stderr)
    assert capsys.readouterr().err == "from a progress display\nafter\n" and "".join(notes) == "from warcio\n"


def _record_spans(path: Path) -> dict[str, tuple[int, int]]:
    """Where each response record of a WARC file starts, and its length in the file."""
    with path.open("rb") as fh:
        records = ArchiveIterator(fh)
        return {r.rec_headers.get_header("WARC-Target-URI"): (records.get_record_offset(), records.get_record_length())
                for r in records if r.rec_type == "response"}


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_each_page_counts_for_the_archive_bytes_read_since_the_page_before(tmp_path: Path, gz: bool):
    """A run's progress is measured in the archive's bytes as stored: each page counts for its own
    record and those passed over before it (requests, metadata), not for its decompressed body."""
    pages = news_pages(4)
    path = tmp_path / ("cc.warc.gz" if gz else "cc.warc")
    write_cc_news_warc(path, pages, gz=gz)
    docs = list(read_warc(path, 5_000_000, WarcReading()))
    with path.open("rb") as fh:  # where each record starts, and whether it is a page's response
        records = ArchiveIterator(fh)
        urls = {p.url for p in pages}
        starts = [(records.get_record_offset(), r.rec_type == "response"
                   and r.rec_headers.get_header("WARC-Target-URI") in urls) for r in records]
    ends = [starts[i + 1][0] for i, (_, page) in enumerate(starts) if page]  # where the next record starts
    assert len(ends) == len(pages) == len(docs)
    assert [d.progress_bytes for d in docs] == [ends[0]] + [b - a for a, b in zip(ends, ends[1:])]


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
@pytest.mark.parametrize("where", ["headers", "a third in", "half way", "3 bytes before its end"])
def test_a_file_cut_inside_a_record_is_reported_truncated(tmp_path: Path, gz: bool, where: str):
    """`head -c N good.warc.gz > cut.warc.gz`: warcio stops quietly at a cut gzip member (or inside a
    record's headers); the records before the cut are read and the file is reported, where it ends."""
    pages = news_pages(3)
    path = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    write_cc_news_warc(path, pages, gz=gz)
    start, length = _record_spans(path)[pages[1].url]
    cut = start + {"headers": 12, "a third in": length // 3, "half way": length // 2,
                   "3 bytes before its end": length - 3}[where]
    path.write_bytes(path.read_bytes()[:cut])
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert [d.source_uri for d in docs[:-1]] == [pages[0].url]  # the complete records before the cut load
    before = 1 + 3  # warcinfo; the first page's response, request and metadata
    assert docs[-1].raw is None and docs[-1].source_uri.endswith(f"#offset={start}")
    assert docs[-1].error.startswith(f"web archive truncated at byte {cut:,}: the file ends inside the record at "
                                     f"byte {start:,}; the {before} records before it were read: re-download")
    assert reading.counts["corrupt files"] == 1 and reading.counts["documents"] == 1


def test_an_empty_gzip_member_at_the_end_is_no_damage(tmp_path: Path):
    """A .warc.gz whose writer ended it with an empty gzip member was reported corrupt ("repair or
    re-download") after every record in it had been read; bytes that are no gzip member still are."""
    pages = news_pages(2)
    path = tmp_path / "ends-empty.warc.gz"
    write_cc_news_warc(path, pages)
    whole = path.read_bytes()
    for tail, corrupt in ((gzip.compress(b""), 0), (gzip.compress(b"") * 2, 0), (b"\x1f\x8bjunk", 1)):
        path.write_bytes(whole + tail)
        reading = WarcReading()
        docs = list(read_warc(path, 5_000_000, reading))
        assert [d.source_uri for d in docs if d.raw] == [p.url for p in pages]
        assert reading.counts.get("corrupt files", 0) == corrupt, (tail, docs[-1].error)


def test_a_response_of_no_stated_type_is_read_when_it_is_clearly_html(tmp_path: Path):
    """A 200 response whose headers name no Content-Type was skipped as "not HTML" whatever it held."""
    import io

    from warcio.statusandheaders import StatusAndHeaders

    page = page_html(12).encode()
    path = tmp_path / "untyped.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for url, body in (("https://news.example/page", page), ("https://news.example/data", b'{"article": 1}')):
            http = StatusAndHeaders("200 OK", [("Server", "x")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=http))
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert [(d.source_uri, d.raw) for d in docs] == [("https://news.example/page", page)]
    assert reading.counts["skipped: not HTML"] == 1


def test_a_page_stored_without_http_headers_is_read_when_it_is_clearly_html(tmp_path: Path):
    page = page_html(11).encode()
    fragment = b"<article>\n<h1>Tram network expansion</h1>\n<p>article text</p></article>"
    path = tmp_path / "bodies.warc.gz"
    write_headerless_responses(path, [
        ("https://news.example/page", page, "text/html; charset=utf-8"),
        ("https://news.example/fragment", fragment, "application/http; msgtype=response"),  # HTML all the same
        ("https://news.example/data", b'{"article": 1}', "application/http; msgtype=response"),
        ("https://news.example/empty", b"", "text/html")])
    reading = WarcReading()
    docs = list(read_warc(path, 5_000_000, reading))
    assert [(d.source_uri, d.raw) for d in docs] == [("https://news.example/page", page),
                                                     ("https://news.example/fragment", fragment)]
    first = docs[0]
    assert first.error is None and first.headers is None and first.fields["content_type"] == "text/html"
    assert "http_status" not in first.fields and first.fields["fetched_at"] == "2026-11-30T10:00:00+00:00"
    assert dict(reading.counts) == {"records": 4, "documents": 2, "documents without HTTP headers (status unknown)": 2,
                                    "skipped: response without HTTP headers": 2}  # the JSON and the empty one
