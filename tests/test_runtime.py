"""Nights that run and nights that don't: run retries on every path (a run whose process dies is
retried once, a run that fails on data is not), a read-only warehouse folder, and `make dev`
stopping on SIGTERM and Ctrl-C. Real `psw refresh` processes, real Dagster instances, real
signals."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from orchestration.generator import generate
from orchestration.settings import PROJECT_DIR
from tests.conftest import query, write_csv

AS_OF = "2026-06-30"
PSW_REFRESH = [sys.executable, "-m", "orchestration.cli.main", "refresh", "--log-level", "WARNING"]


# --- the retry policy, as configured ------------------------------------------------------


RETRY_ONCE_NOT_ON_DATA = {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}


@pytest.mark.parametrize(
    "config", ["dagster.yaml", "deploy/dagster.yaml", "deploy/k8s/dagster.yaml"]
)
def test_every_instance_retries_a_crashed_run_once_and_a_failed_step_never(config):
    settings = yaml.safe_load((PROJECT_DIR / config).read_text())["run_retries"]
    assert settings == RETRY_ONCE_NOT_ON_DATA


def test_the_helm_values_retry_as_the_instance_file_does():
    values = yaml.safe_load((PROJECT_DIR / "deploy/k8s/values.yaml").read_text())
    retries = values["dagsterDaemon"]["runRetries"]
    assert retries == {"enabled": True, "maxRetries": 1, "retryOnAssetOrOpFailure": False}


@dg.op
def bad_data():
    raise dg.Failure(description="deals.csv: line 2, column amount: not a number")


@dg.job
def fails_on_data():
    bad_data()


@dg.op
def fine():
    return 1


@dg.job
def would_crash():
    fine()


def test_the_instance_decides_retry_for_a_crash_and_no_retry_for_a_data_failure(dagster_home):
    """Dagster's own decision, on an instance configured by the project's dagster.yaml: the
    `dagster/will_retry` tag that the daemon and `psw refresh` both act on."""
    with dg.DagsterInstance.get() as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        result = fails_on_data.execute_in_process(instance=instance, raise_on_error=False)
        failed = instance.get_run_by_id(result.run_id)
        assert failed.tags["dagster/failure_reason"] == "STEP_FAILURE"
        assert failed.tags["dagster/will_retry"] == "false"

        # a run whose worker vanished is marked failed from outside, as the code server does
        crashed = instance.create_run_for_job(would_crash, status=dg.DagsterRunStatus.STARTED)
        instance.report_run_failed(crashed, "run worker killed")
        assert instance.get_run_by_id(crashed.run_id).tags["dagster/will_retry"] == "true"


# --- psw refresh: the run executes in a worker process -------------------------------------


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runtime_landing")
    generate(root / "landing", scale=0.002, seed=3, end_date=date(2026, 6, 30))
    return root / "landing"


@pytest.fixture
def site(tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PSW_DAGSTER_DIR": str(home / ".dagster"),
        "PSW_LANDING_DIR": str(landing),
        "PSW_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "PSW_AS_OF_DATE": AS_OF,
    }
    subprocess.run(
        [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
        env=env,
        check=True,
    )
    monkeypatch.setenv("PSW_DAGSTER_DIR", env["PSW_DAGSTER_DIR"])  # the test reads the instance
    return env


def _runs(env: dict[str, str]) -> list[dg.DagsterRun]:
    """Every run of the site's instance, oldest first."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return [r.dagster_run for r in reversed(instance.get_run_records())]


def _steps_started(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {
        record.event_log_entry.step_key
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_START
        ).records
    }


def _kill_worker_at(env: dict[str, str], proc: subprocess.Popen, known: set[str], step: str):
    """SIGKILL the process executing the first new run once `step` has started in it, and
    return that run's id. The worker records its pid on the run (psw/pid)."""
    deadline = time.monotonic() + 300
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        while time.monotonic() < deadline and proc.poll() is None:
            new = [
                r.dagster_run
                for r in instance.get_run_records()
                if r.dagster_run.run_id not in known
            ]
            if new:
                run = new[-1]
                started = {
                    record.event_log_entry.step_key
                    for record in instance.get_records_for_run(
                        run.run_id, of_type=dg.DagsterEventType.STEP_START
                    ).records
                }
                if step in started:
                    worker = int(run.tags["psw/pid"])
                    assert worker != proc.pid, "the run executes in the psw process itself"
                    os.kill(worker, signal.SIGKILL)
                    return run.run_id
            time.sleep(0.1)
    raise AssertionError(f"no run reached step {step} while psw refresh was running")


def test_psw_refresh_retries_once_a_run_whose_process_was_killed(site):
    proc = subprocess.Popen(
        PSW_REFRESH, env=site, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = _kill_worker_at(site, proc, set(), "raw__deals")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err

    runs = _runs(site)
    assert len(runs) == 2
    first, retry = runs
    assert first.run_id == killed
    assert first.status == dg.DagsterRunStatus.FAILURE
    assert first.tags["dagster/will_retry"] == "true"
    assert retry.status == dg.DagsterRunStatus.SUCCESS
    assert retry.parent_run_id == killed and retry.root_run_id == killed
    assert retry.tags["dagster/retry_number"] == "1"
    with dg.DagsterInstance.from_config(site["DAGSTER_HOME"]) as instance:  # the UI's run group
        _, group = instance.get_run_group(killed)
        assert {r.run_id for r in group} == {killed, retry.run_id}
        assert "ingest__build_database" in _steps_started(instance, retry.run_id)  # ALL_STEPS
    assert f"run {killed} failed (its process was killed by SIGKILL): retried" in out
    assert f"run {retry.run_id} succeeded" in out
    serving = Path(site["PSW_WAREHOUSE_DIR"]) / "serving.duckdb"
    assert query(serving, "select run_id, cast(as_of_date as varchar) from audit.publish_log") == [
        (retry.run_id, AS_OF)
    ]


def test_a_retry_whose_process_dies_too_is_not_retried_again(site):
    proc = subprocess.Popen(
        PSW_REFRESH, env=site, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = _kill_worker_at(site, proc, set(), "raw__partners")
    second = _kill_worker_at(site, proc, {first}, "raw__deals")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, out + err

    runs = _runs(site)
    assert [r.run_id for r in runs] == [first, second]  # one retry, no third run
    assert all(r.status == dg.DagsterRunStatus.FAILURE for r in runs)
    assert runs[1].parent_run_id == first
    assert runs[1].tags["dagster/will_retry"] == "false"  # max_retries: 1 is used up
    assert f"run {second} FAILED" in out
    assert not (Path(site["PSW_WAREHOUSE_DIR"]) / "serving.duckdb").exists()


def test_a_run_that_fails_on_data_is_not_retried(site, tmp_path, landing):
    bad = tmp_path / "landing"
    shutil.copytree(landing, bad)
    # a deals file without the required column `stage`: rejected whole, the run fails (SPEC §3)
    write_csv(
        bad / "deals" / "zz_deals_without_stage.csv",
        ["deal_id", "partner_id", "deal_source", "account_id", "product_line", "updated_at"],
        [],
    )
    env = {**site, "PSW_LANDING_DIR": str(bad)}
    done = subprocess.run(PSW_REFRESH, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr

    runs = _runs(env)
    assert len(runs) == 1
    assert runs[0].status == dg.DagsterRunStatus.FAILURE
    assert runs[0].tags["dagster/failure_reason"] == "STEP_FAILURE"
    assert runs[0].tags["dagster/will_retry"] == "false"
    assert "retried" not in done.stdout
    assert "step failed: " in done.stdout


# --- a read-only warehouse folder ----------------------------------------------------------


def _read_only_mount_works(folder: Path) -> bool:
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", _ro_mount(folder) + " && ! touch " + str(folder / "x")],
        capture_output=True,
    )
    return probe.returncode == 0


def _ro_mount(folder: Path) -> str:
    return f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"


def test_a_read_only_warehouse_folder_is_one_line_naming_it_and_what_to_do(site, tmp_path):
    """A real read-only mount: a bind mount remounted `ro` in a private mount namespace
    (root passes permission bits, not a read-only file system)."""
    warehouse = Path(site["PSW_WAREHOUSE_DIR"])
    warehouse.mkdir()
    if shutil.which("unshare") is None or not _read_only_mount_works(warehouse):
        pytest.skip("no private mount namespace here (unshare -m needs CAP_SYS_ADMIN)")
    command = " ".join(PSW_REFRESH)
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"{_ro_mount(warehouse)} && exec {command}"],
        env=site,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert str(warehouse) in lines[0]
    assert "Read-only file system" in lines[0]
    assert "PSW_WAREHOUSE_DIR" in lines[0]
    assert _runs(site) == []  # stopped before a run was started
    assert not list(warehouse.iterdir())


def test_on_a_read_only_warehouse_the_runs_first_step_fails_with_that_line(site):
    """The path of the UI, the schedule and the sensor: no `psw refresh` check before the run,
    so the run's first step (the build database) says it."""
    warehouse = Path(site["PSW_WAREHOUSE_DIR"])
    warehouse.mkdir()
    if shutil.which("unshare") is None or not _read_only_mount_works(warehouse):
        pytest.skip("no private mount namespace here (unshare -m needs CAP_SYS_ADMIN)")
    script = (
        "import sys; from orchestration.cli.refresh import run_refresh; "
        "o = run_refresh(log_level='CRITICAL'); print(o.summary()); sys.exit(int(not o.success))"
    )
    done = subprocess.run(
        [
            *("unshare", "-m", "sh", "-c", f'{_ro_mount(warehouse)} && exec "$0" -c "$1"'),
            *(sys.executable, script),
        ],
        env=site,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    expected = (
        f"step failed: ingest__build_database: the warehouse folder {warehouse} is not writable "
        "(Read-only file system): give this user write permission, remount it read-write, or "
        "point PSW_WAREHOUSE_DIR at a writable folder"
    )
    assert expected in [line.strip() for line in done.stdout.splitlines()], done.stdout
    assert not list(warehouse.iterdir())


# --- make dev ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nobody listens, and a new server can bind it (as servers do, with SO_REUSEADDR: the
    UI's closed connections may linger in TIME_WAIT)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _group(pgid: int) -> list[str]:
    """Live (not zombie) processes of a process group."""
    ps = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True
    )
    out = []
    for line in ps.stdout.splitlines():
        pid, group, stat, *args = line.split(None, 3)
        if int(group) == pgid and not stat.startswith("Z"):
            out.append(f"{pid} {' '.join(args)[:80]}")
    return out


@pytest.fixture
def dev_project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The project seen from a scratch folder: `dagster dev` reads `.env` from its working
    folder, and the project's own .env names the project's instance; here it names a tmp one."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", ".venv", "orchestration", "dbt_project", "seeds", "expectations"):
        (project / name).symlink_to(PROJECT_DIR / name)
    shutil.copy(PROJECT_DIR / "pyproject.toml", project / "pyproject.toml")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    (project / ".env").write_text(
        f"DAGSTER_HOME={home}\nPSW_DAGSTER_DIR={home / '.dagster'}\n"
        f"DBT_PROFILES_DIR={PROJECT_DIR / 'dbt_project'}\n"
    )
    env = {
        **os.environ,
        "PSW_LANDING_DIR": str(tmp_path / "landing"),
        "PSW_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
    }
    yield project, env


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_dev(
    project: Path, env: dict[str, str], port: int, background: bool = False
) -> subprocess.Popen:
    """`make dev` on `port`, in its own process group; returns once the UI answers.
    `background`: started as a shell starts a background job, with SIGINT ignored."""
    home = project.parent / "dagster_home"
    # -o install: the venv and the manifest exist; the test must not reinstall them
    make = subprocess.Popen(
        [
            *("make", "-o", "install", "dev", f"DEV_PORT={port}"),
            *(f"DAGSTER_HOME={home}", f"PSW_DAGSTER_DIR={home / '.dagster'}"),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_ignore_sigint if background else None,
    )
    deadline = time.monotonic() + 180
    while True:
        assert make.poll() is None, "make dev exited before the UI answered"
        assert time.monotonic() < deadline, "the UI did not answer within 180 s"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return make
        except OSError:
            time.sleep(0.5)


def _stop_dev(make: subprocess.Popen) -> None:
    if _group(make.pid):
        os.killpg(make.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("signum", "to_group", "background"),
    [
        (signal.SIGTERM, False, False),
        (signal.SIGTERM, False, True),
        (signal.SIGTERM, True, False),
        (signal.SIGINT, True, False),
    ],
    ids=["SIGTERM-to-make", "SIGTERM-to-make-started-in-background", "SIGTERM-to-group", "Ctrl-C"],
)
def test_make_dev_stops_cleanly(dev_project, signum, to_group, background):
    project, env = dev_project
    port = _free_port()
    make = _start_dev(project, env, port, background)
    try:
        assert len(_group(make.pid)) >= 4  # make, dagster dev, webserver, daemon (+ code server)
        assert (project.parent / "dagster_home" / ".dagster").is_dir()  # not the project's

        (os.killpg if to_group else os.kill)(make.pid, signum)
        # a process left behind stays for good; on a loaded machine the code server has taken
        # more than 30 s to stop after a SIGTERM to the whole group
        deadline = time.monotonic() + 90
        while _group(make.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _group(make.pid) == [], "processes left 90 s after the signal"
        assert make.wait(timeout=5) != 0
        assert _port_free(port)
    finally:
        _stop_dev(make)


def _run_workers(pgid: int) -> set[int]:
    """Dagster's run workers in `make dev`'s group: the code server starts each run in a
    multiprocessing child of its own."""
    ps = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True
    )
    found = set()
    for line in ps.stdout.splitlines():
        pid, group, stat, *args = line.split(None, 3)
        if int(group) == pgid and not stat.startswith("Z") and "spawn_main" in " ".join(args):
            found.add(int(pid))
    return found


def test_in_dagster_dev_a_run_whose_worker_is_killed_is_retried_once_by_the_daemon(
    dev_project, landing, monkeypatch
):
    """The path of the UI, the schedule and the sensor: a run launched in `dagster dev`, its
    worker killed; the code server marks it failed and the daemon retries it (dagster.yaml)."""
    from dagster_graphql import DagsterGraphQLClient

    project, env = dev_project
    home = project.parent / "dagster_home"
    warehouse = project.parent / "warehouse"
    env = {
        **env,
        "PSW_LANDING_DIR": str(landing),
        "PSW_AS_OF_DATE": AS_OF,
        "PSW_LANDING_SETTLE_SECONDS": "1000000",  # no run from the landing sensor
    }
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    port = _free_port()
    make = _start_dev(project, env, port)
    try:
        spare = _run_workers(make.pid)  # spawn children that are no run worker
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("nightly_refresh", tags={"psw/trigger": "test"})
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 300
            while True:
                assert time.monotonic() < deadline, "the run did not reach raw__deals"
                steps = {
                    r.event_log_entry.step_key
                    for r in instance.get_records_for_run(
                        run_id, of_type=dg.DagsterEventType.STEP_START
                    ).records
                }
                if "raw__deals" in steps:
                    break
                time.sleep(0.2)
            workers = _run_workers(make.pid) - spare
            assert len(workers) == 1, workers
            os.kill(workers.pop(), signal.SIGKILL)

            deadline = time.monotonic() + 400
            retry = None
            while time.monotonic() < deadline:
                group = [
                    r.dagster_run
                    for r in instance.get_run_records()
                    if r.dagster_run.root_run_id == run_id
                ]
                if group and group[0].is_finished:
                    retry = group[0]
                    break
                time.sleep(1)
            assert retry is not None, "no finished retry of the killed run"
            killed = instance.get_run_by_id(run_id)
            assert killed.status == dg.DagsterRunStatus.FAILURE
            assert killed.tags["dagster/will_retry"] == "true"
            assert retry.status == dg.DagsterRunStatus.SUCCESS
            assert retry.parent_run_id == run_id
            assert retry.tags["dagster/retry_number"] == "1"
            assert "ingest__build_database" in _steps_started(instance, retry.run_id)
            assert len(instance.get_run_records()) == 2
        assert query(warehouse / "serving.duckdb", "select run_id from audit.publish_log") == [
            (retry.run_id,)
        ]
    finally:
        _stop_dev(make)
