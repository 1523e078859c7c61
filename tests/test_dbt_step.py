"""The dbt step runs dbt as dagster-dbt documents it (`dbt.cli([...], context=context).stream()`,
a dbt subprocess): its errors fail the step with dbt's own message, a subset of the dbt assets
(a UI selection) builds only that subset with its table metadata, and terminating the run stops
dbt."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from orchestration.defs.transform.assets import dbt_models
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.warehouse.resources import Warehouse, dbt_resource
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
    # invocation is left in the way.
    shutil.copy(DBT_PROJECT_DIR / BROKEN, model)
    again = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert again.success, again.summary()
    rows = query(warehouse / "serving.duckdb", "select count(*) from marts.mart_vertical_depth")
    assert rows[0][0] > 0


def test_a_selection_of_dbt_assets_builds_only_those(
    metrics_warehouse: Path, job_runner: JobRunner, tmp_path: Path
):
    """As when a data engineer materializes one mart from the UI: dagster-dbt's selection
    reaches dbt, and the table metadata is read after dbt exits."""
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


SLOW_RUN = """
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

@dbt_assets(manifest=Path(sys.argv[1]) / "target" / "manifest.json")
def slow_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

dbt = DbtCliResource(project_dir=sys.argv[1], dbt_executable=sys.argv[2])
dg.materialize([slow_dbt], resources={"dbt": dbt})
"""


def _dbt_processes(parent: int) -> list[int]:
    """Processes whose parent is `parent` and whose command line runs dbt."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and "dbt" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_terminated_run_stops_dbt(tmp_path: Path):
    """A run interrupted while dbt works (Ctrl-C, or Dagster terminating the run): dagster-dbt
    passes the interrupt to the dbt subprocess, the query in flight stops, no further node
    starts, dbt exits and the database is released."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import duckdb

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
    # independent of `slow`, and after it in name order: dbt would start it next if it only
    # saw `slow` fail
    (project / "models" / "zz_next_one.sql").write_text(
        "{{ config(materialized='table') }}\nselect 1 as one\n"
    )
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_cli = str(Path(sys.executable).parent / "dbt")
    subprocess.run([dbt_cli, "parse"], cwd=project, env=env, check=True, capture_output=True)
    run = subprocess.Popen(
        [sys.executable, str(script), str(project), dbt_cli],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        dbt: list[int] = []
        while not dbt and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
            dbt = [pid for pid in _dbt_processes(run.pid) if db.exists()]
        assert dbt, "dbt never started: " + (run.stdout.read().decode() if run.poll() else "")
        time.sleep(3)  # the slow query is running
        run.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        output = run.communicate(timeout=90)[0].decode()
    finally:
        if run.poll() is None:
            run.kill()
    assert time.monotonic() - interrupted < 60, output
    assert run.returncode != 0, output
    assert not [pid for pid in dbt if _alive(pid)], f"dbt still runs after the interrupt\n{output}"
    con = duckdb.connect(str(db))  # released: it opens for writing
    try:
        tables = {
            row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()
        }
    finally:
        con.close()
    assert "zz_next_one" not in tables, "dbt started another node after the interrupt"
