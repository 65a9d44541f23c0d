"""A throwaway PostgreSQL cluster for the lake tests and bench/lake_bench.py: initdb in a temporary
folder, a server on 127.0.0.1 at a free port, stopped (and its folder removed) at the end.

The server binaries are found on PATH, else in Debian's /usr/lib/postgresql/<version>/bin; `.ci/run`
installs Debian's `postgresql` package where neither has them. initdb refuses to run as root, so as
root the cluster belongs to the `postgres` user (created by that package).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

DATABASE = "newsflow_lake"


def server_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when this machine has no PostgreSQL server."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """`with PostgresCluster() as pg:` a running server; `pg.dsn` names its database for DuckDB's
    postgres extension (`ducklake:postgres:<dsn>`), `pg.url` for SQLAlchemy (Prefect's server)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin = bin_dir or server_bin_dir()
        if self.bin is None:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                                    "/usr/lib/postgresql/*/bin; apt-get install -y postgresql")
        self.root = Path(tempfile.mkdtemp(prefix="newsflow-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)

    def __enter__(self) -> PostgresCluster:
        if self.user:
            shutil.chown(self.root, self.user)
        os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200", "start")
        try:
            self.create_database(DATABASE)
        except BaseException:
            self.__exit__()
            raise
        return self

    def create_database(self, name: str) -> str:
        """A new empty database on this server; returns its DuckDB connection string. Through asyncpg
        (Prefect's PostgreSQL driver): the machine may have no psql, and DuckDB's postgres extension
        runs every statement in a transaction, where CREATE DATABASE is refused."""
        import asyncio

        import asyncpg

        async def create() -> None:
            con = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
            try:
                await con.execute(f'create database "{name}"')
            finally:
                await con.close()

        asyncio.run(create())
        return self.dsn_for(name)

    def create_role(self, name: str, password: str | None = None, grant_on: str | None = None) -> None:
        """A login role; with `password`, one the server asks it for (scram-sha-256 over TCP, every other
        role keeping trust); with `grant_on`, SELECT on the tables of that database (an analyst's grants)."""
        import asyncio

        import asyncpg

        async def create() -> None:
            con = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
            try:
                await con.execute(f'create role "{name}" login' + (f" password '{password}'" if password else ""))
            finally:
                await con.close()
            if grant_on:
                con = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database=grant_on)
                try:
                    await con.execute(f'grant select on all tables in schema public to "{name}"')
                finally:
                    await con.close()

        asyncio.run(create())
        if password:
            hba = self.data / "pg_hba.conf"
            hba.write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
            self._run("pg_ctl", "-D", str(self.data), "reload")  # a signal: wait until the server asks
            asyncio.run(self._until_refused(name))

    async def _until_refused(self, role: str) -> None:
        import asyncio

        import asyncpg

        for _ in range(200):
            try:
                con = await asyncpg.connect(host="127.0.0.1", port=self.port, user=role, database="postgres",
                                            password="not-" + role)
            except asyncpg.InvalidPasswordError:
                return
            await con.close()
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the server still trusts {role} 10 s after pg_ctl reload")

    def dsn_for(self, database: str) -> str:
        return f"dbname={database} host=127.0.0.1 port={self.port} user=postgres"

    @property
    def dsn(self) -> str:
        return self.dsn_for(DATABASE)

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def __exit__(self, *exc) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
