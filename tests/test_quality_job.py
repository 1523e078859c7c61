"""The gates inside the real nightly_refresh job: a failing blocking check stops the run before
publish, the run fails naming the expectation, and yesterday's serving file and exports stay
byte for byte. Each run starts from a copy of the metrics fixture's published warehouse (the
previous night), so its landing files are already loaded unless a test adds one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.names import NIGHTLY_JOB
from tests.conftest import JobRunner
from tests.fixtures import metrics
from tests.fixtures.quality import (
    check_evaluations,
    copy_warehouse,
    fingerprint,
    landing_with_bad_deals,
    seeds_with,
    step_statuses,
)

PUBLISH_STEP = "publish__serving_warehouse"


def upstream_nodes(node: str) -> set[str]:
    job = defs().resolve_job_def(NIGHTLY_JOB)
    inputs = job.graph.dependency_structure.input_to_upstream_outputs_for_node(node)
    return {output.node_name for outputs in inputs.values() for output in outputs}


def test_the_job_runs_every_check_and_publish_waits_for_the_gates():
    job = defs().resolve_job_def(NIGHTLY_JOB)
    nodes = {n.name for n in job.graph.nodes}
    gates = {"raw_partners_quality_gate", "raw_quality_gate", "warehouse_quality_gate"}
    assert gates <= nodes
    # AssetSelection.all() includes every check of the suites
    check_names = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert {"gx_raw_deals", "gx_raw_rejects", "gx_reference_strategy_targets"} <= check_names
    assert {"gx_mart_strategy_scorecard", "gx_mart_execution_alignment"} <= check_names
    # blocking checks on separately defined checks become execution dependencies in 1.13
    assert gates <= upstream_nodes(PUBLISH_STEP)
    assert {"raw_partners_quality_gate", "raw_quality_gate"} <= upstream_nodes("dbt_models")
    assert "raw_partners_quality_gate" in upstream_nodes("raw__deals")
    # one dbt step: Dagster did not have to split the dbt assets around the checks
    assert not any(name.startswith("dbt_models_") for name in nodes)


@pytest.fixture
def night(metrics_warehouse: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    warehouse = copy_warehouse(metrics_warehouse, tmp_path / "warehouse")
    return warehouse, fingerprint(warehouse)


def assert_blocked(runner: JobRunner, outcome, warehouse: Path, before: dict[str, str]) -> str:
    assert not outcome.success
    steps = step_statuses(runner, outcome.run_id)
    assert PUBLISH_STEP not in steps or steps[PUBLISH_STEP] == "SKIPPED", steps
    assert fingerprint(warehouse) == before
    assert not list(warehouse.glob(".serving.duckdb.*"))
    (failure,) = outcome.failures
    return failure


def test_seed_shares_not_summing_to_one_block_publish(night, job_runner, tmp_path):
    warehouse, before = night
    seeds = seeds_with(
        tmp_path / "seeds",
        {"investment_targets.csv": ("early,strategic,0.40", "early,strategic,0.30")},
    )
    landing = metrics.write_landing(tmp_path / "landing")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    failure = assert_blocked(job_runner, outcome, warehouse, before)
    assert failure.startswith("warehouse_quality_gate: ")
    assert (
        "reference/investment_targets [expectations/reference/investment_targets.json]: "
        "expect_column_values_to_be_between(column=stage_total_share, min_value=0.999999, "
        "max_value=1.000001) failed on reference.investment_targets: 4 of 16 rows unexpected"
        in failure
    ), failure
    assert "growth_stage=early, investment_category=acquisition" in failure
    assert set(outcome.failed_checks) == {
        "reference/investment_targets:gx_reference_investment_targets",
        "reference/growth_stage_playbook:gx_reference_growth_stage_playbook",  # a warning
    }
    evaluation = check_evaluations(job_runner, outcome.run_id)[
        "reference/investment_targets:gx_reference_investment_targets"
    ]
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.blocking
    docs = evaluation.metadata["data_docs"].value
    assert docs == str(warehouse / "data_docs" / "index.html") and Path(docs).is_file()
    assert evaluation.metadata["failed_critical"].value == 1


def test_a_failing_mart_check_blocks_publish(night, job_runner, tmp_path):
    """market_segments has no seed suite; a target above 100% shows in the coverage marts."""
    warehouse, before = night
    seeds = seeds_with(
        tmp_path / "seeds",
        {
            "market_segments.csv": (
                "US,smb,retail,100,1000000,channel,0.8",
                "US,smb,retail,100,1000000,channel,1.5",
            )
        },
    )
    landing = metrics.write_landing(tmp_path / "landing")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    failure = assert_blocked(job_runner, outcome, warehouse, before)
    assert failure.startswith("warehouse_quality_gate: ")
    assert (
        "marts/mart_coverage_cells [expectations/marts/mart_coverage_cells.json]: "
        "expect_column_values_to_be_between(column=target_coverage_pct, min_value=0.0, "
        "max_value=1.0) failed on marts.mart_coverage_cells: 1 of 7 rows unexpected (14.29%), "
        "e.g. country_code=US, segment=smb, vertical=retail" in failure
    ), failure
    assert "marts/mart_coverage_by_segment" in failure
    assert "reference/" not in failure  # the seed gates passed
    assert step_statuses(job_runner, outcome.run_id)["dbt_models"] == "SUCCESS"


def test_a_reject_rate_above_the_threshold_warns_and_publishes(night, job_runner, tmp_path):
    """A new deals extract of 120 rows, 10 of them rejected (8.3% > 5%): input that follows
    SPEC §3 publishes; the unusual reject rate is a warning (SPEC §7)."""
    warehouse, before = night
    landing = landing_with_bad_deals(tmp_path / "landing", good=110, bad=10)
    seeds = metrics.write_seeds(tmp_path / "seeds")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    assert fingerprint(warehouse) != before
    evaluation = check_evaluations(job_runner, outcome.run_id)["raw/deals:gx_raw_rejects"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    failed = evaluation.metadata["failed_expectations"].value
    assert {f["expectation"].split(",")[0] for f in failed} == {
        "expect_column_values_to_be_between(column=reject_pct_this_run_judged",
        "expect_column_values_to_be_between(column=reject_pct_this_run",
    }


def test_the_operators_reject_limit_stops_the_run_before_dbt(
    night, job_runner, tmp_path, monkeypatch
):
    """The same extract with PSW_REJECT_LIMIT_PCT=5: blocked before dbt, nothing published."""
    monkeypatch.setenv("PSW_REJECT_LIMIT_PCT", "5")
    warehouse, before = night
    landing = landing_with_bad_deals(tmp_path / "landing", good=110, bad=10)
    seeds = metrics.write_seeds(tmp_path / "seeds")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    failure = assert_blocked(job_runner, outcome, warehouse, before)
    assert failure.startswith("raw_quality_gate: ")
    assert (
        "raw/deals [expectations/raw/rejects.json]: "
        "expect_column_pair_values_a_to_be_greater_than_b(column_A=reject_limit_pct, "
        "column_B=reject_pct_pending_judged, or_equal=True, "
        "ignore_row_if=either_value_is_missing) failed on audit.loaded_files: "
        "1 of 3 rows unexpected (33.33%), e.g. file_name=deals_2025-06-03.csv" in failure
    ), failure
    steps = step_statuses(job_runner, outcome.run_id)
    assert "dbt_models" not in steps or steps["dbt_models"] == "SKIPPED", steps
