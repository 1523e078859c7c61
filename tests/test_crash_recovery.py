"""kill -9 of a real `psw refresh` at several moments (during ingestion, dbt and publish), then
another refresh: it completes and publishes exactly what a clean run would. A module of its own
so that pytest-xdist runs it beside tests/test_reliability.py (each builds its own site)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.test_reliability import (
    PSW_REFRESH,
    build_site,
    fingerprint,
    loaded_files,
    published_copy,
    refresh,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build_site(tmp_path_factory)


def _latest_run_id(home: Path) -> str | None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        return records[0].dagster_run.run_id if records else None


def _step_started(home: Path, run_id: str, step: str) -> bool:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_START
        ).records:
            if record.event_log_entry.step_key == step:
                return True
    return False


@pytest.mark.parametrize(
    ("step", "delay"),
    [("raw__deals", 0.0), ("dbt_models", 4.0), ("publish__serving_warehouse", 0.0)],
    ids=["during-ingest", "during-dbt", "during-publish"],
)
def test_kill_9_at_any_moment_then_a_refresh_publishes_what_a_clean_run_would(
    site, tmp_path, monkeypatch, step, delay
):
    root, env, home, reference = site
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    warehouse = tmp_path / "wh"
    if step == "publish__serving_warehouse":  # a published warehouse to be half-replaced
        warehouse = published_copy(root, tmp_path)
    previous = _latest_run_id(home)
    proc = subprocess.Popen(
        PSW_REFRESH,
        env={**env, "PSW_WAREHOUSE_DIR": str(warehouse)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    run_id = None
    while time.monotonic() < deadline and proc.poll() is None:
        run_id = _latest_run_id(home)
        if run_id != previous and _step_started(home, run_id, step):
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the refresh ended before it could be killed"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)  # the refresh only; a dbt child may live on
    proc.wait()

    again = refresh(env, warehouse)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"marked run {run_id} failed: its process had died" in again.stdout
    assert fingerprint(warehouse / "serving.duckdb") == reference
    assert all(count == 1 for *_, count in loaded_files(warehouse / "build.duckdb"))
    assert not [p for p in warehouse.rglob("*.tmp")]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        killed = instance.get_run_by_id(run_id)
        assert killed is not None and killed.status == dg.DagsterRunStatus.FAILURE
