"""The Dagster definitions: they load (in Python, with `dagster definitions validate`, and with
`dg check defs` / `dg list defs`), hold every asset, check, job and schedule, the domain folders
under defs/ do not import each other, and the instance configuration in dagster.yaml is valid."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.automation.jobs import schedule_timezone
from orchestration.defs.transform.assets import dbt_args, dbt_models
from orchestration.names import dbt_asset_keys
from orchestration.settings import PROJECT_DIR, SettingsError, load_settings

MART_NAMES = {
    "mart_coverage_cells",
    "mart_coverage_by_segment",
    "mart_coverage_by_geography",
    "mart_vertical_depth",
    "mart_ecosystem_productivity",
    "mart_productivity_monthly",
    "mart_execution_alignment",
    "mart_investment_allocation",
    "mart_growth_stage_fit",
    "mart_strategy_scorecard",
    "mart_partner_scorecard",
    "mart_channel_conflict",
    "mart_channel_conflict_accounts",
    "mart_deal_registration_funnel",
    "mart_partner_activation",
    "mart_partner_concentration",
    "mart_partner_concentration_total",
    "mart_partner_health",
    "mart_strategy_alerts",
}


def test_definitions_are_loadable():
    dg.Definitions.validate_loadable(defs())


def test_every_layer_is_an_asset_with_its_group():
    graph = defs().resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {f"raw/{e}" for e in ("partners", "deals", "certifications", "incentives")} <= keys
    assert {f"marts/{m}" for m in MART_NAMES} <= keys
    assert "publish/serving_warehouse" in keys
    assert "reference/fx_rates" in keys and "staging/stg_deals" in keys
    groups = {
        key.to_user_string(): graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }
    assert groups["raw/deals"] == "ingest"
    assert groups["staging/stg_deals"] == "staging"
    assert groups["marts/mart_strategy_scorecard"] == "marts"
    assert groups["publish/serving_warehouse"] == "publish"
    # raw assets of dbt's sources are the ingestion assets themselves, not external stubs
    assert graph.get(dg.AssetKey(["raw", "deals"])).is_materializable
    # publish waits for every mart
    parents = {
        k.to_user_string()
        for k in graph.get(dg.AssetKey(["publish", "serving_warehouse"])).parent_keys
    }
    assert {f"marts/{m}" for m in MART_NAMES} <= parents


def test_dbt_tests_are_asset_checks():
    checks = {
        (c.asset_key.to_user_string(), c.name)
        for c in defs().resolve_asset_graph().asset_check_keys
    }
    assert ("marts/mart_partner_scorecard", "unique_mart_partner_scorecard_partner_id") in checks
    assert any(name.startswith("exactly_one_row") for _, name in checks)


def test_the_nightly_job_and_schedule():
    job = defs().resolve_job_def("nightly_refresh")
    assert {k.to_user_string() for k in job.asset_layer.asset_graph.get_all_asset_keys()} >= {
        "raw/deals",
        "marts/mart_strategy_scorecard",
        "publish/serving_warehouse",
    }
    # the partitioned history runs in backfills only; dbt computes its D in the nightly
    assert "history/strategy_history" not in {
        k.to_user_string() for k in job.asset_layer.selected_asset_keys
    }
    schedule = defs().resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "nightly_refresh"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_history_is_partitioned_by_day_and_backfilled_in_one_run():
    graph = defs().resolve_asset_graph()
    history = graph.get(dg.AssetKey(["history", "strategy_history"]))
    assert isinstance(history.partitions_def, dg.DailyPartitionsDefinition)
    assert history.backfill_policy == dg.BackfillPolicy.single_run()
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == history.key}
    assert checks == {"gx_mart_strategy_history", "gx_mart_partner_type_history"}
    job = defs().resolve_job_def("strategy_history_backfill")
    assert job.partitions_def == history.partitions_def


def test_history_start_is_a_setting_and_a_bad_one_is_one_clear_error(monkeypatch):
    from orchestration.names import history_start

    monkeypatch.delenv("PSW_HISTORY_START", raising=False)
    assert history_start() == "2020-01-01"
    monkeypatch.setenv("PSW_HISTORY_START", "2023-07-01")
    assert history_start() == "2023-07-01"
    monkeypatch.setenv("PSW_HISTORY_START", "July 2023")
    with pytest.raises(ValueError) as error:
        history_start()
    assert str(error.value) == (
        "PSW_HISTORY_START='July 2023' is not a date: use the ISO form YYYY-MM-DD"
    )


def test_psw_history_refuses_a_reversed_range_or_a_date_after_d(dagster_home, monkeypatch, capsys):
    from orchestration.cli.main import main

    monkeypatch.setenv("PSW_AS_OF_DATE", "2025-12-31")
    monkeypatch.setenv("PSW_WAREHOUSE_DIR", str(dagster_home / "warehouse"))
    assert main(["history", "--from", "2025-07-02", "--to", "2025-07-01"]) == 2
    assert "--from 2025-07-02 is after --to 2025-07-01" in capsys.readouterr().err
    assert main(["history", "--from", "2025-12-01", "--to", "2026-01-01"]) == 2
    assert "after the as-of date 2025-12-31" in capsys.readouterr().err


def test_schedule_timezone_is_configurable(monkeypatch):
    monkeypatch.setenv("PSW_TIMEZONE", "Europe/Berlin")
    assert schedule_timezone() == "Europe/Berlin"
    monkeypatch.setenv("PSW_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="PSW_TIMEZONE='Mars/Olympus' is not an IANA time zone"):
        schedule_timezone()


def test_dbt_command_line():
    assert dbt_args("build", {"as_of_date": "2026-01-31", "activity_window_days": 90}) == [
        "build",
        "--vars",
        '{"activity_window_days": 90, "as_of_date": "2026-01-31"}',
    ]


def test_settings_from_the_environment(tmp_path):
    s = load_settings(
        {
            "PSW_LANDING_DIR": "rel/landing",
            "PSW_WAREHOUSE_DIR": str(tmp_path),
            "PSW_AS_OF_DATE": "2025-12-31",
            "PSW_ACTIVITY_WINDOW_DAYS": "90",
        }
    )
    assert s.landing_dir == PROJECT_DIR / "rel" / "landing"
    assert s.build_db == tmp_path / "build.duckdb"
    assert s.serving_db == tmp_path / "serving.duckdb"
    assert s.dbt_vars() == {"as_of_date": "2025-12-31", "activity_window_days": 90}
    # the job hands D and W to dbt through the environment the vars default to
    assert s.dbt_env()["PSW_AS_OF_DATE"] == "2025-12-31"
    assert s.dbt_env()["PSW_ACTIVITY_WINDOW_DAYS"] == "90"
    no_window = load_settings({"PSW_AS_OF_DATE": "2025-12-31"})
    assert no_window.dbt_env()["PSW_ACTIVITY_WINDOW_DAYS"] == ""
    default = load_settings({})
    assert default.warehouse_dir == PROJECT_DIR / "data" / "warehouse"
    with pytest.raises(SettingsError, match="PSW_AS_OF_DATE='31/12/2025' is not a date"):
        load_settings({"PSW_AS_OF_DATE": "31/12/2025"})
    with pytest.raises(SettingsError, match="positive"):
        load_settings({"PSW_ACTIVITY_WINDOW_DAYS": "0"})
    assert default.dbt_log_file_level == "none"
    assert load_settings({"PSW_DBT_LOG_FILE_LEVEL": "Debug"}).dbt_log_file_level == "debug"
    with pytest.raises(SettingsError, match="PSW_DBT_LOG_FILE_LEVEL='verbose' is not one of"):
        load_settings({"PSW_DBT_LOG_FILE_LEVEL": "verbose"})


def test_the_history_range_defaults_to_d_and_refuses_a_reversed_range():
    d = {"PSW_AS_OF_DATE": "2025-12-31"}
    assert load_settings(d).history_range == (dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    assert load_settings(d).dbt_env()["PSW_HISTORY_FROM"] == "2025-12-31"
    backfill = load_settings({**d, "PSW_HISTORY_FROM": "2025-01-01"})
    assert backfill.history_range == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert backfill.dbt_env()["PSW_HISTORY_TO"] == "2025-12-31"
    with pytest.raises(SettingsError, match=r"PSW_HISTORY_FROM \(2026-01-05\) is after"):
        load_settings({**d, "PSW_HISTORY_FROM": "2026-01-05"})
    with pytest.raises(SettingsError, match=r"PSW_HISTORY_TO \(2026-01-01\) is after the as-of"):
        load_settings({**d, "PSW_HISTORY_TO": "2026-01-01"})
    with pytest.raises(SettingsError, match="PSW_HISTORY_TO='June' is not a date"):
        load_settings({**d, "PSW_HISTORY_TO": "June"})


def test_engine_selects_the_dbt_output(tmp_path):
    assert load_settings({}).dbt_env()["PSW_DBT_TARGET"] == "duckdb"
    spark = load_settings({"PSW_ENGINE": "Spark", "PSW_WAREHOUSE_DIR": str(tmp_path)})
    assert spark.engine == "spark"
    assert spark.dbt_env()["PSW_DBT_TARGET"] == "spark"
    assert spark.dbt_env()["PSW_SPARK_DIR"] == str(tmp_path / "spark")
    cluster = load_settings({"PSW_ENGINE": "spark", "PSW_DBT_TARGET": "spark_thrift"})
    assert cluster.dbt_env()["PSW_DBT_TARGET"] == "spark_thrift"
    with pytest.raises(SettingsError, match="PSW_ENGINE='snowflake' is not one of: duckdb, spark"):
        load_settings({"PSW_ENGINE": "snowflake"})
    with pytest.raises(SettingsError, match="PSW_DBT_TARGET='spark' is not a duckdb output"):
        load_settings({"PSW_DBT_TARGET": "spark"})


def test_every_environment_variable_the_code_reads_is_documented():
    """Every `PSW_*` name in the Dagster code, dagster.yaml and dbt's profiles.yml appears in
    the docs, except the three paths the job derives for dbt from PSW_WAREHOUSE_DIR."""
    import re

    sources = [*(PROJECT_DIR / "orchestration").rglob("*.py")]
    sources += [PROJECT_DIR / "dagster.yaml", PROJECT_DIR / "dbt_project" / "profiles.yml"]
    names = {name for path in sources for name in re.findall(r"\bPSW_[A-Z_]+\b", path.read_text())}
    derived = {"PSW_BUILD_DB", "PSW_DUCKDB_TEMP_DIR", "PSW_SPARK_DIR"}
    assert derived <= set(load_settings({}).dbt_env())
    assert {"PSW_DBT_LOG_FILE_LEVEL", "PSW_SPARK_THRIFT_HOST", "PSW_DAGSTER_DIR"} <= names
    docs = "".join(path.read_text() for path in (PROJECT_DIR / "docs").glob("*.md"))
    assert sorted(name for name in names - derived if f"`{name}`" not in docs) == []


def test_dagster_yaml_configures_sqlite_storage_and_one_writer(dagster_home):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert str(instance.root_directory).startswith(str(dagster_home))
        limits = instance.get_concurrency_config().pool_config
        assert limits.default_pool_limit == 1


def test_dagster_definitions_validate_cli(dagster_home):
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate"],
        cwd=PROJECT_DIR,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr


def _dg(*args: str) -> subprocess.CompletedProcess[str]:
    """`dg <args>` from the project root, in this interpreter's environment."""
    dg_cli = Path(sys.executable).parent / "dg"
    return subprocess.run(
        [str(dg_cli), *args],
        cwd=PROJECT_DIR,
        # the venv this test runs in is the project's: say so, or dg warns that they differ
        env={**os.environ, "VIRTUAL_ENV": sys.prefix},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dg_check_defs(dagster_home):
    proc = _dg("check", "defs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_dg_list_defs_lists_the_job_schedule_sensors_and_assets(dagster_home):
    proc = _dg("list", "defs", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(proc.stdout)
    assert {job["name"] for job in listed["jobs"]} == {
        "nightly_refresh",
        "strategy_history_backfill",
    }
    assert [s["name"] for s in listed["schedules"]] == ["nightly_refresh_schedule"]
    assert {s["name"] for s in listed["sensors"]} == {
        "landing_zone_sensor",
        "nightly_refresh_failure_alert",
        "serving_freshness_alert",
    }
    assets = {a["asset_key"] for a in listed["assets"]}
    assert {"publish/serving_warehouse", "ingest/build_database", "raw/deals"} <= assets
    assert {f"marts/{name}" for name in MART_NAMES} <= assets
    assert {r["name"] for r in listed["resources"]} == {"dbt", "warehouse", "alerts"}


DEFS_DIR = PROJECT_DIR / "orchestration" / "defs"
DOMAINS = sorted(p.name for p in DEFS_DIR.iterdir() if (p / "__init__.py").exists())


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_the_domain_folders_under_defs_do_not_import_each_other():
    """ingest, transform, quality, publish and automation share names through
    orchestration/names.py only."""
    assert set(DOMAINS) == {"ingest", "transform", "quality", "publish", "automation", "history"}
    problems = []
    for domain in DOMAINS:
        for path in sorted((DEFS_DIR / domain).rglob("*.py")):
            for module in sorted(_imported_modules(path)):
                parts = module.split(".")
                if parts[:2] == ["orchestration", "defs"] and (
                    len(parts) < 3 or parts[2] != domain
                ):
                    problems.append(f"{path.relative_to(PROJECT_DIR)} imports {module}")
    assert problems == []


def test_the_shared_dbt_keys_are_those_of_the_dbt_assets():
    """orchestration/names.py reads the dbt asset keys from the manifest with the translator's
    scheme (the quality gates and publish use them without importing the dbt assets)."""
    assert set(dbt_asset_keys()) == set(dbt_models.keys)
