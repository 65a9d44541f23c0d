"""Hostile input: malformed documents never crash a run; each is loaded or quarantined with a reason,
and no single document can stall a batch (the per-document time limit in tasks/guard.py)."""

from __future__ import annotations

import errno
import json
import os
import random
import time

import duckdb
import pytest

from ingest_harness import PrefectServer, run_ingest
from tasks.guard import clean_batch_guarded, run_guarded
from tasks.models import Article, RawDocument, Rejected, sha256_hex

# ------------------------------------------------------------------------------ the time limit


def _slow_or_bad(x: int) -> int:
    if x == 3:
        time.sleep(120)  # far beyond the 1 s limit below: the outcome cannot depend on machine speed
    if x == 5:
        os.kill(os.getpid(), 9)  # the cleaning process dies mid-document
    if x == 7:
        raise ValueError("seven is bad")
    return x * 10


def _failed(x: int, reason: str) -> str:
    return f"{x}: {reason}"


def test_time_limit_quarantines_only_the_slow_document_and_the_batch_carries_on():
    out = run_guarded(list(range(10)), _slow_or_bad, _failed, limit=1)
    assert out == [0, 10, 20, "3: timed out after 1 s", 40, "5: cleaning process crashed (killed by SIGKILL)",
                   60, "7: ValueError: seven is bad", 80, 90]
    # The helper is replaced after a failure and reused afterwards.
    assert run_guarded([11, 12], _slow_or_bad, _failed, limit=1) == [110, 120]


def _fail_loudly(x: int, reason: str) -> str:
    raise RuntimeError(f"the caller's own fault at {x}")


def test_a_caller_that_fails_part_way_gets_a_fresh_helper_next_time():
    """The caller failed while the helper streamed a batch's results (here in its on_fail; a result it
    cannot unpickle, a bug): the rest stayed in the pipe, and the next batch read them as its own, or
    both sides blocked writing (a run hung until killed)."""
    with pytest.raises(RuntimeError, match="the caller's own fault at 7"):
        run_guarded([6, 7, 8, 9], _slow_or_bad, _fail_loudly, limit=30)
    assert run_guarded([11, 12], _slow_or_bad, _failed, limit=30) == [110, 120]


def _disk_full_at_two(x: int) -> int:
    if x == 2:
        raise OSError(errno.ENOSPC, "No space left on device")
    if x == 3:
        raise OSError(errno.ENOENT, "No such file or directory")  # the document's own: quarantined
    return x


def test_an_error_of_the_machine_fails_the_batch_instead_of_quarantining_its_documents():
    """A full disk (py3langid unpacks its model into TMPDIR in each cleaning process) quarantined every
    document as "OSError: [Errno 28] No space left on device" and the run ended completed; once the
    space was back, a rerun called them unchanged and loaded none."""
    from tasks.models import MachineFault

    assert run_guarded([1, 3], _disk_full_at_two, _failed, limit=30) == [1, "3: FileNotFoundError: [Errno 2] "
                                                                            "No such file or directory"]
    with pytest.raises(MachineFault, match=r"a cleaning process cannot work: OSError: \[Errno 28\] No space"):
        run_guarded([1, 2, 4], _disk_full_at_two, _failed, limit=30)
    assert run_guarded([4], _disk_full_at_two, _failed, limit=30) == [4]


def _nested(depth: int) -> list:
    out: list = []
    for _ in range(depth):
        out = [out]
    return out


def _unpicklable_at_six(x: int) -> object:
    return _nested(5000) if x == 6 else x * 10


def test_a_result_that_cannot_be_returned_is_quarantined_and_the_helper_goes_on():
    """A result nested past pickle's recursion limit crashed the cleaning process that sent it back
    (exit code 1, a traceback on the terminal), and the next document was lost with it."""
    out = run_guarded([5, 6, 7], _unpicklable_at_six, _failed, limit=30)
    assert out == [50, "6: its result cannot be returned: RecursionError: maximum recursion depth exceeded "
                       "while pickling an object", 70]


def _parent_pid(_: int) -> int:
    return os.getppid()


def test_helpers_fork_from_the_fork_server_not_from_the_caller():
    # Forking the caller would copy its threads and locks (the flow's process runs Prefect's threads).
    parent = run_guarded([0], _parent_pid, _failed, limit=30)[0]
    assert isinstance(parent, int) and parent not in (os.getpid(), 1)


def test_a_fork_server_started_early_is_the_one_helpers_fork_from():
    # The CLI starts it while Prefect's server boots; the first helper then forks from it, warm.
    from tasks.guard import fork_server_pid, start_fork_server

    assert start_fork_server()
    pid = fork_server_pid()
    assert pid and start_fork_server() and fork_server_pid() == pid  # once only
    assert run_guarded([0], _parent_pid, _failed, limit=30)[0] == pid


