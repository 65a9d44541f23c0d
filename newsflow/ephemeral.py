"""Start Prefect's temporary API server early, while the CLI is still importing.

Without PREFECT_API_URL, Prefect starts a temporary server (uvicorn in a subprocess) on the first API
call, i.e. after every import is done, and imports the whole server application into our process just
to launch it (~4 s of CPU). Here the CLI launches the same server command first thing, without
importing Prefect, so the server boots on one core while our imports run on the other, and points
PREFECT_API_URL at it. The behaviour is otherwise Prefect's own: same app, same settings, same
database, UI off. Disable with NEWSFLOW_EARLY_SERVER=0.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STARTUP_TIMEOUT_S = 90.0


# Block types are registered with the database at server start: Prefect first imports every installed
# integration (prefect-dask brings in dask.distributed) to find them, ~0.3 s before the server answers.
# newsflow's runs use no blocks; a server started with `prefect server start` still registers them.
_QUICK_START = {"PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
                "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server goes when the CLI goes, even on SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EarlyServer:
    """A temporary Prefect API server started before Prefect is imported."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self, env: dict[str, str] | None = None, export: bool = True) -> None:
        """Launch the server; with `export`, point this process (and its children) at it."""
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            return
        app_dir = Path(spec.origin).parent.parent
        port = _free_port()
        env = {**os.environ, **(env or {}), "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", **_QUICK_START}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.url = f"http://127.0.0.1:{port}/api"
        if export:
            os.environ["PREFECT_API_URL"] = self.url
        atexit.register(self._stop_at_exit)

    def wait(self) -> None:
        """Block until the server answers /health; raise with a clear message if it cannot start."""
        if self.proc is None or self.url is None:
            return
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited with code {self.proc.returncode}; "
                                   "set PREFECT_API_URL to a running server, or NEWSFLOW_EARLY_SERVER=0")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the temporary Prefect server did not start within {STARTUP_TIMEOUT_S:g} s")

    def _stop_at_exit(self) -> None:
        """Ask the server to stop, without waiting: its graceful shutdown (Prefect's services flush what
        they hold; ~0.15-0.3 s) then overlaps this process's exit instead of delaying it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        """Stop the server and wait until it has exited."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _api_configured_in_files() -> bool:
    """Whether a Prefect profile or config file may set the API URL (then Prefect decides, not us)."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    files = [Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml"),
             Path("prefect.toml"), Path(".env"), Path("pyproject.toml")]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "PREFECT_API_URL" in text or "[api]" in text or "tool.prefect" in text:
            return True
    return False


def start_early_server(enabled: bool = True) -> EarlyServer | None:
    """Start the temporary server when Prefect would start one (no PREFECT_API_URL), else None."""
    if not enabled or os.environ.get("PREFECT_API_URL"):
        return None
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").lower() in ("0", "false", "no"):
        return None
    if _api_configured_in_files():
        return None
    server = EarlyServer()
    server.start()
    return server
