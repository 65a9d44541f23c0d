"""A batch cleaned by two threads at once (tasks/guard.py SharedBatch): the results come back whole and in
order, the helper's share counts, and a share whose thread fails is cleaned by the owner."""

from __future__ import annotations

import threading

import pytest

from newsflow.settings import CleaningLimits
from tasks import guard
from tasks.guard import MIN_SHARE, SharedBatch, clean_batch_for_load, clean_batch_guarded, help_clean
from tasks.models import RawDocument, sha256_hex

LIMITS = CleaningLimits(seconds=60)


def _docs(n: int) -> list[RawDocument]:
    docs = []
    for i in range(n):
        page = (f"<html><head><title>Story number {i} of the shared batch</title></head><body><article>"
                f"<h1>Story number {i} of the shared batch</h1><p>"
                + f"Paragraph {i} says enough words to be kept as an article body here. " * 8
                + "</p></article></body></html>").encode()
        docs.append(RawDocument(f"file:///shared/{i}.html", "html", page, sha256_hex(page), len(page)))
    docs.insert(3, RawDocument("file:///shared/empty.txt", "text", None, sha256_hex(b""), 0, error="empty file"))
    return docs


def _ids(results) -> list[str]:
    return [r.document_id for r, _seconds in results]


def test_two_threads_clean_one_batch_in_order() -> None:
    docs = _docs(40)
    shared = SharedBatch(docs)
    helped: list[int] = []
    helper = threading.Thread(target=lambda: helped.append(help_clean(shared, LIMITS)))
    helper.start()  # it takes the first half before the owner starts
    cleaned = clean_batch_for_load(shared, LIMITS)
    helper.join(60)
    assert helped and MIN_SHARE <= helped[0] < len(docs)  # both threads cleaned a share
    assert _ids(cleaned.results) == [d.document_id for d in docs]
    alone = clean_batch_guarded(docs, limit=60)
    assert [r for r, _ in cleaned.results] == [r for r, _ in alone]
    assert len(cleaned.packed) == len(docs)
    assert help_clean(shared, LIMITS) == 0  # nothing is left to help with


def test_a_helper_that_fails_leaves_its_share_to_the_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs(12)
    shared = SharedBatch(docs)
    real = guard.clean_batch_guarded

    def failing_in_helper(items, *args, **kwargs):
        if threading.current_thread().name == "helper":
            raise RuntimeError("the helper's cleaning process would not start")
        return real(items, *args, **kwargs)

    monkeypatch.setattr(guard, "clean_batch_guarded", failing_in_helper)
    helped: list[int] = []
    helper = threading.Thread(target=lambda: helped.append(help_clean(shared, LIMITS)), name="helper")
    helper.start()
    helper.join(60)
    assert helped == [0]  # it took a share, failed, gave it back
    assert _ids(clean_batch_for_load(shared, LIMITS).results) == [d.document_id for d in docs]


def test_another_process_gets_a_batch_of_its_own() -> None:
    import pickle

    shared = SharedBatch(_docs(5))
    copy = pickle.loads(pickle.dumps(shared))
    assert [d.document_id for d in copy.docs] == [d.document_id for d in shared.docs]
    assert _ids(clean_batch_for_load(copy, LIMITS).results) == [d.document_id for d in shared.docs]
