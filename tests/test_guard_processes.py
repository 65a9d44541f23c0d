"""The cleaning helpers' processes (tasks/guard.py, newsflow/warmfork.py): helpers fork from this
process's own fork server, nothing is left behind when the caller exits or is killed, and at a normal
exit the fork server and its helpers are reaped, so their CPU time counts for the caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent

# Runs a batch in a helper as the CLI does (fast exit, guard's exit hook), prints what it measured.
SCRIPT = """
import os, resource, signal, sys, time
from newsflow import fastexit
from tasks import guard

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

fastexit.install()
work = range(20_000_000)
started = time.process_time()
sum(work)
burn = time.process_time() - started
assert guard.run_guarded([work], sum, lambda item, reason: reason, limit=120) == [sum(work)]
server, helper = guard.fork_server_pid(), guard._all_helpers[0].process.pid
before = children_cpu()
if sys.argv[1] == "kill":
    print(server, helper, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
guard._stop_all()  # what runs at exit
print(server, helper, burn, children_cpu() - before, flush=True)
fastexit.set_status(0)
"""


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _run(how: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, how], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == (-signal.SIGKILL if how == "kill" else 0), proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_no_helper_and_no_fork_server_outlive_the_caller(how: str):
    server, helper, *_ = _run(how)
    # The caller's own process only: the fork server sees its control socket close and ends its helpers.
    assert _gone(int(server), within_s=10), f"fork server {server} still running after the caller ended ({how})"
    assert _gone(int(helper), within_s=10), f"helper {helper} still running after the caller ended ({how})"


def test_helpers_cpu_time_counts_for_the_caller_once_it_stopped_them():
    _, _, burn, reaped = _run("exit")
    # The helper burnt `burn` seconds on its batch; its fork server, reaped by the caller, passes it on.
    assert float(reaped) >= 0.8 * float(burn) > 0


def test_a_fork_server_started_in_one_process_is_not_used_by_a_forked_copy():
    # A process forked from one that runs a fork server starts its own instead of talking over the
    # parent's control socket.
    from newsflow.warmfork import ForkServer

    server = ForkServer([])
    server.start()
    try:
        parent_pid = server.pid
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            status = 1
            try:
                os.close(read)
                own = server.pid is None
                server.start()
                os.write(write, f"{own} {server.pid}".encode())
                server.stop()
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        answer = os.read(read, 100).decode().split()
        os.close(read)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert answer[0] == "True" and int(answer[1]) not in (parent_pid, 0)
        assert server.pid == parent_pid and psutil.Process(parent_pid).is_running()
    finally:
        assert server.stop() == 0
