"""Scale-out: cleaning batches on a Dask cluster, or in local worker processes, give the same warehouse as
the default runner (threads of the flow's process, each feeding a cleaning process)."""

from __future__ import annotations

import pytest

from ingest_harness import run_ingest, warehouse_contents, write_corpus
from tasks.report import data_docs_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 60)
    # Two inputs that must be quarantined, so the comparison covers the quarantine table too.
    (folder / "empty.html").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text \xff" * 50)
    return folder


def test_dask_cluster_and_worker_processes_load_the_same_warehouse_as_the_default_runner(prefect_server, corpus,
                                                                                       tmp_path):
    distributed = pytest.importorskip("distributed")

    local_db = tmp_path / "local.duckdb"
    run_ingest(prefect_server, corpus, local_db, "--batch-size", "8")
    process_db = tmp_path / "process.duckdb"
    run_ingest(prefect_server, corpus, process_db, "--batch-size", "8", "--task-runner", "process")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_db = tmp_path / "dask.duckdb"
        proc = run_ingest(prefect_server, corpus, dask_db, "--batch-size", "8", "--task-runner", "dask",
                          "--dask-address", cluster.scheduler_address)
        # The scheduler runs in this process: it saw every cleaning batch (62 documents / 8 per batch).
        ran = dict(cluster.scheduler.task_prefixes["clean_batch_task"].state_counts)
    assert ran.get("processing") == 8, ran

    local, dask, process = (warehouse_contents(db) for db in (local_db, dask_db, process_db))
    assert len(local["articles"]) >= 30
    assert len(local["quarantine"]) >= 2
    assert len(local["removed_segments"]) > 0
    for table in ("documents", "articles", "removed_segments", "quarantine"):
        assert dask[table] == local[table], f"{table} differs between the Dask and the default runner"
        assert process[table] == local[table], f"{table} differs between the process and the default runner"
    # The Data Docs show the run's validations whichever runner cleaned (a worker has none to show).
    for db in (local_db, process_db, dask_db):
        assert list(data_docs_path(db).glob("validations/**/*.html")), f"no validation in the Data Docs of {db}"


def test_a_cluster_larger_than_this_machine_gets_a_batch_per_thread(prefect_server, corpus, tmp_path):
    """The flow kept at most two batches per core of the machine it runs on being cleaned: on a
    cluster of other machines most workers stood idle. It counts the cluster's threads now."""
    distributed = pytest.importorskip("distributed")
    from distributed.diagnostics.plugin import SchedulerPlugin

    from newsflow.settings import CORES

    class Busy(SchedulerPlugin):  # the most cleaning tasks the scheduler had out at once
        def __init__(self) -> None:
            self.now = self.most = 0

        def transition(self, key, start, finish, *args, **kwargs) -> None:
            if "clean_batch_task" in str(key):
                self.now += (finish == "processing") - (start == "processing")
                self.most = max(self.most, self.now)

    threads = 2 * CORES + 1  # more than the runs's old limit on this machine
    with distributed.LocalCluster(n_workers=1, threads_per_worker=threads, processes=True,
                                  dashboard_address=None) as cluster:
        busy = Busy()
        cluster.scheduler.add_plugin(busy)
        run_ingest(prefect_server, corpus, tmp_path / "dask.duckdb", "--batch-size", "4", "--task-runner", "dask",
                   "--dask-address", cluster.scheduler_address)
    assert busy.most >= threads, busy.most
