"""The whole warehouse on a tiny generated landing zone: the real nightly_refresh job, recorded
in a real Dagster instance, publishing a serving file that BI can read."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.generator import generate
from tests.conftest import MARTS, JobRunner, query

AS_OF = "2026-06-30"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mart_contents(db: Path) -> dict[str, str]:
    """A fingerprint of every mart's rows, independent of row order."""
    out = {}
    for mart in MARTS:
        rows = query(db, f"select * from marts.{mart}")
        out[mart] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("e2e")
    landing = root / "landing"
    generated = generate(landing, scale=0.005, seed=7, end_date=date(2026, 6, 30))
    outcome = job_runner.run(landing, root / "warehouse", as_of=AS_OF)
    assert outcome.success, outcome.summary()
    return root, landing, root / "warehouse", generated, outcome


def test_serving_file_has_every_mart_and_the_audit_tables(warehouse):
    _, _, wh, generated, _ = warehouse
    serving = wh / "serving.duckdb"
    tables = query(
        serving,
        "select table_schema, table_name from information_schema.tables order by 1, 2",
    )
    assert [t for s, t in tables if s == "marts"] == MARTS
    assert {t for s, t in tables if s == "audit"} >= {"rejected_rows", "loaded_files"}
    for mart in MARTS:
        [(count,)] = query(serving, f"select count(*) from marts.{mart}")
        assert count > 0, mart
    # every dirty row the generator wrote is in the published rejects, with a reason
    rejected = dict(query(serving, "select entity, count(*) from audit.rejected_rows group by 1"))
    assert rejected == {k: v for k, v in generated.dirty.items() if v}
    assert query(serving, "select count(*) from audit.rejected_rows where reason = ''") == [(0,)]
    [(as_of,)] = query(serving, "select as_of_date from marts.mart_strategy_scorecard")
    assert str(as_of) == AS_OF


def test_one_parquet_export_per_mart_with_the_same_rows(warehouse):
    _, _, wh, _, _ = warehouse
    exports = sorted(p.stem for p in (wh / "exports").glob("*.parquet"))
    assert exports == MARTS
    for mart in MARTS:
        [(in_db,)] = query(wh / "serving.duckdb", f"select count(*) from marts.{mart}")
        [(in_file,)] = query(
            wh / "serving.duckdb",
            f"select count(*) from read_parquet('{wh}/exports/{mart}.parquet')",
        )
        assert in_db == in_file, mart
    assert not list((wh / "exports").glob(".*.tmp")) and not list(wh.glob(".*.tmp"))


def test_the_run_is_recorded_in_the_dagster_instance(warehouse, job_runner, monkeypatch):
    _, _, _, _, outcome = warehouse
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(job_runner.home / ".dagster"))
    with dg.DagsterInstance.from_config(str(job_runner.home)) as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None
        assert run.job_name == "nightly_refresh"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_latest_materialization_event(
            dg.AssetKey(["publish", "serving_warehouse"])
        )
        assert materialized is not None and materialized.run_id == outcome.run_id


def test_dbt_materializations_carry_row_counts_schemas_previews_and_docs_links(
    warehouse, job_runner, monkeypatch
):
    _, _, wh, _, outcome = warehouse
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(job_runner.home / ".dagster"))
    with dg.DagsterInstance.from_config(str(job_runner.home)) as instance:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "mart_execution_alignment"])
        )
        staging = instance.get_latest_materialization_event(dg.AssetKey(["staging", "stg_deals"]))
    assert event is not None and event.run_id == outcome.run_id
    meta = event.asset_materialization.metadata
    [(rows,)] = query(wh / "serving.duckdb", "select count(*) from marts.mart_execution_alignment")
    assert meta["dagster/row_count"].value == rows > 0
    columns = {c.name: c for c in meta["dagster/column_schema"].schema.columns}
    [(first_column,)] = query(
        wh / "serving.duckdb",
        "select column_name from information_schema.columns "
        "where table_name = 'mart_execution_alignment' and ordinal_position = 1",
    )
    assert first_column in columns and all(c.description for c in columns.values())
    assert columns["composition_alignment_score"].type.upper() == "DOUBLE"
    preview = meta["preview"].value
    assert preview.splitlines()[0].count("|") == len(columns) + 1  # header row of the table
    assert len(preview.splitlines()) == 2 + min(rows, 5)
    assert meta["dbt docs"].value.endswith(
        "/#!/model/model.partner_strategy_warehouse.mart_execution_alignment"
    )
    # staging views are counted too; only marts have a preview
    staging_meta = staging.asset_materialization.metadata
    [(deals,)] = query(wh / "build.duckdb", "select count(*) from staging.stg_deals")
    assert staging_meta["dagster/row_count"].value == deals > 0
    assert "preview" not in staging_meta


