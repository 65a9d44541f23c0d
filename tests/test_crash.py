"""Crash safety: SIGKILL the whole ingest process group at random moments, then rerun.

After every kill the warehouse opens, holds no partial batch and no duplicate, and every row it holds
is exactly the row an uninterrupted run writes; a final rerun then ends identical to that run.
Kill moments come from a seeded RNG and three triggers: a random delay after start (often during
start-up or cleaning), just after a batch was logged as loaded, and just after a batch's validation
finished, i.e. while its load task runs.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import duckdb
import pytest

from ingest_harness import PrefectServer, flow_run_state, ingest_cmd, run_ingest, warehouse_contents, write_corpus
from newsflow.settings import REPO_ROOT, work_db_path

pytestmark = pytest.mark.slow

BATCH = "5"
KILLS = 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 60, seed=11)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.html").write_bytes(b"\x00\xff" * 100)
    return folder


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_and_kill(server: PrefectServer, corpus, db, rng: random.Random, trial: int, run_seconds: float) -> str:
    """Start `newsflow ingest`, SIGKILL its process group at a random moment; say when it was killed."""
    # A checkpoint (and a reopen of the working db) after every batch, so kills also land in those.
    proc = subprocess.Popen(ingest_cmd(corpus, db, "--batch-size", BATCH),
                            env=server.env(NEWSFLOW_WAREHOUSE_CHECKPOINT_BYTES="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    mode = trial % 3
    if mode == 0:
        deadline, marker, nth, pause = time.monotonic() + rng.uniform(0.1, 0.9) * run_seconds, None, 0, 0.0
    elif mode == 1:
        deadline, marker, nth, pause = time.monotonic() + 120, "- batch", rng.randint(1, 4), rng.uniform(0, 0.5)
    else:
        deadline, marker, nth, pause = time.monotonic() + 120, "validate-batch", rng.randint(1, 4), rng.uniform(0, 0.05)
    seen = 0
    last = ""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            continue
        if line is None:  # the run finished before the trigger
            proc.wait()
            return "finished"
        last = line
        if marker and marker in line and ("Finished" in line or marker == "- batch"):
            seen += 1
            if seen == nth:
                time.sleep(pause)
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if mode == 2:
        return "during load" if "validate-batch" in last else "after a load"
    return "at a random moment" if mode == 0 else "after a batch"


def check_consistent(db, expected: dict[str, list[tuple]]) -> int:
    """Both files open (replaying a WAL) and hold only whole batches, exactly as the reference: the
    working db the run writes batch by batch, and the analyst copy published after a complete run."""
    if db.exists():
        check_file(db, expected)
    work = work_db_path(db)
    return check_file(work, expected) if work.exists() else 0


def check_file(db, expected: dict[str, list[tuple]]) -> int:
    con = duckdb.connect(str(db))  # read-write: replays the WAL like the next run would
    con.close()
    got = warehouse_contents(db)
    for table in ("documents", "articles", "quarantine"):
        assert len(set(got[table])) == len(got[table]), f"duplicate rows in {table}"
    ids = [row[0] for row in got["articles"]]
    assert len(ids) == len(set(ids)), "duplicate article"
    ref_articles = {row[0]: row for row in expected["articles"]}
    ref_segments: dict[str, set] = defaultdict(set)
    for row in expected["removed_segments"]:
        ref_segments[row[0]].add(row)
    segments: dict[str, set] = defaultdict(set)
    for row in got["removed_segments"]:
        segments[row[0]].add(row)
    for row in got["articles"]:
        assert row == ref_articles[row[0]], "an article differs from the uninterrupted run"
        assert segments[row[0]] == ref_segments[row[0]], "an article's removed segments are incomplete"
    assert set(segments) <= {row[0] for row in got["articles"]}, "removed segments without their article"
    assert set(got["quarantine"]) <= set(expected["quarantine"])
    assert all(ok for _, ok in got["archived"]), "a document points at a partial or wrong archive record"
    # A batch is one transaction: each received document became an article or a quarantine row with it.
    document_ids = {row[0] for row in got["documents"]}
    outcome_ids = {row[1] for row in got["articles"]} | {row[0] for row in got["quarantine"]}
    assert document_ids == outcome_ids, "a document without its article or quarantine row: partial batch"
    # Each batch adds its counts to its run in its own transaction: killed runs show what they loaded.
    con = duckdb.connect(str(db), read_only=True)
    new_in_runs = con.execute("select coalesce(sum(articles_new), 0) from runs").fetchone()[0]
    con.close()
    assert new_in_runs == len(ids), "the runs' new articles do not add up to the articles stored"
    return len(document_ids)


def test_sigkill_at_random_moments_then_rerun_ends_identical(prefect_server, corpus, tmp_path):
    reference = tmp_path / "reference.duckdb"
    started = time.monotonic()
    run_ingest(prefect_server, corpus, reference, "--batch-size", BATCH)
    run_seconds = time.monotonic() - started
    expected = warehouse_contents(reference)
    assert len(expected["documents"]) == 62 and len(expected["quarantine"]) >= 2

    rng = random.Random(20240611)
    outcomes: list[tuple[str, int]] = []
    kills = attempts = on_this = 0
    db = tmp_path / "crashed-0.duckdb"
    while kills < KILLS and attempts < 3 * KILLS:
        when = run_and_kill(prefect_server, corpus, db, rng, attempts, run_seconds)
        attempts += 1
        outcomes.append((when, check_consistent(db, expected)))
        if when == "finished":  # nothing left to interrupt here: start again on a fresh warehouse
            assert warehouse_contents(db) == expected
            db = tmp_path / f"crashed-{attempts}.duckdb"
            on_this = 0
            continue
        kills += 1
        on_this += 1
        if on_this == KILLS // 2 or kills == KILLS:
            rerun_and_compare(prefect_server, corpus, db, expected, on_this)
            db = tmp_path / f"crashed-{attempts}.duckdb"
            on_this = 0
    print("kills:", outcomes)
    assert kills >= KILLS


def rerun_and_compare(server: PrefectServer, corpus, db, expected, killed: int) -> None:
    run_ingest(server, corpus, db, "--batch-size", BATCH)
    assert warehouse_contents(db) == expected, "after the rerun the warehouse differs from an uninterrupted run"
    assert warehouse_contents(work_db_path(db)) == expected
    con = duckdb.connect(str(work_db_path(db)), read_only=True)
    runs = con.execute("select status, flow_run_id from runs order by started_at").fetchall()
    con.close()
    statuses = [s for s, _f in runs]
    assert statuses[-1] == "completed"
    # The run that marked a killed run interrupted set its Prefect flow run Crashed first.
    assert [flow_run_state(server, f) for s, f in runs if s == "interrupted"] == ["CRASHED"] * statuses.count(
        "interrupted")
    # Killed runs that got as far as recording themselves stay visible: as interrupted, or as completed
    # when the kill came after their last write (while publishing the analyst copy).
    assert set(statuses[:-1]) <= {"interrupted", "completed"}
    assert len(statuses) - 1 <= killed


def _as_in_a_terminal() -> None:
    """SIGINT handled by default, as in a terminal: a job a shell script starts in the background (CI's
    may) ignores it, and the ingest would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_run_at_once_records_it_cancelled_and_a_rerun_completes_it(tmp_path, corpus):
    """Ctrl-C (SIGINT to the terminal's process group) reached the temporary Prefect server too, which
    died at once; the run went on without it, printed a traceback per cleaning process, retried the
    API for minutes and ended `failed: ConnectError`, its row in neither `newsflow runs` nor the copy."""
    import psutil

    env = {**PrefectServer(tmp_path / "prefect-home").base_env(), "NEWSFLOW_BATCH_SIZE": BATCH}
    db = tmp_path / "news.duckdb"
    proc = subprocess.Popen(ingest_cmd(corpus, db), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=_as_in_a_terminal)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    output = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # a batch loaded: the run is under way
        line = lines.get(timeout=240)
        assert line is not None, "".join(output)
        output.append(line)
        if "- batch 1:" in line:
            break
    children = psutil.Process(proc.pid).children(recursive=True)  # the Prefect server among them
    os.killpg(proc.pid, signal.SIGINT)
    stopped = time.monotonic()
    assert proc.wait(timeout=60) == 130
    took = time.monotonic() - stopped
    while (line := lines.get(timeout=10)) is not None:
        output.append(line)
    text = "".join(output)
    assert "the ingest run was stopped (Ctrl-C) and recorded cancelled" in text, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text and "ConnectError" not in text, text
    assert took < 30, f"{took:.1f} s to stop\n{text}"
    psutil.wait_procs(children, timeout=20)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    with duckdb.connect(str(db), read_only=True) as con:  # published: what `newsflow runs` reads
        (status, new), = con.execute("select status, articles_new from runs").fetchall()
        assert status == "cancelled" and new >= 1
        assert con.execute("select count(*) from articles").fetchone() == (new,)
    rerun = subprocess.run(ingest_cmd(corpus, db), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    reference = tmp_path / "reference.duckdb"
    subprocess.run(ingest_cmd(corpus, reference), env=env, capture_output=True, text=True, timeout=600, check=True)
    assert warehouse_contents(db) == warehouse_contents(reference)


LOST_CTRL_C = r"""
import gc, os, signal, threading
import duckdb
from tasks.pipeline import ended_status, interrupted, mark_flow_process, stop_if_interrupted

mark_flow_process()


class Finalized:
    def __del__(self):  # Ctrl-C while Python runs a finalizer: the KeyboardInterrupt is "ignored"
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))


Finalized()
gc.collect()
assert interrupted()
try:
    stop_if_interrupted()
except KeyboardInterrupt:
    print("lost one stopped the run")
con = duckdb.connect()
try:  # Ctrl-C during a statement: DuckDB's RuntimeError("Query interrupted"), not KeyboardInterrupt
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    con.execute("select count(*) from range(10000000000) a")
except RuntimeError as exc:
    print("duckdb", ended_status(exc, None))
"""


def test_a_ctrl_c_python_or_duckdb_swallows_still_stops_the_run_as_cancelled(tmp_path):
    """A Ctrl-C that landed in a finalizer ("Exception ignored in ... KeyboardInterrupt") was lost, and
    the run went on to `completed`; one during a DuckDB statement became DuckDB's "Query interrupted",
    so the run ended `failed` (exit 1), or went on where the statement was retried."""
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'tests'}"}
    proc = subprocess.run([sys.executable, "-c", LOST_CTRL_C], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path, preexec_fn=_as_in_a_terminal)
    assert proc.stdout.split("\n")[:2] == ["lost one stopped the run", "duckdb cancelled"], proc.stdout + proc.stderr
