"""The temporary Prefect API server the CLI starts: it answers, and it goes when the CLI goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent

# Starts the server as the CLI does, waits for it, prints its pid and url, then ends as told.
SCRIPT = """
import os, signal, sys
from newsflow import fastexit
from newsflow.ephemeral import start_early_server
fastexit.install()
server = start_early_server()
server.wait()
print(server.proc.pid, server.url, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
fastexit.set_status(0)
"""


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:  # exited; nobody reaped it yet
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_the_temporary_server_stops_when_the_cli_ends(how: str):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # the session's Prefect home
    proc = subprocess.run([sys.executable, "-c", SCRIPT, how], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == (-signal.SIGKILL if how == "kill" else 0), proc.stderr
    pid, url = proc.stdout.split()
    # It answered while the CLI ran; it stops after (SIGTERM at exit, or on the parent's death).
    assert _gone(int(pid), within_s=15), f"server {pid} still running after the CLI ended ({how})"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/health", timeout=2)
