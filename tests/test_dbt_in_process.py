"""dbt runs inside the run's process (orchestration/dbt_inprocess.py): its errors still fail the
step with dbt's own message, the build database is released for the next run in the same
process, and a subset of the dbt assets (a UI selection) builds only that subset."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from orchestration.defs.dbt import dbt_models, dbt_resource
from orchestration.resources import Warehouse
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import JobRunner, query
from tests.fixtures import metrics
from tests.fixtures.quality import copy_warehouse, fingerprint, step_statuses

BROKEN = "models/marts/mart_vertical_depth.sql"


def test_a_dbt_error_fails_the_step_with_dbts_message_and_the_next_run_succeeds(
    metrics_warehouse: Path, job_runner: JobRunner, tmp_path: Path
):
    warehouse = copy_warehouse(metrics_warehouse, tmp_path / "warehouse")
    before = fingerprint(warehouse)
    seeds = metrics.write_seeds(tmp_path / "seeds")
    landing = metrics.write_landing(tmp_path / "landing")
    project = job_runner.project_with(seeds)
    model = project / BROKEN
    model.write_text("select no_such_column from {{ ref('int_partners') }}\n")

    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)

    assert not outcome.success
    (failure,) = outcome.failures
    assert failure.startswith("dbt_models: "), failure
    assert "mart_vertical_depth" in failure and "no_such_column" in failure, failure
    steps = step_statuses(job_runner, outcome.run_id)
    assert steps["dbt_models"] == "FAILURE"
    assert steps.get("publish__serving_warehouse", "SKIPPED") == "SKIPPED", steps
    assert fingerprint(warehouse) == before  # BI still reads the previous night

    # The same process runs dbt again on the repaired project: nothing of the failed
    # invocation (its DuckDB handle, dbt's state) is left in the way.
    shutil.copy(DBT_PROJECT_DIR / BROKEN, model)
    again = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert again.success, again.summary()
    rows = query(warehouse / "serving.duckdb", "select count(*) from marts.mart_vertical_depth")
    assert rows[0][0] > 0


def test_a_selection_of_dbt_assets_builds_only_those(
    metrics_warehouse: Path, job_runner: JobRunner, tmp_path: Path
):
    """As when a data engineer materializes one mart from the UI: dagster-dbt's selection
    reaches the dbt that runs in-process."""
    warehouse = copy_warehouse(metrics_warehouse, tmp_path / "warehouse")
    seeds = metrics.write_seeds(tmp_path / "seeds")
    mart = dg.AssetKey(["marts", "mart_vertical_depth"])
    with job_runner.environment(), dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            [dbt_models],
            selection=[mart],
            instance=instance,
            resources={
                "warehouse": Warehouse(
                    landing_dir=str(tmp_path / "landing"),
                    warehouse_dir=str(warehouse),
                    as_of_date=metrics.AS_OF,
                ),
                "dbt": dbt_resource(job_runner.project_with(seeds)),
            },
        )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {mart}
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value > 0  # read from DuckDB after dbt released it
    checks = {e.asset_key for e in result.get_asset_check_evaluations()}
    assert checks == {mart}  # that mart's dbt tests, not the others'


def test_a_terminated_run_stops_dbt_as_ctrl_c_would(tmp_path: Path):
    """dagster-dbt answers a terminated run with `send_signal` on the dbt "process": the query
    in flight is cancelled, no further node starts, dbt ends, and the database is released."""
    import json
    import time

    import duckdb

    from orchestration.dbt_inprocess import EXIT_ERROR, DbtThread

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: slow\nversion: '1.0'\nprofile: slow\nmodel-paths: [models]\n"
    )
    db = tmp_path / "slow.duckdb"
    (project / "profiles.yml").write_text(
        f"slow:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{db}'\n"
        "      threads: 1\n      settings: {threads: 1}\n"
    )
    # a trillion rows: many minutes, unless interrupted
    (project / "models" / "slow.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select sum(a.range * b.range) as s from range(1000000) a, range(1000000) b\n"
    )
    # independent of `slow`: dbt would start it next if it only saw `slow` fail
    (project / "models" / "next_one.sql").write_text(
        "{{ config(materialized='table') }}\nselect 1 as one\n"
    )
    env = {
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = DbtThread(["build", "--log-level", "none"], env)
    started = None
    after_signal: list[str] = []
    for line in dbt.stdout:
        event = json.loads(line)
        if started is not None:
            after_signal.append(event["info"]["msg"])
        elif event["info"]["name"] == "LogStartLine" and "slow" in event["info"]["msg"]:
            started = time.monotonic()
            time.sleep(1)  # the query is running
            dbt.send_signal(2)
    assert started is not None, "dbt never started the slow model"
    assert dbt.wait(timeout=60) == EXIT_ERROR  # interrupted, as by Ctrl-C
    assert time.monotonic() - started < 30
    assert not [m for m in after_signal if "START" in m and "next_one" in m], after_signal
    duckdb.connect(str(db), read_only=True).close()  # released
