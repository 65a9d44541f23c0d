import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.sources import READABLE, SourceError, discover, read_path

REPO = Path(__file__).resolve().parent.parent


def test_discover_folder_recursive_glob_and_dedup(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / "a" / "b" / "two.html").write_text("<p>x</p>")
    (tmp_path / "a" / "b" / "skip.csv").write_text("x")
    found = discover([tmp_path / "a", str(tmp_path / "a" / "*.txt")])
    assert sorted(p.name for p in found) == ["one.txt", "two.html"]  # each once, csv skipped


def test_discover_lists_a_folder_as_sorted_rglob_would(tmp_path: Path):
    """The folder walk is a faster spelling of `sorted(rglob("*"))` + is_file + resolve: same files, same
    order, symlinked files within the folder followed, symlinked folders not entered, duplicates once.
    A symlink to a file outside the folder is listed as skipped: it pulled any file newsflow could read
    (`/etc/...`) into the warehouse for whoever could drop a link there."""
    import os

    from tasks.sources import file_kind

    root, outside = tmp_path / "root", tmp_path / "outside"
    for folder in ("a/b", "a-c", "A", "deep/er/still"):
        (root / folder).mkdir(parents=True)
    outside.mkdir()
    for name in ("a/x.txt", "a/x.html.gz", "a/x.csv.gz", "a-c/y.HTML", "a/b/z.json", "A/q.jsonl", "a.txt", "top.htm", ".hidden.txt", ".txt",
                 "noext", "a/b/.x.md", "Z.TXT", "a/b/c.txt", "deep/er/still/d.html"):
        (root / name).write_text("x")
    (outside / "o.txt").write_text("o")
    os.symlink(root / "a", root / "link_to_a")  # a folder link: not entered
    os.symlink(root / "a" / "x.txt", root / "b_link.txt")  # the same file again: listed once
    os.symlink(outside / "o.txt", root / "a" / "ext.txt")  # out of the folder: skipped
    os.symlink(root / "missing.txt", root / "broken.txt")  # dangling: not a file

    expected = list(dict.fromkeys(
        child.resolve() for child in sorted(root.rglob("*"))
        if child.is_file() and file_kind(child.name)[0] and child.resolve().is_relative_to(root)))
    assert len(expected) == 11
    skipped: list = []
    assert discover([root], skipped) == expected
    assert discover([os.path.relpath(root)]) == expected
    # A linked folder (a backfill linking another disk) was passed over unsaid: it is listed, saying how.
    assert (str(root / "link_to_a"), "a symlink to a folder is not followed; give it as a SOURCE of its own "
                                     "to read it") in skipped
    assert (str(root / "a" / "ext.txt"), f"a symlink to a file outside the folder ({outside / 'o.txt'}) is not "
                                         "followed; give it as a SOURCE of its own to read it") in skipped
    assert discover([root / "a" / "ext.txt"]) == [outside / "o.txt"]  # named as a SOURCE, it is read


def test_discover_missing_source_names_it(tmp_path: Path):
    with pytest.raises(SourceError, match="nope.txt: no such file"):
        discover([tmp_path / "nope.txt"])
    with pytest.raises(SourceError, match="matches no file"):
        discover([str(tmp_path / "*.jsonl")])
    for empty in ("", "  "):  # not the current folder
        with pytest.raises(SourceError, match="an empty SOURCE names nothing"):
            discover([empty])


def test_a_configured_glob_that_matches_nothing_yet_is_skipped_and_a_bracketed_name_is_a_path(tmp_path: Path):
    """A files source listing an empty drop folder's glob beside other locations failed whole (exit 2),
    none of its other files read; a file named `news[2026].txt` could not be given at all ("the pattern
    matches no file")."""
    dated = tmp_path / "news[2026].txt"
    dated.write_text("a text\n" * 20)
    assert discover([str(dated)]) == [dated.resolve()]
    skipped: list = []
    assert discover([str(dated), str(tmp_path / "inbox" / "*.jsonl")], skipped, unmatched_ok=True) == [dated.resolve()]
    assert skipped == [(str(tmp_path / "inbox" / "*.jsonl"), "the pattern matches no file (yet)")]
    with pytest.raises(SourceError, match="matches no file"):  # on the command line, a typo most likely
        discover([str(dated), str(tmp_path / "inbox" / "*.jsonl")])


def test_jsonl_records_good_and_bad_lines(tmp_path: Path):
    f = tmp_path / "feed.jsonl"
    f.write_text(
        json.dumps({"url": "https://e.com/a", "title": "T", "text": "body", "tags": ["x"]}) + "\n"
        "not json\n"
        "[1, 2]\n"
        "\n"
    )
    docs = list(read_path(f))
    assert len(docs) == 3
    assert docs[0].error is None and docs[0].media_type == "record"
    assert docs[0].source_uri.endswith("feed.jsonl#L1")
    assert "line 2 is not valid JSON" in docs[1].error
    assert "is a list, not an object" in docs[2].error


