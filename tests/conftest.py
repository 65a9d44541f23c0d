"""Shared fixtures. Prefect runs in ephemeral mode with its state in a temp folder per session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Before anything imports prefect: isolated state, no telemetry (avoids 'database is locked').
# Removed at exit, after Prefect's own exit handlers (registered later, run earlier) stop its server.
_PREFECT_HOME = tempfile.mkdtemp(prefix="newsflow-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The first in-process flow starts Prefect's temporary server on a home without a database: every
# Alembic migration runs first, which took over Prefect's default 20 s on a slow machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
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


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session (tests/postgres_harness.py). Skipped
    where no server binaries exist, except under CI=true, where that is a failure (.ci/run installs them)."""
    from postgres_harness import PostgresCluster, server_bin_dir

    if server_bin_dir() is None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("CI=true but no PostgreSQL server binaries (initdb, pg_ctl) were found: "
                        ".ci/run installs Debian's postgresql package")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); apt-get install -y postgresql")
    with PostgresCluster() as pg:
        yield pg


@pytest.fixture
def lake(postgres, tmp_path, request) -> dict[str, str]:
    """A new empty lake: its own PostgreSQL database and data folder. The NEWSFLOW_* variables naming it."""
    import re

    name = "lake_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    dsn = postgres.create_database(name)
    return {"NEWSFLOW_WAREHOUSE": f"ducklake:postgres:{dsn}",
            "NEWSFLOW_LAKE_DATA_PATH": str(tmp_path / "lake-data") + "/"}
