"""tasks.pipeline.batches: fixed-size batches, shrinking at the end so the workers finish together."""

from __future__ import annotations

from tasks.pipeline import RunSummary, batches, in_rounds, newest_captures
from newsflow.settings import MIN_BATCH_SIZE
from tasks.models import Article, RawDocument
from tasks.sources import StoredFile


def docs(n: int, start: int = 0) -> list[RawDocument]:
    return [RawDocument(f"file:///d{i}.txt", "text", b"x", f"id{i}", 1) for i in range(start, start + n)]


def sizes(items, size=200, expected=None, workers=2, known=None) -> list[int]:
    return [len(b) for b in batches(iter(items), set(known or ()), size, RunSummary("r", "db"),
                                    expected=expected, workers=workers)]


def test_without_an_expected_count_batches_are_full():
    assert sizes(docs(1000)) == [200] * 5


def test_the_last_batches_shrink_and_every_document_is_batched_once():
    got = sizes(docs(1000), expected=1000)
    assert sum(got) == 1000
    assert got[:4] == [200, 200, 200, 200]  # then 200 are left: 100 per batch, and so on
    assert got == sorted(got, reverse=True)
    assert all(s >= MIN_BATCH_SIZE for s in got[:-1])
    # Each batch after the first is at most what was left, over the workers, when it started.
    left = 1000 - got[0]
    for s in got[1:]:
        assert s <= max(MIN_BATCH_SIZE, -(-left // 2))
        left -= s
    assert max(got[-3:]) <= 2 * MIN_BATCH_SIZE


def test_skipped_documents_count_towards_what_is_left():
    stored = [StoredFile(f"file:///s{i}.txt", 1) for i in range(600)]
    got = sizes(stored + docs(400), expected=1000)
    assert sum(got) == 400 and got[0] == 200  # 400 left of 1000 when the first batch began


def test_a_batch_size_below_the_minimum_is_kept():
    assert sizes(docs(10), size=2, expected=10) == [2] * 5


def test_an_estimate_that_settles_mid_batch_closes_the_batch():
    """A web archive's page count is estimated from the share of it read: wild at the first page, closer
    with each one. The first batch follows the estimate as it settles instead of the first guess."""
    summary = RunSummary("r", "db")

    def guess() -> int:  # 5,000 at the first page, falling to the true 1,000 by the 100th
        return max(1000, 5000 - 40 * summary.documents_seen)

    got = [len(b) for b in batches(iter(docs(1000)), set(), 600, summary, expected=guess, workers=2)]
    assert sum(got) == 1000
    assert got[0] == 500  # what the settled estimate asks (1000 / 2), not the first guess's 600


def test_json_lines_batches_follow_the_records_read_not_the_file_count(tmp_path):
    """A run over one JSON Lines file of 1,000 records: full batches until the estimate, made from the
    share of the file read, says the end is near (counted in files, every batch was the minimum)."""
    import json

    from flows.ingest import _expected
    from tasks.sources import RecordReading, read_all
    from tasks.warc import WarcReading

    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"url": f"https://e.com/{i}", "text": f"Story {i}."}) + "\n"
                            for i in range(1000)))
    records = RecordReading()
    got = sizes(read_all([feed], records=records), expected=_expected([feed], WarcReading(), records))
    assert sum(got) == 1000
    assert got[:4] == [200, 200, 200, 200]
    assert got == sorted(got, reverse=True) and len(got) <= 8


def test_an_article_twice_in_a_load_comes_in_rounds_with_its_documents():
    docs = [RawDocument(f"file:///f.jsonl#L{i}", "record", b"{}", f"h{i}", 2) for i in range(5)]
    ids = ["a", "b", "a", None, "a"]  # L3 was rejected while cleaning: no article
    articles = [Article(article_id=aid, document_id=docs[i].document_id, source_uri=docs[i].source_uri, url=None,
                        title="T", body="x") for i, aid in enumerate(ids) if aid]
    name = {d.document_id: f"d{i}" for i, d in enumerate(docs)}
    packed = [f"record {i}" for i in range(5)]
    rounds = in_rounds(docs, packed, articles)
    assert [([name[d.document_id] for d in ds], rs, [name[a.document_id] for a in arts])
            for ds, rs, arts in rounds] == [
        (["d0", "d1", "d3"], ["record 0", "record 1", "record 3"], ["d0", "d1"]),
        (["d2"], ["record 2"], ["d2"]),
        (["d4"], ["record 4"], ["d4"]),
    ]
    single = in_rounds(docs[:2], packed[:2], articles[:2])
    assert single == [(docs[:2], packed[:2], articles[:2])]