def test_jsonl_limit_holds_per_line_not_per_file(tmp_path: Path):
    """A JSON Lines file larger than the limit is read a line at a time; only a line over the limit is
    quarantined, and the lines after it are read with their own numbers."""
    import gzip

    from tasks.sources import RecordReading

    record = lambda i: json.dumps({"url": f"https://e.com/{i}", "title": "T", "text": "w " * 150})  # noqa: E731
    lines = [record(0), record(1), '{"text": "' + "x" * 5000 + '"}', "", record(3)]
    body = ("\r\n".join(lines) + "\n").encode()
    assert len(body) > 3 * 1000
    (tmp_path / "big.jsonl").write_bytes(body)
    (tmp_path / "big.jsonl.gz").write_bytes(gzip.compress(body))
    for name in ("big.jsonl", "big.jsonl.gz"):
        reading = RecordReading()
        docs = list(read_path(tmp_path / name, max_bytes=1000, records=reading))
        assert [d.source_uri.rsplit("#", 1)[1] for d in docs] == ["L1", "L2", "L3", "L5"]
        assert [d.error is None for d in docs] == [True, True, False, True]
        assert docs[2].raw is None
        assert docs[2].error == ("line 3 too large (5,012 bytes > limit 1,000); raise "
                                 "NEWSFLOW_MAX_DOCUMENT_BYTES to accept it")
        assert json.loads(docs[3].raw)["url"] == "https://e.com/3"
        assert (reading.documents, reading.read_bytes) == (4, (tmp_path / name).stat().st_size)
        assert reading.expected((tmp_path / name).stat().st_size) == 4


