"""Worker-process set-up: import the heavy libraries once per worker, not inside the first document."""

from __future__ import annotations


def warm_up() -> None:
    """Load trafilatura, the language model and the date parser so the first document is not slow."""
    import trafilatura  # noqa: F401
    from dateutil import parser  # noqa: F401

    from tasks.clean import detect_language

    detect_language("Warm-up sentence for the language identifier model.")