def test_of_a_pages_captures_in_one_load_only_the_newest_makes_a_round():
    """200 captures of one URL in a run were 200 rounds, each a load of its own (60 s against 13 s for
    200 pages); the article ends as the newest capture whatever the order. Documents that are not dated
    captures keep every version, in order."""
    def doc(i: int, date: str | None, captured: bool = True) -> RawDocument:
        fields = {"url": "https://news.example/a"} | ({"fetched_at": date} if date else {})
        return RawDocument("https://news.example/a", "html", b"<p>%d</p>" % i, f"h{i}", 9, fields, captured=captured)

    def kept(docs: list[RawDocument], ids: list[str]) -> tuple[list[int], int]:
        articles = [Article(article_id=aid, document_id=d.document_id, source_uri=d.source_uri, url=None, title="T",
                            body="x") for d, aid in zip(docs, ids)]
        arts, dropped = newest_captures(docs, articles)
        return [articles.index(a) for a in arts], dropped

    dated = [doc(0, "2024-01-01T00:00:00Z"), doc(1, "2026-01-01T00:00:00Z"), doc(2, "2025-01-01T00:00:00Z"),
             doc(3, "2026-01-01T00:00:00+00:00"), doc(4, "2023-01-01T00:00:00Z")]
    assert kept(dated, ["a", "a", "a", "a", "b"]) == ([3, 4], 3)  # the latest; of two at one time, the last
    assert kept(dated[:3] + [doc(5, None)], ["a"] * 4) == ([0, 1, 2, 3], 0)  # one capture without a date
    assert kept(dated[:2] + [doc(6, "2027-01-01T00:00:00Z", captured=False)], ["a"] * 3) == ([0, 1, 2], 0)


def test_a_batch_closes_at_its_bytes_before_its_count():
    """Batches were 400 documents whatever their size: 400 records of 1 MB each held ~2 GB of text at
    once in the writer (6.5 GB) and failed their load at DuckDB's memory cap, run after run."""
    mb = 1024 * 1024
    big = [RawDocument(f"file:///b{i}.txt", "text", b"x", f"b{i}", mb) for i in range(200)]
    got = [len(b) for b in batches(iter(big), set(), 400, RunSummary("r", "db"), max_bytes=64 * mb)]
    assert got == [64, 64, 64, 8]
    huge = RawDocument("file:///huge.txt", "text", b"x", "huge", 100 * mb)  # over the budget alone: a batch
    got = [[d.source_uri[8:] for d in b] for b in batches(iter([*docs(3), huge, *docs(2, 3)]), set(), 400,
                                                          RunSummary("r", "db"), max_bytes=64 * mb)]
    assert got == [["d0.txt", "d1.txt", "d2.txt", "huge.txt"], ["d3.txt", "d4.txt"]]
    assert sizes(docs(1000), size=400) == [400, 400, 200]  # small documents: the count as before


def test_only_an_undated_version_under_another_title_is_held_back_from_a_dated_article():
    """`_walls` refused the dated version too when a batch held two versions of one article."""
    from types import SimpleNamespace

    from tasks.pipeline import BatchWriter

    class Stored:
        def dated_articles(self, ids):
            return {"a": ("d0", "Riverside path repairs")} if "a" in ids else {}

    def version(doc: str, title: str, date: str | None) -> Article:
        return Article("a", doc, "file:///s.html", None, title, "Body.", published_at=date)

    batch = [version("d1", "Riverside path repairs begin", "2025-05-20T08:00:00+00:00"),
             version("d2", "The Riverside Courier", None), version("d3", "Riverside path repairs", None),
             version("d0", "Something else", None)]  # the stored document itself, cleaned again
    kept, held = BatchWriter._walls(SimpleNamespace(warehouse=Stored()), batch)
    assert [a.document_id for a in kept] == ["d1", "d3", "d0"] and [r.document_id for r in held] == ["d2"]
    assert held[0].reasons[0].startswith("not taken: this version of the page states no date and is titled "
                                         "'The Riverside Courier', where the stored article 'Riverside path repairs'")