def _cut_inside_a_code_unit(packed: bytes, encoding: str) -> tuple[bytes, bytes]:
    """`packed` (gzip) cut short past two thirds, where what it still decompresses to ends inside a
    UTF-16/32 code unit; and those decompressed bytes."""
    import zlib

    unit = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
    for end in range(len(packed) * 2 // 3, len(packed)):
        left = zlib.decompressobj(wbits=31).decompress(packed[:end])
        if unit == 1 or len(left) % unit:
            return packed[:end], left
    raise AssertionError("no such cut")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_broken_gzip_stream_keeps_the_lines_before_it(tmp_path: Path, encoding: str):
    """Every line the cut file still holds whole loads (in UTF-16/32 too, read through a text decoder),
    then one quarantine row."""
    import gzip

    lines = [json.dumps({"url": f"https://e.com/{i}", "title": "T", "text": f"story {i} " * 2000}) for i in range(40)]
    packed = gzip.compress("\n".join(lines).encode(encoding))
    cut, left = _cut_inside_a_code_unit(packed, encoding)
    (tmp_path / "cut.jsonl.gz").write_bytes(cut)
    docs = list(read_path(tmp_path / "cut.jsonl.gz"))
    good, last = docs[:-1], docs[-1]
    assert len(good) == left.decode(encoding, "ignore").count("\n") > 10
    assert all(d.error is None for d in good)
    assert [json.loads(d.raw)["url"] for d in good] == [f"https://e.com/{i}" for i in range(len(good))]
    assert last.error.startswith(f"not a readable gzip file after line {len(good)}: Compressed file ended")
    assert last.source_uri.endswith(f"cut.jsonl.gz#L{len(good) + 1}")
    # A file with no record, or not gzip at all, is one document identified by its content, as a file
    # read whole is: a rerun finds it known.
    from tasks.models import sha256_hex

    (tmp_path / "blank.jsonl").write_text("\n  \n\n")
    (blank,) = read_path(tmp_path / "blank.jsonl")
    assert (blank.error, blank.raw_sha256, blank.size_bytes) == ("empty file", sha256_hex(b"\n  \n\n"), 5)
    (tmp_path / "plain.jsonl.gz").write_bytes(b'{"text": "not compressed"}\n')
    (plain,) = read_path(tmp_path / "plain.jsonl.gz")
    assert plain.error.startswith("not a readable gzip file: Not a gzipped file")
    assert plain.raw_sha256 == sha256_hex(b'{"text": "not compressed"}\n')


def _records(n: int) -> list[dict]:
    return [{"url": f"https://e.com/{i}", "title": f"T {i}", "text": f"story {i} " * 100, "score": i / 3}
            for i in range(n)]


@pytest.mark.parametrize("name", ["all.json", "all.json.gz"])
def test_a_json_array_over_the_limit_is_read_an_item_at_a_time(tmp_path: Path, name: str):
    """Over the limit, the items load one by one as the same documents the file read whole gives; the
    limit holds for each item, and the progress counts the file's bytes as stored."""
    import gzip

    data = json.dumps(_records(30)).encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    whole = list(read_path(tmp_path / name, max_bytes=10 * len(data)))
    items = list(read_path(tmp_path / name, max_bytes=2000))
    assert len(whole) == len(items) == 30 and not any(d.error for d in items)
    same = [(d.source_uri, d.document_id, d.raw) for d in whole]
    assert [(d.source_uri, d.document_id, d.raw) for d in items] == same
    assert sum(d.input_bytes for d in items) == (tmp_path / name).stat().st_size


def test_the_items_of_a_streamed_json_array_fail_one_by_one(tmp_path: Path):
    good = _records(4)
    items = [good[0], {"text": "x" * 3000}, [[["deep"]]], 7, {"text": "y", "n": 1e300}, *good[1:]]
    (tmp_path / "mixed.json").write_text(json.dumps(items).replace("1e+300", "1e999"))
    docs = list(read_path(tmp_path / "mixed.json", max_bytes=2000))
    assert [d.source_uri.rsplit("#", 1)[1] for d in docs] == [str(i) for i in range(8)]
    assert [d.error is None for d in docs] == [True, False, False, False, False, True, True, True]
    assert docs[1].error == ("item 1 too large (over the limit of 2,000 bytes); raise NEWSFLOW_MAX_DOCUMENT_BYTES "
                             "to accept it")
    assert docs[2].error == "JSON value is a list, not an object with url/title/text"
    assert docs[3].error == "JSON value is a int, not an object with url/title/text"
    assert docs[4].error == "item 4 number 1E+999 is out of range for a 64-bit float"


@pytest.mark.parametrize("name", ["bomb.json", "bomb.json.gz"])
def test_a_streamed_json_value_far_over_the_limit_stops_the_file_where_it_starts(tmp_path: Path, name: str):
    """One string far over the limit (a 1 GB one gzips to 1 MB) was built whole by the parser before the
    item was weighed, in time growing with the square of its length: a run held for hours. The parser
    is stopped inside it; the items before it load, and its row says why the rest of the file is not."""
    import gzip

    good = json.dumps(_records(1)[0])
    data = f'[{good}, {{"url": "https://e.com/x", "text": "{"A" * (3 << 20)}"}}, {good}]'.encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    docs = list(read_path(tmp_path / name, max_bytes=2000))
    assert [d.source_uri.rsplit("#", 1)[1] for d in docs] == ["0", "1"] and docs[0].error is None
    assert docs[1].error == ("item 1 holds one string or number over the limit of 2,000 bytes: neither it nor the "
                             "items after it are read; raise NEWSFLOW_MAX_DOCUMENT_BYTES to accept it")


def test_a_streamed_json_array_nested_deep_costs_no_memory(tmp_path: Path):
    """200,000 levels of nesting in one item are dropped as they are read: reading the file in a process
    capped at 1 GB of address space (an event parser that builds a path per value needs gigabytes)."""
    import subprocess
    import sys

    path = tmp_path / "deep.json"
    path.write_bytes(b"[" + b"[" * 200_000 + b"]" * 200_000 + b', {"text": "after"}]' + b" " * 5000)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "from pathlib import Path; from tasks.sources import read_path; "
            "print([d.error for d in read_path(Path(sys.argv[1]), max_bytes=2000)])")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['item 0 nested deeper than 100 levels', None]"


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_record_nested_too_deep_is_quarantined_and_the_others_read(tmp_path: Path, suffix: str):
    """A record whose extra field nested 500 deep was read, then crashed the cleaning process that
    pickled it back (exit code 1, a traceback on the terminal, and the next record lost with it); one
    nested past what json.loads reads cost a small .json file all its records."""
    good = {"url": "https://e.org/a", "title": "Ferry terminal", "text": "Words."}
    deep = {**good, "meta": json.loads("[" * 101 + "]" * 101)}
    kept = {**good, "meta": json.loads("[" * 99 + "]" * 99)}  # the record is level 1, its list level 2
    records = [good, deep, {**good, "meta": "[" * 5000 + "]" * 5000}, kept]
    texts = [json.dumps(r) for r in records]
    texts[2] = texts[2].replace('"' + "[" * 5000 + "]" * 5000 + '"', "[" * 5000 + "]" * 5000)  # as JSON, not a string
    path = tmp_path / f"export{suffix}"
    path.write_text("\n".join(texts) + "\n" if suffix == ".jsonl" else "[" + ", ".join(texts) + "]")
    docs = list(read_path(path))
    too_deep = "nested deeper than 100 levels"
    if suffix == ".jsonl":
        assert [d.error for d in docs] == [None, f"JSON record {too_deep}", f"JSON record {too_deep}", None]
    else:
        assert [d.error for d in docs] == [None, f"item 1 {too_deep}", f"item 2 {too_deep}", None]
    assert json.loads(docs[3].raw)["meta"] == kept["meta"]