def test_a_refresh_without_new_files_publishes_identical_marts(warehouse, job_runner, monkeypatch):
    _, landing, wh, _, _ = warehouse
    before = mart_contents(wh / "serving.duckdb")
    loaded_before = query(wh / "serving.duckdb", "select count(*) from audit.loaded_files")
    # By default dbt keeps no log file (PSW_DBT_LOG_FILE_LEVEL=none: its debug file log slows
    # the build); this second run asks for it, and dbt then logs every SQL statement there.
    dbt_log = wh / "dbt_logs" / "dbt.log"
    assert not dbt_log.exists()
    monkeypatch.setenv("PSW_DBT_LOG_FILE_LEVEL", "debug")
    outcome = job_runner.run(landing, wh, as_of=AS_OF)
    assert outcome.success, outcome.summary()
    assert mart_contents(wh / "serving.duckdb") == before
    assert query(wh / "serving.duckdb", "select count(*) from audit.loaded_files") == loaded_before
    statements = [line for line in dbt_log.read_text().splitlines() if '"SQLQuery"' in line]
    assert any("mart_partner_scorecard" in line for line in statements)


def test_a_failed_run_leaves_the_serving_file_and_exports_untouched(warehouse, job_runner):
    _, landing, wh, _, _ = warehouse
    serving_before = digest(wh / "serving.duckdb")
    exports_before = {p.name: digest(p) for p in (wh / "exports").glob("*.parquet")}
    bad = landing / "deals" / "deals_2026-07-01.csv"
    bad.write_bytes(b"")
    try:
        outcome = job_runner.run(landing, wh, as_of=AS_OF)
    finally:
        bad.unlink()
    assert not outcome.success
    assert any(str(bad) in failure and "file is empty" in failure for failure in outcome.failures)
    assert digest(wh / "serving.duckdb") == serving_before
    assert {p.name: digest(p) for p in (wh / "exports").glob("*.parquet")} == exports_before


def psw(job_runner: JobRunner, landing: Path, wh: Path, *args: str, as_of: str | None = AS_OF):
    """`psw <args>` in a process of its own, on this module's landing zone and warehouse."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(job_runner.home),
        "PSW_DAGSTER_DIR": str(job_runner.home / ".dagster"),
        "PSW_LANDING_DIR": str(landing),
        "PSW_WAREHOUSE_DIR": str(wh),
    }
    if as_of:
        env["PSW_AS_OF_DATE"] = as_of
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_psw_refresh_exits_non_zero_and_names_the_file(warehouse, job_runner, tmp_path):
    _, landing, wh, _, _ = warehouse
    bad = landing / "partners" / "partners_2026-07-01.csv"
    bad.write_text("partner_id,partner_name\nP1,Acme\n")
    try:
        proc = psw(job_runner, landing, wh, "refresh", "--log-level", "ERROR")
    finally:
        bad.unlink()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout
    assert f"{bad}: missing required column 'partner_type'" in proc.stdout


def test_psw_status_shows_the_last_run_checks_freshness_and_rejects(warehouse, job_runner):
    _, landing, wh, generated, _ = warehouse
    proc = psw(job_runner, landing, wh, "status", as_of=None)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "last run: " in out and "checks: " in out
    for mart in MARTS:
        assert f"  {mart} " in out
    assert f"rejected rows (published): {sum(generated.dirty.values()):,}" in out


def test_every_command_has_help():
    commands = ([], ["generate"], ["refresh"], ["history"], ["status"], ["scorecard"], ["docs"])
    for command in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "orchestration.cli.main", *command, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0 and "usage: psw" in proc.stdout, command


def test_psw_docs_builds_dbt_docs_with_lineage_columns_and_exposures(warehouse, job_runner):
    _, landing, wh, _, _ = warehouse
    proc = psw(job_runner, landing, wh, "docs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    docs = wh / "dbt_docs"
    assert (docs / "index.html").exists() and (docs / "static_index.html").stat().st_size > 0
    manifest = json.loads((docs / "manifest.json").read_text())
    catalog = json.loads((docs / "catalog.json").read_text())
    prefix = "model.partner_strategy_warehouse."
    for mart in MARTS:
        node = manifest["nodes"][prefix + mart]
        built = catalog["nodes"][prefix + mart]["columns"]
        # every column DuckDB built is described in the YAML, and nothing described is missing
        assert {c.lower() for c in built} == set(node["columns"]), mart
        assert all(c["description"].strip() for c in node["columns"].values()), mart
    consumers = {
        name.split(".")[-1]: {d.split(".")[-1] for d in e["depends_on"]["nodes"]}
        for name, e in manifest["exposures"].items()
    }
    assert "strategy_report" in consumers
    assert {"mart_strategy_scorecard", "mart_coverage_cells"} <= consumers["strategy_report"]
    assert set(MARTS) <= set().union(*consumers.values())  # every mart has a consumer
