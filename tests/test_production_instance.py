"""deploy/dagster.yaml against a real PostgreSQL server started here (Debian's postgresql):
the production instance loads, records a real nightly_refresh run, and keeps one writer."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.generator import generate
from orchestration.settings import PROJECT_DIR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runuser() -> str:
    """util-linux's runuser, which lives in sbin: not on every PATH (e.g. a non-login shell)."""
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise FileNotFoundError("runuser (util-linux) is needed to start PostgreSQL as root")


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: use the postgres account the Debian package creates
    return [_runuser(), "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("PSW_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (PSW_REQUIRE_POSTGRES) but not installed")
        pytest.skip("Debian's postgresql package is not installed (.ci/run installs it)")
    bin_dir = Path(found[-1]).parent
    # not under pytest's tmp folder: the postgres account must be able to reach it
    root = Path(tempfile.mkdtemp(prefix="psw-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1",
                "-l",
                str(root / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "dagster",
            ],
            check=True,
            capture_output=True,
        )
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_DB": "dagster",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "not-used-with-trust-auth",
            "psql": str(bin_dir / "psql") if (bin_dir / "psql").exists() else "psql",
        }
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def production_home(postgres, tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    for key, value in postgres.items():
        if key.startswith("DAGSTER_PG_"):
            monkeypatch.setenv(key, value)
    return home


def test_the_production_instance_uses_postgres_a_run_queue_and_one_writer(production_home):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_monitoring_enabled
    text = (production_home / "dagster.yaml").read_text()
    assert "password:\n        env: DAGSTER_PG_PASSWORD" in text  # no secret in the file


@dg.op
def bad_data():
    raise dg.Failure(description="deals.csv: line 2, column amount: not a number")


@dg.job
def fails_on_data():
    bad_data()


def test_the_production_instance_retries_a_crashed_run_once_and_a_failed_step_never(
    production_home,
):
    """Dagster's retry decision (the `dagster/will_retry` tag the daemon acts on), made by the
    PostgreSQL storage."""
    with dg.DagsterInstance.get() as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        result = fails_on_data.execute_in_process(instance=instance, raise_on_error=False)
        failed = instance.get_run_by_id(result.run_id)
        assert failed.tags["dagster/will_retry"] == "false"
        # a run whose worker died is marked failed from outside (run monitoring does this)
        crashed = instance.create_run_for_job(fails_on_data, status=dg.DagsterRunStatus.STARTED)
        instance.report_run_failed(crashed, "run worker killed")
        assert instance.get_run_by_id(crashed.run_id).tags["dagster/will_retry"] == "true"


def test_a_real_refresh_is_recorded_in_postgres(production_home, postgres, tmp_path):
    from orchestration.cli.refresh import run_refresh
    from orchestration.warehouse.resources import Warehouse

    generate(tmp_path / "landing", scale=0.002, seed=3, end_date=date(2026, 2, 28))
    with dg.DagsterInstance.get() as instance:
        outcome = run_refresh(
            resources={
                "warehouse": Warehouse(
                    landing_dir=str(tmp_path / "landing"),
                    warehouse_dir=str(tmp_path / "wh"),
                    as_of_date="2026-02-28",
                )
            },
            log_level="WARNING",
            instance=instance,
        )
    assert outcome.success, outcome.summary()
    assert (tmp_path / "wh" / "serving.duckdb").exists()
    # read it back with psql, straight from the server
    proc = subprocess.run(
        [
            postgres["psql"],
            "-h",
            postgres["DAGSTER_PG_HOST"],
            "-p",
            postgres["DAGSTER_PG_PORT"],
            "-U",
            "postgres",
            "-d",
            "dagster",
            "-tAc",
            f"select pipeline_name, status from runs where run_id = '{outcome.run_id}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "nightly_refresh|SUCCESS"