def test_a_streamed_json_file_that_breaks_keeps_the_items_before_it(tmp_path: Path):
    from tasks.models import sha256_hex

    text = json.dumps(_records(6))
    (tmp_path / "cut.json").write_text(text[:-100])
    docs = list(read_path(tmp_path / "cut.json", max_bytes=2000))
    assert [d.error for d in docs[:5]] == [None] * 5 and len(docs) == 6
    assert docs[5].error.startswith("not valid JSON after item 4: parse error: premature EOF")
    assert docs[5].source_uri.endswith("cut.json#5")
    (tmp_path / "tail.json").write_text(text + " trailing")
    docs = list(read_path(tmp_path / "tail.json", max_bytes=2000))
    assert len(docs) == 7 and docs[6].error.startswith("not valid JSON after item 5: parse error: trailing garbage")
    (tmp_path / "bad.json").write_text("[{" + " " * 3000)  # nothing read: the file is the document
    (doc,) = read_path(tmp_path / "bad.json", max_bytes=2000)
    assert doc.error.startswith("not valid JSON: ") and doc.raw_sha256 == sha256_hex(("[{" + " " * 3000).encode())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_cut_json_gz_keeps_every_item_whose_bytes_are_left(tmp_path: Path, encoding: str):
    """An interrupted download of a compressed export: every item that decompresses whole loads (the
    count zlib itself recovers from the cut file), then one quarantine row."""
    import gzip

    packed = gzip.compress(json.dumps(_records(400)).encode(encoding))
    cut, left = _cut_inside_a_code_unit(packed, encoding)
    (tmp_path / "cut.json.gz").write_bytes(cut)
    left = left.decode(encoding, "ignore")
    whole = left.count('}, {"url"')  # items followed by the next one's start: complete
    docs = list(read_path(tmp_path / "cut.json.gz", max_bytes=2000))
    assert whole > 100 and [d.error is None for d in docs] == [True] * whole + [False]
    assert docs[-1].error.startswith(f"not a readable gzip file after item {whole - 1}: Compressed file ended")


def test_a_json_file_over_the_limit_that_is_not_an_array_stays_too_large(tmp_path: Path):
    from tasks.models import sha256_hex

    data = json.dumps({"text": "x" * 3000}).encode()
    (tmp_path / "one.json").write_bytes(data)
    (doc,) = read_path(tmp_path / "one.json", max_bytes=2000)
    assert (doc.error, doc.raw_sha256) == (f"file too large ({len(data):,} bytes > limit 2,000); raise "
                                           "NEWSFLOW_MAX_DOCUMENT_BYTES to accept it", sha256_hex(data))


def test_documents_count_for_the_bytes_of_their_file_as_stored(tmp_path: Path):
    """Progress is measured in the input's bytes as stored: a compressed page counts for its compressed
    size, the records of a file share its bytes (each line its own), not their decompressed sizes."""
    import gzip

    lines = [json.dumps({"url": f"https://e.com/{i}", "title": "T", "text": f"story {i} " * 400}) for i in range(30)]
    body = ("\n".join(lines) + "\n\n").encode()
    (tmp_path / "feed.jsonl").write_bytes(body)
    (tmp_path / "feed.jsonl.gz").write_bytes(gzip.compress(body))
    (tmp_path / "all.json").write_text(json.dumps([json.loads(line) for line in lines[:3]]))
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(b"<p>" + b"A story. " * 500 + b"</p>"))
    size = lambda name: (tmp_path / name).stat().st_size  # noqa: E731
    plain = list(read_path(tmp_path / "feed.jsonl"))
    assert [d.progress_bytes for d in plain] == [len(line) + 1 for line in lines]  # the blank line is the next's
    packed = list(read_path(tmp_path / "feed.jsonl.gz"))
    assert len(packed) == 30 and sum(d.progress_bytes for d in packed) == size("feed.jsonl.gz")
    assert sum(d.size_bytes for d in packed) > 10 * size("feed.jsonl.gz")
    array = list(read_path(tmp_path / "all.json", max_bytes=50_000))
    assert len(array) == 3 and sum(d.progress_bytes for d in array) == size("all.json")
    (page,) = read_path(tmp_path / "page.html.gz")
    assert (page.progress_bytes, page.size_bytes) == (size("page.html.gz"), 4507)


def test_json_array_gives_one_document_per_item(tmp_path: Path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps([{"text": "a"}, {"text": "b"}]))
    docs = list(read_path(f))
    assert [d.source_uri.rsplit("#", 1)[1] for d in docs] == ["0", "1"]
    assert docs[0].document_id != docs[1].document_id


