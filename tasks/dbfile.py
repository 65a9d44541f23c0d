"""What a --db path holds: nothing yet, a newsflow warehouse, or a file newsflow must not touch.

Runs swap their analyst copy onto the --db path (tasks/publish.py), so a run given the path of
someone's other DuckDB database, or of a text file, would replace it. A newsflow warehouse is a DuckDB
file (the bytes `DUCK` at offset 8 of its header) with a `schema_migrations` table: every analyst
copy has one (tasks/load.py: migrate). The header check reads 12 bytes and imports no DuckDB, so the
command line runs it before anything else; the table check opens the file read-only (~10 ms).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

MAGIC = b"DUCK"
MAGIC_OFFSET = 8


class NotAWarehouse(Exception):
    """The file at a --db path is not a newsflow warehouse; the message says what it is."""


def check_duckdb_file(path: Path) -> None:
    """Nothing when `path` does not exist or starts as a DuckDB database file does.

    Raises:
        NotAWarehouse: it is a folder, an empty file, or a file of another kind.
    """
    path = Path(path)
    if not path.exists():
        return
    if path.is_dir():
        raise NotAWarehouse(f"{path} is a folder, not a DuckDB database file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAGIC_OFFSET + len(MAGIC))
    except OSError as exc:
        raise NotAWarehouse(f"{path} cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise NotAWarehouse(f"{path} is an empty file, not a DuckDB database file")
    if head[MAGIC_OFFSET:] != MAGIC:
        raise NotAWarehouse(f"{path} is not a DuckDB database file")


def check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Nothing when the database `con` has open (the file at `path`) is a newsflow warehouse.

    Raises:
        NotAWarehouse: it has no `schema_migrations` table.
    """
    import duckdb

    try:
        con.execute("select 1 from schema_migrations limit 1").fetchall()  # ~1 ms; the catalog views ~7
    except duckdb.CatalogException:
        raise NotAWarehouse(f"{path} is a DuckDB database but not a newsflow warehouse (it has no "
                            "schema_migrations table)") from None


def open_warehouse_file(path: Path) -> duckdb.DuckDBPyConnection:
    """The newsflow warehouse at `path` (which exists), opened read-only.

    Raises:
        NotAWarehouse: the file is not a newsflow warehouse.
        duckdb.Error: DuckDB cannot open it (a writer holds its lock, say).
    """
    import duckdb

    check_duckdb_file(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        check_tables(con, path)
    except BaseException:
        con.close()
        raise
    return con


def check_warehouse_file(path: Path) -> None:
    """Nothing when `path` does not exist or is a newsflow warehouse: what a run may write. A DuckDB
    file that cannot be opened now (a session holds it read-write) is let through, as publishing
    replaces the analyst copy whoever reads it.

    Raises:
        NotAWarehouse: the file is something else.
    """
    import duckdb

    path = Path(path)
    if not path.exists():
        return
    try:
        open_warehouse_file(path).close()
    except duckdb.Error:
        pass
