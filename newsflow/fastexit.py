"""End a finished process without the interpreter's teardown.

At exit CPython joins the threads and runs the `threading` exit hooks (Prefect drains its log and event
queues there), then the `atexit` handlers, last registered first, and then frees every module, object
by object. With Prefect, Great Expectations, DuckDB and trafilatura loaded that last step takes ~0.8 s
of CPU in the CLI and ~0.5 s in each worker process, at the end of every run, and does nothing a
finished process needs.

`install()` registers a handler that runs after every handler registered later (so install it first):
it shuts logging down, flushes the standard streams and ends the process with `os._exit`, keeping the
exit status that `set_status` recorded. Handlers registered before `install()` are skipped.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

_status: int | None = None
_installed = False


def install(status: int = 1) -> None:
    """Exit fast at interpreter exit, with `status` unless `set_status` records another one.

    The default of 1 is right for an uncaught exception (Python has printed its traceback by then).
    """
    global _installed, _status
    if _installed:
        return
    _installed, _status = True, status
    atexit.register(_exit)


def set_status(code: object) -> None:
    """Record the status a `SystemExit(code)` would give the process (None: 0; a message: 1)."""
    global _status
    if code is None:
        _status = 0
    elif isinstance(code, int):
        _status = code
    else:  # sys.exit("message"): Python prints the message and exits with 1
        _status = 1


def _exit() -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(_status if _status is not None else 1)