def _in_daemonic_process(out) -> None:
    from tasks.guard import Helper, _ForkedChild

    helper = Helper(abs)
    helper.start()
    forked = isinstance(helper.process, _ForkedChild)
    results = helper.run([-1, -2], 30, _failed)
    started = time.monotonic()
    exitcode = helper.stop(grace=10.0)  # an idle helper exits on its own once its pipe closes
    out.put((forked, results, exitcode, time.monotonic() - started))


def test_a_daemonic_process_forks_its_own_helper_which_exits_when_its_pipe_closes():
    # Dask's worker processes are daemonic: multiprocessing gives them no children, so no fork server.
    import multiprocessing

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    proc = context.Process(target=_in_daemonic_process, args=(out,), daemon=True)
    proc.start()
    forked, results, exitcode, seconds = out.get(timeout=120)
    proc.join(30)
    assert forked and results == [1, 2]
    assert exitcode == 0 and seconds < 5  # it saw the pipe close: not killed after the grace period


def test_guarded_cleaning_matches_inline_cleaning_and_keeps_order():
    from tasks.clean import clean_batch
    from tasks.enrich import analysis_of

    page = (b"<html><head><title>A plain title for the test</title></head><body><article><h1>A plain title "
            b"for the test</h1>" + b"<p>" + b"Words of a long enough paragraph to keep. " * 12 + b"</p>"
            b"</article></body></html>")
    docs = [RawDocument(f"file:///t/{i}.html", "html", page + str(i).encode(), sha256_hex(page + str(i).encode()),
                        len(page) + 1) for i in range(4)]
    docs.insert(2, RawDocument("file:///t/bad.txt", "text", None, sha256_hex(b"x"), 0, error="empty file"))
    guarded = clean_batch_guarded(docs, limit=60)
    inline = clean_batch(docs)
    for r in inline:  # the guarded stage also analyzes each article (entities, signature, leak check)
        if isinstance(r, Article):
            analysis_of(r)
    assert [r for r, _ in guarded] == inline
    assert [type(r) for r, _ in guarded] == [Article, Article, Rejected, Article, Article]
    assert all(seconds >= 0 for _, seconds in guarded)


# ------------------------------------------------------------------------- a hostile corpus

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n<html><body><p>&lol9;</p></body></html>\n"
)


def _words(rng: random.Random, n: int) -> str:
    vocab = ["the", "minister", "said", "on", "Monday", "that", "talks", "would", "resume", "after", "a", "pause",
             "in", "Geneva", "où", "le", "näher", "東京", "🙂", "\u202e", "\u200b", "&amp;", "<", ">", "\"", "'"]
    return " ".join(rng.choice(vocab) for _ in range(n))


