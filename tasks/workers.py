"""Worker-process set-up: import the heavy libraries once per worker, not inside the first document."""

from __future__ import annotations


def warm_up() -> None:
    """Load trafilatura, the language model and the date parser so the first document is not slow.

    Also makes the worker exit without the interpreter's teardown once the pool shuts it down
    (`newsflow.fastexit`; status 0: the pool reads nothing from a worker's exit status).
    """
    from newsflow import fastexit

    fastexit.install(status=0)
    import trafilatura  # noqa: F401
    from dateutil import parser  # noqa: F401

    from tasks.clean import detect_language

    detect_language("Warm-up sentence for the language identifier model.")
