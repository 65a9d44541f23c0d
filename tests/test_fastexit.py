"""newsflow.fastexit: the exit status, buffered output and later exit handlers survive the fast exit."""

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(body: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent("""
        import atexit, sys
        from newsflow import fastexit
        fastexit.install()
        atexit.register(lambda: print("later handler ran", file=sys.stderr))
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_status_and_buffered_output_are_kept():
    proc = run("""
        print("buffered, no newline", end="")  # stdout is a pipe: block-buffered until flushed
        fastexit.set_status(3)
    """)
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"
    assert "later handler ran" in proc.stderr


def test_system_exit_codes_map_like_python():
    assert run("fastexit.set_status(None)").returncode == 0
    assert run("fastexit.set_status('a message')").returncode == 1


def test_uncaught_exception_exits_1_with_its_traceback():
    proc = run("raise ValueError('boom')")
    assert proc.returncode == 1
    assert "ValueError: boom" in proc.stderr and "later handler ran" in proc.stderr


def test_cli_exit_status_survives(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", str(tmp_path / "missing"),
                           "--db", str(tmp_path / "w.duckdb")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr
