"""`newsflow serve` seen through the Prefect UI in a real headless Chromium (Debian's /usr/bin/chromium).

Starts `prefect server start` on a free port (PREFECT_HOME in tmp), runs `newsflow serve` against it
with a config holding the bundled samples and a feed on a local HTTP server, triggers a run of the
feed deployment through the API, waits for it to complete, then opens the UI in Chromium and finds
the deployment, the completed run and its markdown artifact, whose link opens the news report that
`newsflow serve` serves over HTTP. Screenshots go to tmp (and to
$NEWSFLOW_UI_SCREENSHOTS when set, for CI to keep).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from flows.serve import start_server, stop_server
from newsflow.settings import SAMPLES_DIR
from webserver import LocalServer

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium); CI installs it"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, interval: float = 1.0, proc: subprocess.Popen | None = None,
              log: Path | None = None):
    """Poll check() until it returns something truthy; fail with the log tail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(interval)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A Prefect server, a local news site and `newsflow serve`, torn down in reverse order."""
    tmp = tmp_path_factory.mktemp("ui")
    env = {"PREFECT_HOME": str(tmp / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"}  # the server's scheduler: every 60 s by default
    server, api = start_server(free_port(), tmp / "server.log", env=env)
    site = LocalServer().__enter__()
    config = tmp / "newsflow.toml"
    config.write_text(f"""
[fetch]
allowed_hosts = ["127.0.0.1"]
min_host_interval = 0

[[sources]]
name = "samples"
kind = "files"
location = "{SAMPLES_DIR}"
interval = "1h"

[[sources]]
name = "local-feed"
kind = "feed"
location = "{site.url('/feed.xml')}"
cron = "*/30 * * * *"

