"""Child processes that must not outlive newsflow, and local servers polled until they answer.

Low-level plumbing shared by the CLI's temporary Prefect server (newsflow.ephemeral), `newsflow serve`
(flows.serve) and the cleaning helpers (newsflow.warmfork, tasks.guard). It imports nothing from
flows/ or tasks/.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """In a child process (Linux only; elsewhere a no-op): receive `sig` when the thread that started
    this process ends, even on SIGKILL, so a killed parent leaves nothing behind. With `parent` (the
    pid the child expects as its parent), a parent that is gone already is noticed now too."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    except (OSError, AttributeError):  # no libc prctl: the callers have other ways to notice
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)


def _die_with_parent_on_sigterm() -> None:
    die_with_parent(signal.SIGTERM)


# Local servers are asked directly: a proxy from the environment must not answer for 127.0.0.1.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when an HTTP GET of `url` returns 200 (no proxy, whatever the environment says)."""
    try:
        with _DIRECT.open(url, timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, an error status
        return False


class ServerError(RuntimeError):
    """A server process exited, or did not answer its health check in time."""


class ServerProcess:
    """A server run as a child process: started now, waited for later (until `health_url` answers),
    stopped at the end. On Linux it gets SIGTERM when the thread that started it ends (also when
    newsflow is killed), so start it from the main thread, before other threads exist (the parent-death
    signal is set between fork and exec)."""

    def __init__(self, name: str, command: Sequence[str], health_url: str, hint: str = "",
                 env: Mapping[str, str] | None = None, log_file: Path | None = None, quiet: bool = False):
        self.name = name
        self.command = list(command)
        self.health_url = health_url
        self.hint = hint
        self.env = dict(env) if env is not None else None
        self.log_file = log_file
        self.quiet = quiet  # stdout to /dev/null (stderr stays, for its warnings and tracebacks)
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        """Launch the process; do not wait for it."""
        log = None
        out, err = (subprocess.DEVNULL if self.quiet else None), None
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_file.open("ab")
            out, err = log, subprocess.STDOUT
        try:
            self.proc = subprocess.Popen(  # its own session: Ctrl-C in the terminal is newsflow's to handle
                self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                preexec_fn=_die_with_parent_on_sigterm if sys.platform.startswith("linux") else None)
        finally:
            if log is not None:
                log.close()
        return self

    def wait(self, timeout: float, interval: float = 0.1) -> None:
        """Block until `health_url` answers 200.

        Raises:
            ServerError: the process exited, or did not answer within `timeout` seconds (it is stopped).
        """
        if self.proc is None:
            raise ServerError(f"{self.name} was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(self._failed(f"exited with code {self.proc.returncode}"))
            if answers(self.health_url, timeout=min(2.0, interval * 10)):
                return
            time.sleep(interval)
        self.stop()
        raise ServerError(self._failed(f"did not answer at {self.health_url} within {timeout:g} s"))

    def _failed(self, what: str) -> str:
        return f"{self.name} {what}" + (f"; {self.hint}" if self.hint else "")

    def terminate(self) -> None:
        """Ask the server to stop (SIGTERM), without waiting for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and reap it: SIGTERM, then SIGKILL after `timeout` seconds."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def prefect_server(host: str, port: int, name: str = "the Prefect server", **kwargs) -> ServerProcess:
    """`prefect server start` on host:port (Prefect's public command, never prompting), not started
    yet; settings go in through `env`, and `kwargs` to `ServerProcess`."""
    command = ["prefect", "--no-prompt", "server", "start", "--host", host, "--port", str(port)]
    return _api_process(command, host, port, name, **kwargs)


def prefect_api_server(host: str, port: int, name: str = "the Prefect server", **kwargs) -> ServerProcess:
    """The API server that `prefect server start` runs, started without Prefect's command line
    (newsflow/prefect_api.py), for a run's temporary server; as `prefect_server` otherwise."""
    return _api_process(["newsflow.prefect_api", host, str(port)], host, port, name, **kwargs)


def _api_process(module_and_args: list[str], host: str, port: int, name: str, **kwargs) -> ServerProcess:
    """`python -m MODULE ARGS...` serving Prefect's API on host:port, healthy when /api/health answers."""
    return ServerProcess(name, [sys.executable, "-m", *module_and_args], f"http://{host}:{port}/api/health", **kwargs)
