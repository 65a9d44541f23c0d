"""SQL plumbing shared by the tasks: statements loaded by name.

SQL lives in .sql files under warehouse/sql/ and is loaded by name; values go in ? (or $name)
parameters, never into the text. A file may hold several statements, which DuckDB runs in order in
one `execute`; only the last of them may take parameters.
"""

from __future__ import annotations

import re
from functools import cache

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