def hostile_documents(rng: random.Random) -> list[tuple[str, bytes, int]]:
    """About 1,100 (file name, bytes, documents in it): a JSON array holds one document per item."""
    docs: list[tuple[str, bytes, int]] = []

    def add(kind: str, suffix: str, data: bytes | str, count: int = 1) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        docs.append((f"{len(docs):05d}_{kind}{suffix}", data, count))

    for _ in range(150):  # broken HTML: random tag soup, unclosed and mismatched tags, truncation
        parts = [rng.choice(["<div>", "</div>", "<p>", "</span>", "<table><tr><td>", "<script>", "</script>",
                             "<!--", "-->", "<![CDATA[", "<a href='", "<<>>", "</html>", "<body", "&#x110000;",
                             "&bogus;", _words(rng, rng.randint(1, 40))]) for _ in range(rng.randint(1, 200))]
        text = "".join(parts)
        add("soup", ".html", text[: rng.randint(0, len(text))])
    for _ in range(60):  # deep nesting
        depth = rng.choice([300, 3000, 30000])
        tag = rng.choice(["div", "span", "b", "table", "ul"])
        add("deep", ".html", f"<html><body>{'<' + tag + '>' * 1}" * depth + _words(rng, 80) + f"</{tag}>" * (depth // 2))
    for _ in range(60):  # giant attributes and attribute counts
        big = "x" * rng.choice([10_000, 200_000, 1_000_000])
        many = " ".join(f"a{i}='{i}'" for i in range(rng.choice([10, 5000])))
        add("attr", ".html", f"<html><head><title t='{big}'>T</title></head><body {many}><p class='{big}'>"
            f"{_words(rng, 120)}</p></body></html>")
    for _ in range(150):  # wrong encodings: declared one thing, are another; invalid UTF-8 in text files
        text = "<html><head><meta charset='{}'><title>{}</title></head><body><p>{}</p></body></html>".format(
            rng.choice(["utf-8", "iso-8859-1", "shift_jis", "utf-16", "bogus-charset", ""]),
            _words(rng, 8), _words(rng, 150))
        enc = rng.choice(["utf-16", "utf-32", "latin-1", "cp1252", "shift_jis", "utf-8"])
        add("enc", rng.choice([".html", ".txt"]), text.encode(enc, errors="replace"))
    for _ in range(150):  # binary junk, with and without NUL bytes
        n = rng.choice([1, 10, 1000, 100_000])
        data = bytes(rng.getrandbits(8) for _ in range(min(n, 4096))) * max(1, n // 4096)
        add("binary", rng.choice([".html", ".txt", ".json", ".htm"]), data)
    for _ in range(40):  # billion laughs (entity expansion) as HTML, as text and inside a JSON record
        add("laughs", ".html", BILLION_LAUGHS)
        add("laughs", ".json", json.dumps({"url": f"https://example.com/lol/{len(docs)}", "html": BILLION_LAUGHS}))
    for _ in range(30):  # huge single lines
        line = _words(rng, rng.choice([50_000, 300_000]))
        add("line", rng.choice([".txt", ".html"]), line)
    for _ in range(150):  # malformed JSON records: truncated, wrong types, deep arrays, odd fields
        choice = rng.randrange(8)
        if choice == 0:
            data = '{"url": "https://example.com/a", "text": "unterminated'
        elif choice == 1:
            value = rng.choice([[], 42, "a string", None, True, [1, 2, 3], [{"text": "x"}, "y"]])
            add("record", ".json", json.dumps(value), len(value) if isinstance(value, list) else 1)
            continue
        elif choice == 2:
            data = "[" * 100_000 + "]" * 100_000
        elif choice == 3:
            data = json.dumps({"url": 12345, "title": ["not", "a", "string"], "text": {"nested": True}})
        elif choice == 4:
            data = json.dumps({"url": f"javascript:alert({len(docs)})", "title": "x" * 10_000, "text": _words(rng, 300),
                               "published_at": rng.choice(["not a date", "9999-99-99", -1e20, 1e20, "2024-02-30"])})
        elif choice == 5:
            data = '{"text": "\\ud800 lone surrogate and \\u0000 NUL", "title": "\\udfff"}'
        elif choice == 6:
            data = json.dumps({"html": "<p>" * 5000, "url": f"https://example.com/{len(docs)}/" + "a" * 5000})
        else:
            data = json.dumps({"text": "\n" * 20_000 + _words(rng, 100), "title": ""})
        add("record", ".json", data)
    for _ in range(120):  # empty, blank, BOM-only, control characters, tiny
        add("tiny", rng.choice([".txt", ".html", ".json"]),
            rng.choice([b"", b"   \n\t ", b"\xef\xbb\xbf", b"\x1b[31m\x07\x08", b"<", b"{}", b"\r\r\r", b"a"]))
    for _ in range(100):  # plausible text articles with hostile bits (the ones that should still load)
        body = "\n\n".join(_words(rng, rng.randint(30, 120)) for _ in range(rng.randint(3, 8)))
        add("text", ".txt", f"{_words(rng, 8).title()}\n\n{body}\n")
    return docs


@pytest.mark.slow
def test_hostile_corpus_every_document_loaded_or_quarantined_with_a_reason(tmp_path):
    rng = random.Random(20240601)
    folder = tmp_path / "hostile"
    folder.mkdir()
    expected = 0
    for name, data, count in hostile_documents(rng):
        (folder / name).write_bytes(data)
        expected += count
    # JSON Lines files: good, broken and binary lines mixed (one document per non-blank line).
    for k in range(5):
        lines = [json.dumps({"url": f"https://example.com/{k}/{i}", "text": _words(rng, 60)}) for i in range(10)]
        lines += ['{"broken": ', "\x00\x01\x02", "[1, 2", '"just a string"', json.dumps({"title": "no body"})]
        rng.shuffle(lines)
        (folder / f"lines_{k}.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
        expected += len(lines)
    assert expected >= 1000

    db = tmp_path / "hostile.duckdb"
    with PrefectServer(tmp_path / "prefect-home") as server:
        proc = run_ingest(server, folder, db, "--batch-size", "50", NEWSFLOW_DOCUMENT_TIME_LIMIT="20")
    assert "Traceback" not in proc.stdout

    con = duckdb.connect(str(db), read_only=True)
    documents = con.execute("select count(*) from documents").fetchone()[0]
    loaded = con.execute("select count(*) from articles").fetchone()[0]
    quarantined = con.execute("select count(*) from quarantine").fetchone()[0]
    orphans = con.execute(
        "select count(*) from documents d where not exists (select 1 from articles a where a.document_id = "
        "d.document_id) and not exists (select 1 from quarantine q where q.document_id = d.document_id)"
    ).fetchone()[0]
    without_reason = con.execute(
        "select count(*) from quarantine where len(reasons) = 0 or list_filter(reasons, r -> trim(r) = '') <> []"
    ).fetchone()[0]
    run = con.execute("select status, documents_seen from runs").fetchall()
    con.close()

    assert documents == expected, "every input document is recorded exactly once"
    assert orphans == 0, "every document is either an article or in quarantine"
    assert without_reason == 0
    assert loaded + quarantined == expected
    assert loaded >= 100 and quarantined >= 500
    assert run == [("completed", expected)]
