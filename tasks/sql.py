"""SQL plumbing shared by the tasks: statements loaded by name, transactions, Arrow tables as views.

SQL lives in .sql files under warehouse/sql/ and is loaded by name; values go in ? (or $name)
parameters, never into the text. A file may hold several statements, which DuckDB runs in order in
one `execute`; only the last of them may take parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import duckdb
import pyarrow as pa

from newsflow.settings import WAREHOUSE_DIR

SQL_DIR = WAREHOUSE_DIR / "sql"
_NAME = re.compile(r"[a-z0-9_]+")


@cache
def statement(name: str) -> str:
    """The text of warehouse/sql/<name>.sql, read once per process.

    `name` is a plain file stem (lower-case letters, digits, underscores), never a path."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a statement name: {name!r} (expected the stem of a file in {SQL_DIR})")
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one explicit transaction: commit when it ends; when it (or the commit) raises
    an Exception, roll back and re-raise, so a failure leaves none of the block's writes behind."""
    con.execute("begin")
    try:
        yield con
        con.execute("commit")
    except Exception:
        try:
            con.execute("rollback")
        except duckdb.TransactionException:  # a failed COMMIT has rolled back already
            pass
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    """Register Arrow tables as views under the given names for the block, and unregister them after
    (also on errors): a cursor or connection outlives the batch whose rows the views expose."""
    names: list[str] = []
    try:
        for name, table in tables.items():
            con.register(name, table)
            names.append(name)
        yield con
    finally:
        for name in names:
            con.unregister(name)