def test_empty_too_large_and_unsupported(tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "big.txt").write_bytes(b"x" * 2000)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    assert next(read_path(tmp_path / "empty.txt")).error == "empty file"
    for blank in (b" \n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"):  # blank, and a UTF-8 mark alone
        (tmp_path / "blank.txt").write_bytes(blank)
        assert next(read_path(tmp_path / "blank.txt")).error == "empty file"
    big = next(read_path(tmp_path / "big.txt", max_bytes=1000))
    assert big.raw is None and "too large (2,000 bytes > limit 1,000)" in big.error
    assert "unsupported file type '.pdf'" in next(read_path(tmp_path / "x.pdf")).error


def test_document_id_is_stable_and_content_sensitive(tmp_path: Path):
    f = tmp_path / "a.txt"
    f.write_text("hello")
    first = next(read_path(f)).document_id
    assert next(read_path(f)).document_id == first
    f.write_text("hello again")
    assert next(read_path(f)).document_id != first


def test_stored_files_are_skipped_unread_and_fresh_ones_carry_no_time(tmp_path: Path):
    import os
    import time

    from tasks.sources import SETTLED_NS, StoredFile

    old = tmp_path / "old.txt"
    old.write_text("Title line\n\nA settled story body.", encoding="utf-8")
    settled = time.time_ns() - 10 * SETTLED_NS
    os.utime(old, ns=(settled, settled))
    (doc,) = read_path(old)
    assert doc.mtime_ns == settled  # old enough to be trusted next time
    uri, size = old.resolve().as_uri(), old.stat().st_size
    assert list(read_path(old, stored={(uri, size, settled)})) == [StoredFile(uri, size)]
    # The same file touched (another time) or resized is read and hashed again.
    os.utime(old, ns=(settled + 1, settled + 1))
    (again,) = read_path(old, stored={(uri, size, settled)})
    assert again.raw_sha256 == doc.raw_sha256 and again.mtime_ns == settled + 1
    # A file written just now records no time: a same-size rewrite in the same clock tick would be missed.
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("Title line\n\nA brand new story body.", encoding="utf-8")
    (new,) = read_path(fresh)
    assert new.mtime_ns is None
    # JSON files are always read (one file holds many documents).
    records = tmp_path / "r.jsonl"
    records.write_text('{"url": "https://e.x/1", "title": "A title here", "text": "Body."}\n', encoding="utf-8")
    os.utime(records, ns=(settled, settled))
    stored = {(records.resolve().as_uri(), records.stat().st_size, settled)}
    assert [d.mtime_ns for d in read_path(records, stored=stored)] == [None]


def test_gzip_compressed_files_read_as_their_content(tmp_path: Path):
    import gzip

    from tasks.models import sha256_hex

    page = b"<html><body><article><p>" + b"A story. " * 50 + b"</p></article></body></html>"
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(page))
    lines = [json.dumps({"url": f"https://e.com/{i}", "title": "T", "text": "body"}) for i in range(2)]
    # two gzip members, as `cat a.gz b.gz` makes: both are read
    (tmp_path / "feed.JSONL.GZ").write_bytes(gzip.compress(lines[0].encode() + b"\n") + gzip.compress(lines[1].encode()))
    (doc,) = read_path(tmp_path / "page.html.gz")
    assert (doc.media_type, doc.raw, doc.error) == ("html", page, None)
    assert (doc.raw_sha256, doc.size_bytes) == (sha256_hex(page), len(page))  # as the page uncompressed
    assert doc.mtime_ns is None  # read and compared by content on every run, never by size and time
    records = list(read_path(tmp_path / "feed.JSONL.GZ"))
    assert [json.loads(r.raw)["url"] for r in records] == ["https://e.com/0", "https://e.com/1"]
    assert records[1].source_uri.endswith("feed.JSONL.GZ#L2")


def test_gzip_bombs_and_broken_gzip_are_refused_with_reasons(tmp_path: Path):
    import gzip

    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"\0" * 5_000_000))  # ~5 KB that unpacks to 5 MB
    (tmp_path / "plain.html.gz").write_bytes(b"<html>not compressed at all</html>")
    text = " ".join(f"word{i}" for i in range(5000)).encode()
    (tmp_path / "cut.html.gz").write_bytes(gzip.compress(text)[:-100])  # the last block and trailer lost
    (bomb,) = read_path(tmp_path / "bomb.txt.gz", max_bytes=100_000)
    assert bomb.raw is None and bomb.error.startswith("file too large once decompressed (over the limit of 100,000")
    (plain,) = read_path(tmp_path / "plain.html.gz")
    assert plain.raw is None and plain.error.startswith("not a readable gzip file: Not a gzipped file")
    (cut,) = read_path(tmp_path / "cut.html.gz")
    assert cut.raw is None and cut.error.startswith("not a readable gzip file: Compressed file ended")


