"""Worker-process set-up for `newsflow ingest --task-runner process`."""

from __future__ import annotations


def init_worker() -> None:
    """Make the worker exit without the interpreter's teardown once the pool shuts it down
    (`newsflow.fastexit`; status 0: the pool reads nothing from a worker's exit status).

    Nothing is warmed here: the worker only hands its batches to a cleaning process, which comes warm
    from the fork server (tasks/guard.py).
    """
    from newsflow import fastexit

    fastexit.install(status=0)
