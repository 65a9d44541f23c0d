"""Publish: the pipeline writes a working database; analysts read a copy swapped in atomically.

DuckDB allows one writer process or many readers, never both, so a read-only analyst session on the
file a run writes would make the run fail with "Conflicting lock is held". Instead:

- `warehouse/news.work.duckdb` (beside the analyst file): the pipeline's own file; only runs open it.
- `warehouse/news.duckdb` (the `--db` / NEWSFLOW_DB path): the analyst copy. After each successful run
  that changed something (`needs_publish` tells when a copy is still current) the working file is
  checkpointed (no WAL left), copied to a temporary file in the same folder, and renamed onto the
  analyst path with `os.replace` (atomic on POSIX and Windows). A session already open
  keeps reading the old file (its inode) until all its connections close; a database opened after sees the new copy.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from newsflow.settings import work_db_path
from tasks.dbfile import check_duckdb_file, check_warehouse_file


def prepare_work_db(analyst: Path) -> Path:
    """The working database for this analyst path; seeded from the analyst file when it is the only one
    (a warehouse from before the split, so no rows are lost).

    Raises:
        NotAWarehouse: a file at the analyst path is not a newsflow warehouse, which publishing would
            replace (the command line refuses it first; this covers scheduled runs).
    """
    analyst = Path(analyst)
    work = work_db_path(analyst)
    work.parent.mkdir(parents=True, exist_ok=True)
    check_duckdb_file(analyst)
    if not work.exists() and analyst.exists():
        check_warehouse_file(analyst)
        _seed(analyst, work)
    return work


def _seed(analyst: Path, work: Path) -> None:
    """Copy the analyst file to the working path whole or not at all: into a temporary file beside it,
    renamed once complete (a run killed mid-copy left a cut-off working file that every later run
    failed to open). A WAL beside the analyst file (a version that wrote that file itself, killed
    after committing batches) is copied with it and folded in, so those batches are kept."""
    tmp = work.with_name(f".{work.name}.seeding")
    for stale in (tmp, Path(f"{tmp}.wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(analyst, tmp)
    wal = Path(f"{analyst}.wal")
    if wal.exists():
        shutil.copyfile(wal, f"{tmp}.wal")
        checkpoint(tmp)
    with open(tmp, "rb+") as out:
        os.fsync(out.fileno())
    os.replace(tmp, work)
    _fsync_folder(work.parent)


def analyst_holds_runs(analyst: Path, run_ids: set[str]) -> bool:
    """Whether the analyst copy records at least these runs."""
    if not analyst.exists():
        return False
    try:
        con = duckdb.connect(str(analyst), read_only=True)
    except duckdb.Error:  # e.g. locked by a read-write session: publishing replaces it anyway
        return False
    try:
        return run_ids <= {r for (r,) in con.execute("select run_id from runs").fetchall()}
    except duckdb.Error:
        return False
    finally:
        con.close()


# Runs whose effects the analyst copy must hold: all but the completed ones that changed nothing (a
# killed or failed run may have committed batches before it stopped; a quiet change is one the counts
# do not show).
_RUNS_TO_PUBLISH = """
    select run_id from runs
    where not (status = 'completed' and coalesce(articles_new, 1) = 0 and coalesce(articles_updated, 1) = 0
               and coalesce(quarantined, 1) = 0 and not coalesce(quiet_change, false))
"""


def needs_publish(con: duckdb.DuckDBPyConnection, analyst: Path, run_id: str) -> bool:
    """Whether the run `run_id`, recorded in the working db `con` (`finish_run` done), must copy it to
    the analyst path.

    It must when it changed something, or when the analyst copy lacks an earlier run that changed
    something or did not complete (killed before it published, say). Completed runs that changed
    nothing never force a copy: a rerun over unchanged input costs no whole-file copy, however many
    such runs follow each other. Their run records reach the analyst copy with the next publish.
    """
    runs = {r for (r,) in con.execute(_RUNS_TO_PUBLISH).fetchall()}
    return run_id in runs or not analyst_holds_runs(analyst, runs)


def checkpoint(work: Path) -> None:
    """Fold the WAL into the working file so a plain file copy is a complete database."""
    con = duckdb.connect(str(work))
    try:
        con.execute("checkpoint")
    finally:
        con.close()


# A writer's file is rewritten without its free blocks when they are at least half of it and this many
# bytes (DuckDB reuses free blocks but never gives back those in the middle of the file, and they keep
# whatever was stored in them): after a migration moved data out (009: raw pages to the archive). Blocks
# held by needless row groups count as free (`excess_row_group_bytes`).
COMPACT_MIN_FREE_BYTES = 4 << 20
ROW_GROUP_ROWS = 122_880  # DuckDB's row group size: the rows a full group holds


def free_share(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(free bytes, total bytes) of the blocks of the database `con` has open."""
    (block_size, total, free), = con.execute(
        "select block_size, total_blocks, free_blocks from pragma_database_size() "
        "where database_name = current_database()").fetchall()
    return free * block_size, total * block_size


