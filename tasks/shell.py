"""`newsflow sql`: the DuckDB CLI on the analyst copy, read-only, with full-text search loaded.

The CLI is the `duckdb` program of the duckdb-cli wheel, pinned to the project's duckdb version (the
file format and the offline extensions in the duckdb-ext-* wheels are per version). It gets:
`-readonly` (a session never blocks a run's publish, and cannot change the copy), and, before the
prompt or the `-c` statement, `set extension_directory` to the duckdb-ext wheels' folder and
`load fts`, so `fts_main_articles.match_bm25(...)` works offline. The views live in the file.
On a DuckDB file, external access is then switched off (it cannot be switched on again in the
session): `-readonly` covers only the file opened, and `attach '<file>' (read_only false)` would write
any other database file, the working warehouse too. DuckDB has no setting that refuses ATTACH alone,
so COPY TO a file goes with it; rows still leave through /dev/stdout (the one path allowed) and the
CLI's `.once` / `.output`.
On a lake, a `password=` in the setting goes to the CLI as PGPASSWORD, not in its argv.
The folder is passed through the environment and read with the CLI's getenv(), so no path is ever
spliced into SQL text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from newsflow.settings import is_lake_url, masked, password_apart
from tasks.lake_sql import ALIAS, attach_sql
from tasks.search import extension_directory

EXTENSIONS_VARIABLE = "NEWSFLOW_DUCKDB_EXTENSIONS"
EXPORT_PATH = "/dev/stdout"  # the one file a session on a DuckDB file may write: `copy (...) to '/dev/stdout'`
INSTALL_HINT = "pip install -c constraints.txt duckdb-cli (the DuckDB CLI for the project's duckdb version)"


class ShellUnavailable(RuntimeError):
    """No DuckDB CLI of the right version is installed."""


def duckdb_cli() -> Path:
    """The `duckdb` program installed beside this Python (the venv's bin), else the one on PATH.

    Raises:
        ShellUnavailable: none is installed.
    """
    beside = Path(sys.executable).with_name("duckdb")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("duckdb")
    if found:
        return Path(found)
    raise ShellUnavailable(f"the DuckDB CLI is not installed; {INSTALL_HINT}")


def cli_version(cli: Path) -> str:
    """'v1.4.4' from `duckdb -version` ('' when it does not answer)."""
    try:
        out = subprocess.run([str(cli), "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.split()[0] if out.split() else ""


def check_version(cli: Path) -> None:
    """Refuse a CLI of another duckdb version than the Python binding's: the extensions would not
    load and the file format may differ.

    Raises:
        ShellUnavailable: the versions differ.
    """
    import duckdb

    found, wanted = cli_version(cli), f"v{duckdb.__version__}"
    if found != wanted:
        raise ShellUnavailable(f"{cli} is DuckDB {found or '(unknown version)'}, the warehouse needs {wanted}; "
                               f"{INSTALL_HINT}")


def startup_commands(search: bool, lake: str | None = None) -> list[str]:
    """What the CLI runs before anything else: the offline extensions' folder and fts; on a lake, the
    lake attached read-only as `lake` and made the default (the one line analysts need); on a file, no
    file access but writing to standard output, so no statement can attach a database file to write."""
    lines = [f"set extension_directory = getenv('{EXTENSIONS_VARIABLE}')", "load fts"] if search else []
    if lake:
        lines += ["set autoinstall_known_extensions = false", attach_sql(lake, read_only=True), f"use {ALIAS}"]
    else:
        lines += [f"set allowed_paths = ['{EXPORT_PATH}']", "set enable_external_access = false"]
    return lines


def shell_command(db: Path | str, command: str | None = None,
                  cli: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that open the shell on `db` (or run `command` and exit); `db` may be
    a lake's `ducklake:...` URL.

    Raises:
        ShellUnavailable: no DuckDB CLI of the project's version.
    """
    cli = cli or duckdb_cli()
    check_version(cli)
    folder = extension_directory()
    env = dict(os.environ)
    if folder is not None:
        env[EXTENSIONS_VARIABLE] = str(folder)
    lake = str(db) if is_lake_url(str(db)) else None
    if lake:
        lake, password = password_apart(lake)  # not in argv, which `ps` shows every user
        if password is not None:
            env["PGPASSWORD"] = password
    argv = [str(cli)] if lake else [str(cli), "-readonly"]
    for line in startup_commands(folder is not None, lake):
        argv += ["-cmd", line]
    if not lake:
        argv.append(str(db))
    if command is not None:
        argv += ["-c", command]
    return argv, env


def greeting(db: Path | str, search: bool) -> str:
    """What the interactive shell prints first: where it is and what to try."""
    where = (f"the lake {masked(str(db))} attached read-only as `lake` (every query sees "
             "the latest snapshot; `from articles at (version => N)` an older one)") if is_lake_url(str(db)) else (
             f"{db} (read-only; runs publish a new copy: quit and start again to see it)")
    export = ("" if is_lake_url(str(db)) else
              "Export: .once rows.csv (after .mode csv) before a query, or copy (...) to '/dev/stdout'; no other "
              "file is read or written, and ATTACH is refused.")
    lines = [f"newsflow sql: DuckDB on {where}.",
             "Views: v_articles, v_story_coverage, v_entity_mentions, v_daily_volume; .tables lists all, "
             "warehouse/queries/ has examples.",
             "Search: `newsflow search` (the fts extension cannot index a lake table)." if is_lake_url(str(db)) else
             "Search: select title, fts_main_articles.match_bm25(article_id, 'armored train') as score "
             "from v_articles order by score desc nulls last limit 5;" if search else
             "Search: unavailable (pip install duckdb-ext-fts).",
             export, ".quit or Ctrl-D leaves."]
    return "\n".join(line for line in lines if line)
