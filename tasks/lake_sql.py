"""The lake's SQL, derived mechanically from the file backend's: one source for both.

DuckLake has no PRIMARY KEY, UNIQUE or ON CONFLICT. So, for the lake:

- migrations (warehouse/migrations/*.sql) lose their key constraints (`lake_migration`), and the keys
  they declared are read from the same text (`primary_keys`); views (warehouse/views/*.sql) lose the
  comments on their columns, which DuckLake cannot store (`lake_view`);
- `insert [or replace] into T ... [on conflict [(k)] do nothing | do update set ...]`, wherever it is
  written (warehouse/sql/*.sql or a statement in tasks/), becomes `merge into T using (...) as excluded
  on <T's key> when matched then update ... when not matched then insert ...` (`upsert_as_merge`):
  `excluded.c` and `T.c` mean in the MERGE what they meant in the upsert.

Pure functions on text: tasks/lake.py applies them to every statement a lake connection runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

ALIAS = "lake"  # what the lake is attached as, in writers' and analysts' sessions alike
_TABLE = re.compile(r"create\s+table\s+if\s+not\s+exists\s+(\w+)\s*\((.*?)\n\)\s*;", re.S | re.I)
_TABLE_KEY = re.compile(r",\s*primary\s+key\s*\(([^)]*)\)", re.I)
_COLUMN_KEY = re.compile(r"^\s*(\w+)\s+[^,\n]*?\bprimary\s+key\b", re.I | re.M)
_UPSERT = re.compile(
    r"^\s*insert\s+(?P<replace>or\s+replace\s+)?into\s+(?P<table>\w+)\s*(?P<byname>by\s+name\s+)?"
    r"(?:\((?P<columns>[^)]*)\)\s*)?(?P<source>.*?)"
    r"(?:\s+on\s+conflict\s*(?:\((?P<target>[^)]*)\))?\s*do\s+(?:(?P<nothing>nothing)|update\s+set\s+(?P<sets>.*?)))?"
    r"\s*;?\s*$", re.S | re.I)
_COMMENT_LINE = re.compile(r"^\s*--[^\n]*\n", re.M)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_sql(url: str, data_path: str | None = None, read_only: bool = False, create: bool = True) -> str:
    """`attach '<url>' as lake (data_path '...', read_only)`: ATTACH takes no parameters, so the values
    are quoted as SQL literals here, in one place. Without `create`, a catalog with no lake in it fails
    the attach instead of getting a new, empty lake."""
    options = ([f"data_path {_literal(data_path)}"] if data_path else []) + (["read_only"] if read_only else [])
    if not create:
        options.append("create_if_not_exists false")
    return f"attach {_literal(url)} as {ALIAS}" + (f" ({', '.join(options)})" if options else "")


def s3_secret_sql(env: Mapping[str, str]) -> str | None:
    """`create secret` for an s3:// data path from the standard AWS variables (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION, and
    AWS_ENDPOINT_URL for an S3-compatible store), or None when no key is set. Values are quoted as
    SQL literals (CREATE SECRET takes no parameters)."""
    if not env.get("AWS_ACCESS_KEY_ID") or not env.get("AWS_SECRET_ACCESS_KEY"):
        return None
    options = [f"key_id {_literal(env['AWS_ACCESS_KEY_ID'])}", f"secret {_literal(env['AWS_SECRET_ACCESS_KEY'])}"]
    if env.get("AWS_SESSION_TOKEN"):
        options.append(f"session_token {_literal(env['AWS_SESSION_TOKEN'])}")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options.append(f"region {_literal(region)}")
    if env.get("AWS_ENDPOINT_URL"):
        endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
        options += [f"endpoint {_literal(endpoint.netloc)}", "url_style 'path'",
                    f"use_ssl {'true' if endpoint.scheme == 'https' else 'false'}"]
    return f"create or replace secret newsflow_s3 (type s3, {', '.join(options)})"


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def primary_keys(migrations: Iterable[str]) -> dict[str, list[str]]:
    """Table -> key columns, as the migrations declare them (column `primary key` or a table's
    `primary key (a, b)`)."""
    keys: dict[str, list[str]] = {}
    for text in migrations:
        for table, body in _TABLE.findall(text):
            found = _TABLE_KEY.search(body)
            keys[table] = _names(found.group(1)) if found else _COLUMN_KEY.findall(body)[:1]
    return {t: k for t, k in keys.items() if k}


def lake_migration(text: str) -> str:
    """A migration's text for DuckLake: the same statements without key constraints."""
    text = _TABLE_KEY.sub("", text)
    return re.sub(r"\s+(primary\s+key|unique)\b", "", text, flags=re.I)


_COLUMN_COMMENT = re.compile(r"comment\s+on\s+column\s+[\w.]+\s+is\s+'(?:[^']|'')*'\s*;", re.I)


def lake_view(text: str) -> str:
    """A view file's text for DuckLake, which keeps comments on tables and views but not on a view's
    columns: the same view and its comment."""
    return _COLUMN_COMMENT.sub("", text)


def is_upsert(sql: str) -> bool:
    """Whether `sql` needs `upsert_as_merge` on the lake (cheap test, before any parsing)."""
    lowered = sql.lower()
    return "on conflict" in lowered or "insert or replace" in lowered


def upsert_as_merge(sql: str, columns: list[str], key: list[str]) -> str:
    """The MERGE that does on the lake what the upsert `sql` does on a DuckDB file.

    Args:
        sql: One `insert [or replace] into T [by name] [(cols)] <select or values> [on conflict ...]`.
        columns: T's columns in order (those an insert without a column list fills).
        key: T's key columns (`primary_keys`), used when the upsert names no conflict target.

    Raises:
        ValueError: `sql` is not an upsert of this form.
    """
    m = _UPSERT.match(_COMMENT_LINE.sub("", sql))
    if m is None or not (m.group("replace") or m.group("nothing") or m.group("sets")):
        raise ValueError(f"not an upsert the lake can express as MERGE: {sql[:200]}")
    table = m.group("table")
    target = _names(m.group("target") or "") or key
    if not target:
        raise ValueError(f"table {table} has no key in warehouse/migrations: cannot upsert into it on the lake")
    source = m.group("source").strip()
    if m.group("byname"):
        using, cols = f"({source}) as excluded", None
    else:
        cols = _names(m.group("columns") or "") or columns
        using = f"(select * from ({source}) as excluded({', '.join(cols)})) as excluded"
    on = " and ".join(f"{table}.{k} = excluded.{k}" for k in target)
    sets = m.group("sets")
    if m.group("replace"):
        sets = ", ".join(f"{c} = excluded.{c}" for c in (cols or columns) if c not in target)
    matched = f" when matched then update set {sets}" if sets else ""
    insert = ("insert by name" if cols is None else
              f"insert ({', '.join(cols)}) values ({', '.join('excluded.' + c for c in cols)})")
    return f"merge into {table} using {using} on ({on}){matched} when not matched then {insert}"
