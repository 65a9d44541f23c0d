"""Shared fixtures. Prefect runs in ephemeral mode with its state in a temp folder per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports prefect: isolated state, no telemetry (avoids 'database is locked').
_PREFECT_HOME = tempfile.mkdtemp(prefix="newsflow-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("NEWSFLOW_DB", None)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
SHARED = REPO.parent / "shared"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "news.duckdb"


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One real Prefect API server for the tests that run ingest as a subprocess against it."""
    from ingest_harness import PrefectServer

    with PrefectServer(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server