def test_a_gzip_error_says_what_is_wrong_with_the_file(tmp_path: Path):
    """Python's words alone mislead: bytes appended after whole gzip data read as "Not a gzipped file".
    Each reader (a file read whole, JSON Lines, a streamed .json) adds what the error means."""
    import gzip

    records = [{"url": f"https://e.com/{i}", "title": "T", "text": "story " * 50} for i in range(3)]
    whole = {"page.html.gz": gzip.compress(b"<p>" + b"word " * 200 + b"</p>"),
             "items.jsonl.gz": gzip.compress("\n".join(map(json.dumps, records)).encode()),
             "items.json.gz": gzip.compress(json.dumps(records).encode())}
    damaged = bytearray(whole["page.html.gz"])
    damaged[-8] ^= 0xFF  # the CRC of the data
    for name, data in whole.items():
        for kind, broken, hint in (("appended", data + b"<html>", "bytes that are not gzip follow the compressed data"),
                                   ("cut", data[:-12], "the file is cut short")):
            (tmp_path / name).write_bytes(broken)
            errors = [d.error for d in read_path(tmp_path / name) if d.error]
            assert len(errors) == 1 and hint in errors[0], (name, kind, errors)
    (tmp_path / "crc.html.gz").write_bytes(bytes(damaged))
    (crc,) = read_path(tmp_path / "crc.html.gz")
    assert crc.error.startswith("not a readable gzip file: CRC check failed") and "damaged" in crc.error
    (tmp_path / "plain.html.gz").write_bytes(b"<html>not compressed at all</html>")
    (plain,) = read_path(tmp_path / "plain.html.gz")
    assert "the file is not gzip-compressed: if it is plain text, remove .gz from its name" in plain.error


def test_a_folder_names_the_files_it_passes_over(tmp_path: Path):
    import gzip

    (tmp_path / "in" / "img").mkdir(parents=True)
    (tmp_path / "in" / "a.html.gz").write_bytes(gzip.compress(b"<p>x</p>"))
    (tmp_path / "in" / "b.txt").write_text("x")
    for name in ("img/1.png", "img/2.png", "data.csv.gz", "notes"):
        (tmp_path / "in" / name).write_bytes(b"x")
    skipped: list[tuple[str, str]] = []
    found = discover([tmp_path / "in"], skipped)
    assert [p.name for p in found] == ["a.html.gz", "b.txt"]
    assert skipped == [(str(tmp_path / "in"), "4 file(s) of other types passed over (.png 2, (none) 1, .csv.gz 1); "
                                              "newsflow reads .txt, .html, .htm, .json or .jsonl (each also "
                                              "gzip-compressed: .html.gz) or a web archive")]
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "c.html").write_text("x")
    assert discover([tmp_path / "only"], skipped) and len(skipped) == 1  # nothing passed over: no line
    (doc,) = read_path(tmp_path / "in" / "data.csv.gz")  # named on its own, it is an error document
    assert doc.error.startswith("unsupported file type '.csv.gz'; use .txt, .html")



def test_file_names_that_are_not_utf8_are_read_and_named_printably(tmp_path: Path):
    """Python keeps a file name's non-UTF-8 bytes as lone surrogates. A folder holding a dangling link, a
    FIFO or a file of another type with such a name failed the whole ingest run when its summary went to
    the Prefect API as JSON ("surrogates not allowed"); a SOURCE with such a name did the same."""
    import os

    from tasks.pipeline import RunSummary, summary_markdown

    folder = os.fsencode(tmp_path / "in")
    os.mkdir(folder)
    with open(folder + b"/page-\xfe.html", "wb") as fh:
        fh.write(b"<p>x</p>")
    os.symlink(b"/nonexistent", folder + b"/dangling-\xff.html")
    os.mkfifo(folder + b"/fifo-\xfc.txt")
    with open(folder + b"/image.\xfb", "wb") as fh:
        fh.write(b"x")
    skipped: list[tuple[str, str]] = []
    (found,) = discover([tmp_path / "in"], skipped)
    assert os.fsencode(found).endswith(b"/page-\xfe.html")  # read, whatever its name
    assert found.as_uri().endswith("/page-%FE.html")
    assert sorted(skipped) == [
        (str(tmp_path / "in"), "1 file(s) of other types passed over (.\\xfb 1); newsflow reads " + READABLE),
        (str(tmp_path / "in" / "dangling-\\xff.html"), "cannot be opened: No such file or directory"),
        (str(tmp_path / "in" / "fifo-\\xfc.txt"), "not a regular file (a FIFO)")]
    summary_markdown(RunSummary(run_id="r", db="x.duckdb", skipped=skipped)).encode("utf-8")
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", os.fsdecode(folder + b"/page-\xfe.html"),
                           "--db", str(tmp_path / "news.duckdb")], cwd=REPO, capture_output=True, timeout=120)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2 and "page-\\xfe.html: the name is not UTF-8" in err and "give the folder" in err
    assert not (tmp_path / "news.duckdb").exists()

def test_a_streamed_json_array_never_raises_on_damaged_bytes(tmp_path: Path):
    """Cut, flipped and spliced bytes of a .json array over the limit: every read ends, each document
    either a record or one with its reason, and no record read whole is changed by streaming."""
    import random

    rng = random.Random(7)
    data = json.dumps(_records(8) + [{"text": "ü ✓ \u2028 \\ \" é" * 20, "n": [1, 2.5, -0.0, None, True]}]).encode()
    for k in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(damaged) or 1)
            choice = rng.random()
            if choice < 0.3:
                del damaged[at:]
            elif choice < 0.6 and at < len(damaged):
                damaged[at] = rng.randrange(256)
            else:
                damaged[at:at] = rng.choice([b"[", b"{", b"]", b'"', b",", b"\\", b"\xff", b"1e999", b"NaN"])
        path = tmp_path / f"d{k}.json"
        path.write_bytes(bytes(damaged) + b" " * 2000)
        docs = list(read_path(path, max_bytes=2000))
        assert docs and all(d.error or d.raw for d in docs)
        for d in docs:
            if d.error is None:
                assert isinstance(json.loads(d.raw), dict)  # a record loads as the JSON it was stored as


def test_a_streamed_json_item_of_empty_containers_counts_against_the_limit(tmp_path: Path):
    """Brackets alone add up too: an item of 100,000 empty arrays is over a 20,000-byte limit."""
    (tmp_path / "many.json").write_text("[[" + ",".join(["[]"] * 100_000) + '], {"text": "after"}]')
    docs = list(read_path(tmp_path / "many.json", max_bytes=20_000))
    assert [d.error for d in docs] == ["item 0 too large (over the limit of 20,000 bytes); raise "
                                       "NEWSFLOW_MAX_DOCUMENT_BYTES to accept it", None]


@pytest.mark.parametrize("before", [3, 400])  # within ijson's first 64 KB read, and after it
def test_a_streamed_json_number_too_long_for_python_ends_the_file_cleanly(tmp_path: Path, before: int):
    """An integer of more digits than Python converts crashed ijson's C parser (a segmentation fault after
    its first read, a pending error before it): such a file is parsed by ijson's pure-Python parser. In a
    child process, so that a crash fails this test instead of the run."""
    import ast
    import subprocess
    import sys

    path = tmp_path / "long.json"
    path.write_text(json.dumps(_records(before))[:-1] + ', {"n": -1' + "0" * 5000 + '}, {"text": "after"}]')
    code = ("import sys; from pathlib import Path; from tasks.sources import read_path; "
            "print([d.error for d in read_path(Path(sys.argv[1]), max_bytes=2000)][-2:])")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = ast.literal_eval(proc.stdout)  # the list of reasons the child printed
    assert last[0] is None  # the item before the number loaded
    assert last[1].startswith(f"not valid JSON after item {before - 1}: Unexpected symbol "
                              "'-1000000000000000000... (5,001 digits)' at ")


def test_a_streamed_json_file_gives_the_values_the_whole_file_gives(tmp_path: Path):
    """Escaped pairs (also a backslash before one), a long digit run inside a string, a huge exponent:
    streamed items are the documents the file read whole gives."""
    text = ('[{"url": "https://e.com/c", "text": "a pair \\ud83d\\ude00 and \\uD83D\\uDE00 and \\\\ud83d"}, '
            '{"url": "https://e.com/d", "text": "pi ' + "1" * 6000 + '"}]')
    (tmp_path / "text.json").write_text(text + " " * 8000)  # over the 7,000 bytes below: streamed
    whole = list(read_path(tmp_path / "text.json", max_bytes=100_000))
    streamed = list(read_path(tmp_path / "text.json", max_bytes=7000))
    assert [(d.document_id, d.raw, d.error) for d in streamed] == [(d.document_id, d.raw, d.error) for d in whole]
    assert [d.error for d in streamed] == [None, None]
    assert json.loads(streamed[0].raw)["text"] == "a pair \U0001f600 and \U0001f600 and \\ud83d"
    (tmp_path / "huge.json").write_text(json.dumps(_records(3))[:-1] + ', {"n": 1e999999999999999999999}]')
    docs = list(read_path(tmp_path / "huge.json", max_bytes=2000))
    assert [d.error for d in docs] == [None, None, None, "not valid JSON after item 2: a number out of range"]