def excess_row_group_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """About how many bytes of the file hold row groups its tables' rows do not need: a block for
    each group beyond ceil(rows / ROW_GROUP_ROWS). DuckDB (1.4) starts a new row group at each append
    to a table with a primary key once the file has been reopened, a few rows in a block of their own:
    every run adds one to each such table it writes, whatever it loads. Rewriting the file packs them."""
    tables = con.execute("select schema_name, table_name from duckdb_tables() "
                         "where database_name = current_database()").fetchall()
    excess = 0
    for schema, table in tables:
        name = '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'
        groups, rows = con.execute(
            "select count(distinct row_group_id), coalesce(sum(count) filter (where column_path = '[0]'), 0) "
            f"from pragma_storage_info('{name.replace(chr(39), chr(39) * 2)}')").fetchone()
        excess += max(0, groups - -(-rows // ROW_GROUP_ROWS))
    (block_size,), = con.execute("select block_size from pragma_database_size() "
                                 "where database_name = current_database()").fetchall()
    return excess * block_size


def worth_compacting(con: duckdb.DuckDBPyConnection) -> bool:
    con.execute("checkpoint")  # blocks freed by the last transactions count only once checkpointed
    free, total = free_share(con)
    if free >= COMPACT_MIN_FREE_BYTES and 2 * free >= total:
        return True
    waste = free + excess_row_group_bytes(con)
    return waste >= COMPACT_MIN_FREE_BYTES and 2 * waste >= total


def compact(path: Path) -> None:
    """Rewrite the DuckDB file at `path` (no connection to it may be open) without its free blocks:
    COPY FROM DATABASE into a new file beside it, table and column comments carried over, then an
    atomic rename. A process killed midway leaves the old file as it was (and a stray
    `.<name>.compacting` that the next compaction replaces)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.compacting")
    for stale in (tmp, Path(f"{tmp}.wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{_quoted(path)}' as old (read_only)")
        con.execute(f"attach '{_quoted(tmp)}' as new")
        con.execute("copy from database old to new")
        for statement in _comments(con, "old", "new"):
            con.execute(statement)
        con.execute("detach new")
    finally:
        con.close()
    with open(tmp, "rb+") as out:
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _comments(con: duckdb.DuckDBPyConnection, source: str, target: str) -> list[str]:
    """COMMENT ON statements giving `target` the table, view and column comments of `source` (COPY FROM
    DATABASE leaves them out)."""
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    out = []
    for kind, view in (("table", "duckdb_tables"), ("view", "duckdb_views")):
        for schema, name, comment in con.execute(
                f"select schema_name, {kind}_name, comment from {view}() where database_name = ? "
                "and comment is not null and not internal", [source]).fetchall():
            out.append(f'comment on {kind} {target}."{schema}"."{name}" is {literal(comment)}')
    for schema, table, column, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = ? and comment is not null and not internal", [source]).fetchall():
        out.append(f'comment on column {target}."{schema}"."{table}"."{column}" is {literal(comment)}')
    return out


STALE_S = 3600  # a temporary copy untouched this long was left by a process killed before its rename


def clear_stale(folder: Path, prefix: str, suffix: str) -> None:
    """Delete the temporary copies (`prefix*suffix`) a killed publish or report left in `folder`: each
    can be a whole warehouse. One being written is newer than STALE_S."""
    cutoff = time.time() - STALE_S
    for path in folder.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # gone already, or not ours to delete
            pass


def replace_keeping_mode(tmp: Path | str, target: Path) -> None:
    """Rename `tmp` onto `target` with the mode and group `target` has (who may read the analyst copy
    or the report is the operator's choice: a 600 file stays 600, a team's group keeps it), or for a
    new file the mode the umask gives (mkstemp makes 600)."""
    try:
        old = target.stat()
        mode, group = old.st_mode & 0o777, old.st_gid
    except OSError:
        mode, group = 0o666 & ~_umask(), None
    os.chmod(tmp, mode)
    if group is not None and group != os.stat(tmp).st_gid:
        try:
            os.chown(tmp, -1, group)
        except OSError:  # not a member of that group
            pass
    os.replace(tmp, target)


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would change it for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        return 0o022


def publish(work: Path, analyst: Path) -> Path:
    """Checkpoint `work` and atomically replace `analyst` with a copy of it.

    Args:
        work: The working database (no other connection to it may be open in this process).
        analyst: The analyst path to publish to.

    Returns:
        The analyst path.
    """
    work, analyst = Path(work), Path(analyst)
    checkpoint(work)
    if Path(f"{work}.wal").exists():
        raise RuntimeError(f"{work}.wal still exists after CHECKPOINT; another process has the working db open")
    clear_stale(analyst.parent, f".{analyst.name}.", ".publishing")
    fd, tmp = tempfile.mkstemp(prefix=f".{analyst.name}.", suffix=".publishing", dir=analyst.parent)
    try:
        os.close(fd)
        shutil.copyfile(work, tmp)  # in the kernel (sendfile / copy_file_range) where the OS offers it
        with open(tmp, "rb+") as out:
            os.fsync(out.fileno())
        # A WAL left beside the analyst path belongs to the old file (someone opened it read-write); it
        # must not be replayed onto the new copy.
        stale_wal = Path(f"{analyst}.wal")
        if stale_wal.exists():
            stale_wal.unlink()
        replace_keeping_mode(tmp, analyst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return analyst