[[sources]]
name = "slow-page"
kind = "urls"
location = "{site.url('/slow')}"
""", encoding="utf-8")
    report_port = free_port()
    serve_log = tmp / "serve.log"
    serve_env = {**os.environ, **env, "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api}
    newsflow = Path(sys.executable).with_name("newsflow")
    with serve_log.open("wb") as log:
        serving = subprocess.Popen([str(newsflow), "serve", "--config", str(config), "--db", str(tmp / "news.duckdb"),
                                    "--report-port", str(report_port)],
                                   stdout=log, stderr=subprocess.STDOUT, env=serve_env, stdin=subprocess.DEVNULL)
    try:
        yield {"api": api, "ui": api.removesuffix("/api"), "tmp": tmp, "serve_log": serve_log, "serving": serving,
               "files": f"http://127.0.0.1:{report_port}", "site": site}
    finally:
        serving.terminate()
        try:
            serving.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serving.kill()
        site.__exit__(None, None, None)
        stop_server(server)


def api_post(api: str, path: str, body: dict) -> object:
    """POST to the Prefect API; a 503 (SQLite busy while `serve` registers deployments) is retried."""
    for _ in range(10):
        response = httpx.post(f"{api}{path}", json=body, timeout=10, trust_env=False)
        if response.status_code != 503:
            break
        time.sleep(1)
    response.raise_for_status()
    return response.json()


def test_served_deployments_get_their_scheduled_runs(stack):
    """The server's scheduler creates each served deployment's next runs. With SQLAlchemy 2.1 under
    Prefect 3.8 it failed on every pass ("Can't evaluate bulk DML statement"): deployments showed
    their schedules and never ran."""
    api = stack["api"]

    def deployments():
        found = {d["name"]: d["id"] for d in api_post(api, "/deployments/filter", {})}
        return {n: found[n] for n in ("samples", "local-feed")} if {"samples", "local-feed"} <= found.keys() else None

    ids = wait_for("newsflow serve to register its scheduled deployments", deployments, 120,
                   proc=stack["serving"], log=stack["serve_log"])

    def scheduled():
        runs = api_post(api, "/flow_runs/filter", {"flow_runs": {
            "deployment_id": {"any_": list(ids.values())}, "state": {"type": {"any_": ["SCHEDULED"]}}}})
        return {r["deployment_id"] for r in runs} >= set(ids.values())

    wait_for("the scheduler to schedule runs of both deployments", scheduled, 90, interval=2,
             log=stack["tmp"] / "server.log")


def test_served_deployments_runs_and_artifact_in_the_ui(stack):
    api, ui = stack["api"], stack["ui"]

    def deployments():
        found = {d["name"]: d for d in api_post(api, "/deployments/filter", {})}
        return found if {"samples", "local-feed"} <= found.keys() else None

    found = wait_for("newsflow serve to register its deployments", deployments, 120,
                     proc=stack["serving"], log=stack["serve_log"])
    feed = found["local-feed"]
    assert feed["concurrency_limit"] == 1 or (feed.get("global_concurrency_limit") or {}).get("limit") == 1
    # A run that comes due while the source's last one still runs is cancelled, not queued: runs slower
    # than their interval piled up (52 waiting after 32 minutes, each a process of ~235 MB).
    assert (feed.get("concurrency_options") or {}).get("collision_strategy") == "CANCEL_NEW", feed
    schedules = [s["schedule"] for s in feed["schedules"]]
    assert schedules and schedules[0].get("cron") == "*/30 * * * *"
    assert found["samples"]["schedules"][0]["schedule"].get("interval") == 3600

    run = api_post(api, f"/deployments/{feed['id']}/create_flow_run", {})

    def finished():
        state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10, trust_env=False).json()["state"]
        if state["type"] in ("FAILED", "CRASHED", "CANCELLED"):
            pytest.fail(f"flow run ended {state['type']}: {state.get('message')}\n"
                        + stack["serve_log"].read_text(errors="replace")[-3000:])
        return state["type"] == "COMPLETED"

    wait_for("the feed run to complete", finished, 240, interval=2, proc=stack["serving"], log=stack["serve_log"])
    artifacts = api_post(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    summary = next(a for a in artifacts if a["type"] == "markdown")
    assert "newsflow ingest" in summary["data"]
    report_url, docs_url = f"{stack['files']}/report.html", f"{stack['files']}/data_docs/index.html"
    assert f"[{report_url}]({report_url})" in summary["data"] and f"[{docs_url}]({docs_url})" in summary["data"]
    for url in (report_url, docs_url):  # served over HTTP by `newsflow serve`, as the artifact says
        assert httpx.get(url, timeout=10, trust_env=False).status_code == 200
    con = duckdb.connect(str(stack["tmp"] / "news.duckdb"), read_only=True)
    try:  # the served run really loaded the three feed items
        assert con.execute("select count(*) from articles").fetchone()[0] == 3
    finally:
        con.close()

    from playwright.sync_api import sync_playwright

    shots = stack["tmp"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-extensions", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)

        page.goto(f"{ui}/deployments")
        page.get_by_text("local-feed", exact=True).first.wait_for()
        page.get_by_text("samples", exact=True).first.wait_for()
        page.screenshot(path=str(shots / "deployments.png"), full_page=True)

        page.goto(f"{ui}/runs/flow-run/{run['id']}")
        page.get_by_text(run["name"]).first.wait_for()
        page.get_by_text("Completed").first.wait_for()
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text(summary["key"]).first.wait_for()
        page.screenshot(path=str(shots / "flow-run-artifacts.png"), full_page=True)

        page.goto(f"{ui}/artifacts/artifact/{summary['id']}")
        page.get_by_text("newsflow ingest").first.wait_for()  # the rendered markdown heading
        page.screenshot(path=str(shots / "artifact.png"), full_page=True)

        link = page.get_by_role("link", name=report_url).first  # the artifact links the served report
        assert link.get_attribute("href") == report_url
        page.goto(report_url)
        page.wait_for_selector("body[data-charts-rendered]")
        browser.close()

    for name in ("deployments.png", "flow-run-artifacts.png", "artifact.png"):
        assert (shots / name).stat().st_size > 10_000  # a rendered page, not an empty canvas
    keep = os.environ.get("NEWSFLOW_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("deployments.png", "flow-run-artifacts.png", "artifact.png"):
            shutil.copy(shots / name, Path(keep) / name)


def test_a_run_cancelled_in_the_ui_is_recorded_cancelled_and_published(stack):
    """The UI's Cancel sets the flow run Cancelling, then Prefect stops its process with SIGTERM: the
    warehouse recorded such a run `failed`, as if something had gone wrong, and only in the working
    file: `newsflow runs` (the analyst copy) showed nothing of it until the next run published."""
    api, site = stack["api"], stack["site"]

    def deployment():
        return next((d for d in api_post(api, "/deployments/filter", {}) if d["name"] == "slow-page"), None)

    slow = wait_for("newsflow serve to register its deployments", deployment, 120,
                    proc=stack["serving"], log=stack["serve_log"])
    run = api_post(api, f"/deployments/{slow['id']}/create_flow_run", {})
    # the page drips for 10 s: the run is recorded and fetching it
    wait_for("the run to fetch the slow page", lambda: site.site.hits["/slow"], 120, interval=0.5,
             proc=stack["serving"], log=stack["serve_log"])
    api_post(api, f"/flow_runs/{run['id']}/set_state", {"state": {"type": "CANCELLING"}, "force": True})

    def state():
        found = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10, trust_env=False).json()["state"]
        return found if found["type"] not in ("CANCELLING", "RUNNING") else None

    assert wait_for("the run to be cancelled", state, 90, log=stack["serve_log"])["type"] == "CANCELLED"

    def recorded(path: Path):
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:  # not published yet, or the run's process still closing the file
            return None
        try:
            return con.execute("select status from runs where run_id = ?", [run["id"]]).fetchone()
        finally:
            con.close()

    # published: in the analyst copy, which `newsflow runs` and analysts read
    assert wait_for("the run's row", lambda: recorded(stack["tmp"] / "news.duckdb"), 30,
                    log=stack["serve_log"]) == ("cancelled",)


def test_a_slot_held_when_the_server_stopped_is_given_back_after_a_restart(tmp_path):
    """A run in flight holds its deployment's concurrency slot under a lease. With Prefect's leases in
    the server's memory, a server restarted meanwhile (serve stopped and started again) lost the lease
    and the slot stayed taken: every later run of the source waited for good. The server `newsflow
    serve` starts keeps them on disk, so the dead holder's lease expires and the slot comes back."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1"}
    port = free_port()
    server, api = start_server(port, tmp_path / "server.log", env=env)
    try:
        with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="source", limit=1))
            client.increment_concurrency_slots_with_lease(names=["source"], slots=1, mode="concurrency",
                                                          lease_duration=60)  # then its holder dies
    finally:
        stop_server(server)
    server, api = start_server(port, tmp_path / "server.log", env=env)
    try:
        def freed() -> bool:
            with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
                return client.read_global_concurrency_limit_by_name("source").active_slots == 0

        wait_for("the slot of the expired lease to be given back", freed, 90, interval=2,
                 log=tmp_path / "server.log")
    finally:
        stop_server(server)


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_stopping_serve_lets_the_run_in_flight_record_its_end(tmp_path, stop: str):
    """Ctrl-C on `newsflow serve` while a run fetched: Prefect's runner, shutting down, killed the run's
    process ~45 ms later, so the run stayed `running` and unpublished until the source's next run. A
    SIGTERM to serve alone (`docker stop`, systemd's KillMode=mixed) killed it at once, the same way."""
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}
    server, api = start_server(free_port(), tmp_path / "server.log", env=env)
    try:
        with LocalServer() as site:
            config = tmp_path / "newsflow.toml"
            config.write_text(f'[fetch]\nallowed_hosts = ["127.0.0.1"]\nmin_host_interval = 0\n\n[[sources]]\n'
                              f'name = "slow-page"\nkind = "urls"\nlocation = "{site.url("/slow")}"\n',
                              encoding="utf-8")
            serve_log = tmp_path / "serve.log"
            with serve_log.open("wb") as log:
                serving = subprocess.Popen(
                    [str(Path(sys.executable).with_name("newsflow")), "serve", "--config", str(config),
                     "--db", str(tmp_path / "news.duckdb"), "--report-port", str(free_port())],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    env={**os.environ, **env, "PREFECT_API_URL": api}, preexec_fn=_as_in_a_terminal)
            try:
                deployment = wait_for("newsflow serve to register its deployment",
                                      lambda: api_post(api, "/deployments/filter", {}), 120, proc=serving, log=serve_log)
                run = api_post(api, f"/deployments/{deployment[0]['id']}/create_flow_run", {})
                # the page drips for 10 s: the run is recorded and fetching it
                wait_for("the run to fetch the slow page", lambda: site.site.hits["/slow"], 120, interval=0.2,
                         proc=serving, log=serve_log)
                if stop == "ctrl-c":
                    os.killpg(serving.pid, signal.SIGINT)  # Ctrl-C in serve's terminal: every process of it
                else:
                    os.kill(serving.pid, signal.SIGTERM)  # to serve alone
                serving.wait(timeout=150)
            finally:
                if serving.poll() is None:
                    os.killpg(serving.pid, signal.SIGKILL)
        output = serve_log.read_text(errors="replace")
        assert (tmp_path / "news.duckdb").exists(), f"the run was not published\n{output[-3000:]}"
        with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as con:
            assert con.execute("select status from runs where run_id = ?", [run["id"]]).fetchall() == [("cancelled",)]
        assert "waiting up to 120 s for 1 run(s) in flight" in output, output[-3000:]
        assert serving.returncode == 0, output[-3000:]
        # and so in the UI, which showed it Crashed (Prefect's engine reports an interrupted flow so)
        state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10, trust_env=False).raise_for_status().json()["state"]
        assert state["type"] == "CANCELLED", state
    finally:
        stop_server(server)


def _as_in_a_terminal() -> None:
    """SIGINT handled by default, as in a terminal (a background job of a script ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