def test_the_json_parser_is_chosen_across_the_pieces_the_file_is_read_in(tmp_path: Path, monkeypatch):
    """A run of 4,301+ digits anywhere, also across the seams of the pieces the file is scanned in, gives
    ijson's pure-Python parser; shorter runs side by side do not."""
    import ijson

    import tasks.sources as sources

    monkeypatch.setattr(sources, "_SCAN_BYTES", 7)
    python = ijson.get_backend("python").basic_parse

    def parser(data: bytes):
        (tmp_path / "f.json").write_bytes(data)
        return sources._json_parser(tmp_path / "f.json", compressed=False)

    for shift in range(8):  # every place of the seams
        pad = b" " * shift
        assert parser(pad + b"[1" + b"0" * 4300 + b"]") is python
        assert parser(pad + b'["' + b"7" * 4301 + b'"]') is python
        assert parser(pad + b"[1" + b"0" * 4299 + b", 1" + b"0" * 4299 + b"]") is ijson.basic_parse
    monkeypatch.setattr(sources, "_SCAN_BYTES", 1 << 20)
    assert parser(b"[1" + b"0" * 4300 + b"]") is python
    assert parser(b"[1" + b"0" * 4299 + b"]") is ijson.basic_parse


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_json_lines_and_streamed_json_in_utf16_or_utf32_read_as_in_utf8(tmp_path: Path, encoding: str):
    """Windows PowerShell's `>` writes UTF-16. The JSON Lines reader split such a file's bytes at 0x0A,
    so every line after the first began with the NUL of its "\\n" and failed; the streamed .json reader
    failed the whole file. Both now read the text as UTF-8 (with a byte-order mark or, for "-le"/"-be",
    without one): the same documents as the UTF-8 file. One bad character fails its record only."""
    import gzip

    records = _records(5)
    records[1]["title"] = "Caf\u00e9 \u2028 council \U0001f600"  # U+2028 inside a string: not a line end
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in records)
    (tmp_path / "utf8.jsonl").write_text(lines, encoding="utf-8")
    (tmp_path / "wide.jsonl").write_bytes(lines.encode(encoding))
    (tmp_path / "wide.jsonl.gz").write_bytes(gzip.compress(lines.encode(encoding)))
    same = [(d.source_uri.rsplit("#", 1)[1], d.raw_sha256, d.raw) for d in read_path(tmp_path / "utf8.jsonl")]
    assert len(same) == 5 and all(raw for *_, raw in same)
    for name in ("wide.jsonl", "wide.jsonl.gz"):
        assert [(d.source_uri.rsplit("#", 1)[1], d.raw_sha256, d.raw) for d in read_path(tmp_path / name)] == same
    array = json.dumps(records, ensure_ascii=False)
    (tmp_path / "utf8.json").write_text(array, encoding="utf-8")
    (tmp_path / "wide.json").write_bytes(array.encode(encoding))
    whole = [(d.raw_sha256, d.raw) for d in read_path(tmp_path / "utf8.json", max_bytes=2000)]
    assert len(whole) == 5 and [(d.raw_sha256, d.raw) for d in read_path(tmp_path / "wide.json", max_bytes=2000)] == whole
    if encoding.startswith("utf-16"):  # a lone surrogate (no character) in line 3: that record only
        bad = lines.replace("T 2", "T \ud800").encode(encoding, "surrogatepass")
        (tmp_path / "bad.jsonl").write_bytes(bad)
        docs = list(read_path(tmp_path / "bad.jsonl"))
        assert [d.error is None for d in docs] == [True, True, False, True, True]
        assert "cannot be stored as UTF-8 text" in docs[2].error


def test_a_long_number_in_a_utf16_json_file_gets_the_pure_python_parser(tmp_path: Path):
    """The digit scan reads the file as the parser does: in UTF-16 a digit run has a NUL between digits."""
    import ijson

    import tasks.sources as sources

    (tmp_path / "f.json").write_bytes(("[1" + "0" * 4300 + "]").encode("utf-16"))
    assert sources._json_parser(tmp_path / "f.json", compressed=False) is ijson.get_backend("python").basic_parse


def test_the_line_limit_holds_in_bytes_for_utf16_json_lines(tmp_path: Path):
    """A UTF-16 file is read in characters; a line of 1,000 characters that takes 3,000 bytes as UTF-8
    is over a 2,000-byte limit all the same."""
    wide = json.dumps({"url": "https://e.com/w", "title": "Wide", "text": "\u65e5" * 1000}, ensure_ascii=False)
    small = json.dumps({"url": "https://e.com/s", "title": "Small", "text": "short"})
    (tmp_path / "w.jsonl").write_bytes((wide + "\n" + small + "\n").encode("utf-16"))
    docs = list(read_path(tmp_path / "w.jsonl", max_bytes=2000))
    assert [d.error is None for d in docs] == [False, True]
    size = len(wide.encode())
    assert docs[0].error == (f"line 1 too large ({size:,} bytes > limit 2,000); raise NEWSFLOW_MAX_DOCUMENT_BYTES "
                             "to accept it")
