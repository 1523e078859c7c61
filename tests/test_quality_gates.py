"""Every gate's suites, run directly (no Dagster run) on copies of the metrics fixture's build
database (tests/fixtures/metrics.py, built by the real job) into which faults are written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestration.defs.quality.checks import RAW_TARGETS, WAREHOUSE_TARGETS, check_result
from orchestration.quality.suites import load_suites
from orchestration.settings import EXPECTATIONS_DIR
from tests.fixtures import metrics
from tests.fixtures.quality import (
    RUN_ID,
    build_db_copy,
    execute,
    failures,
    gate,
    suite_targets,
    targets_for,
)

ALL = RAW_TARGETS + WAREHOUSE_TARGETS
# Warnings the fixture itself raises, by design: a 14-row deals file with one reject (7%), and
# a playbook that lists only the vendor's stage.
FIXTURE_WARNINGS = {
    ("raw/deals", "expect_column_values_to_be_between", "reject_pct_this_run", "warning"),
    (
        "reference/growth_stage_playbook",
        "expect_column_pair_values_to_be_equal",
        "stages_listed",
        "warning",
    ),
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return metrics.write_seeds(tmp_path_factory.mktemp("quality_seeds") / "seeds")


@pytest.fixture
def db(metrics_warehouse: Path, tmp_path: Path) -> Path:
    return build_db_copy(metrics_warehouse, tmp_path / "build.duckdb")


def test_the_fixture_passes_every_gate(db, seeds, tmp_path):
    report = gate(db, ALL, tmp_path / "w", seeds)
    assert not report.blocking, report.failure_message("gate")
    assert failures(report) == FIXTURE_WARNINGS
    assert {o.suite for o in report.outcomes} == {s.name for s in load_suites(EXPECTATIONS_DIR)}


# One fault per rule of SPEC §7 and of the brief, each in its own place, and the exact set of
# expectations that must fail because of it (nothing more, nothing less).
FAULTS = {
    "update raw.partners set partner_name = null where partner_id = 'P6'": [
        ("raw/partners", "expect_column_values_to_not_be_null", "partner_name")
    ],
    "insert into raw.deals select * from raw.deals where deal_id = 'D01'": [
        ("raw/deals", "expect_column_max_to_be_between", "deal_ids_stored_twice")
    ],
    "update raw.deals set stage = 'closed' where deal_id = 'D05'": [
        ("raw/deals", "expect_column_values_to_be_in_set", "stage")
    ],
    "update raw.deals set partner_id = 'P99' where deal_id = 'D07'": [
        ("raw/deals", "expect_column_max_to_be_between", "unknown_partner_ids")
    ],
    "update raw.certifications set expires_on = earned_on where certification_id = 'C1'": [
        ("raw/certifications", "expect_column_pair_values_a_to_be_greater_than_b", "expires_on")
    ],
    "alter table raw.certifications drop column track": [
        ("raw/certifications", "expect_table_columns_to_match_set", "-")
    ],
    "update raw.incentives set amount = -5 where incentive_id = 'I01'": [
        ("raw/incentives", "expect_column_values_to_be_between", "amount")
    ],
    # a file of this run with 20 of 200 rows rejected (10% > 5%), its rejects recorded
    "insert into audit.loaded_files values ('incentives', 'incentives_x.csv', 'h', 1, 99, "
    f"200, 180, 20, now()::timestamp, '{RUN_ID}'); "
    "insert into audit.rejected_rows select 'incentives', 'incentives_x.csv', 'k', 'r', "
    "now()::timestamp, 1, null, 99, null from range(20)": [
        # an unusual reject rate is a warning (SPEC §7)
        (
            "raw/incentives",
            "expect_column_values_to_be_between",
            "reject_pct_this_run_judged",
            "warning",
        ),
        ("raw/incentives", "expect_column_values_to_be_between", "reject_pct_this_run", "warning"),
    ],
    "update reference.strategy_targets set target_investment_share = 0.3 "
    "where partner_type = 'isv'": [
        ("reference/strategy_targets", "expect_column_sum_to_be_between", "target_investment_share")
    ],
    "update reference.investment_targets set target_share = 0.3 "
    "where growth_stage = 'early' and investment_category = 'strategic'": [
        ("reference/investment_targets", "expect_column_values_to_be_between", "stage_total_share")
    ],
    # the diagnostics' seeds, which SPEC does not list (warnings): weights that do not sum to 1,
    # an alert code nobody evaluates
    "update reference.health_score_weights set weight = 0.55 where lower(component) = 'revenue'": [
        ("reference/health_score_weights", "expect_column_sum_to_be_between", "weight", "warning")
    ],
    "update reference.alert_thresholds set alert_code = 'portfolio_drfit' "
    "where alert_code = 'portfolio_drift'": [
        (
            "reference/alert_thresholds",
            "expect_column_values_to_be_in_set",
            "alert_code_norm",
            "warning",
        )
    ],
    "insert into reference.vendor_profile select * from reference.vendor_profile": [
        ("reference/vendor_profile", "expect_table_row_count_to_equal", "-")
    ],
    # SPEC §4 does not bound a rate: a warning
    "update reference.fx_rates set usd_per_unit = 0 where currency = 'GBP'": [
        ("reference/fx_rates", "expect_column_values_to_be_between", "usd_per_unit", "warning")
    ],
    "update reference.fx_rates set month = month + 1 where currency = 'GBP'": [
        ("reference/fx_rates", "expect_column_values_to_be_in_set", "month_is_first_day")
    ],
    # a type without a playbook row must work (SPEC §4: a type added in the seeds alone)
    "delete from reference.growth_stage_playbook where partner_type = 'oem'": [
        (
            "reference/growth_stage_playbook",
            "expect_column_pair_values_to_be_equal",
            "types_in_stage",
            "warning",
        ),
        (
            "reference/vendor_profile",
            "expect_column_pair_values_to_be_equal",
            "playbook_types_for_stage",
            "warning",
        ),
    ],
    "update marts.mart_execution_alignment set actual_partner_share = 2 * actual_partner_share "
    "where partner_type = 'reseller'": [
        (
            "marts/mart_execution_alignment",
            "expect_column_values_to_be_between",
            "actual_partner_share_total",
        )
    ],
    "update marts.mart_investment_allocation set actual_share = 1.5 "
    "where investment_category = 'strategic'": [
        ("marts/mart_investment_allocation", "expect_column_values_to_be_between", "actual_share"),
        (
            "marts/mart_investment_allocation",
            "expect_column_values_to_be_between",
            "actual_share_total",
        ),
    ],
    "update marts.mart_ecosystem_productivity set new_customer_share = 0.9 "
    "where partner_type = 'isv'": [
        (
            "marts/mart_ecosystem_productivity",
            "expect_column_values_to_be_between",
            "new_customer_share_total",
        )
    ],
    "delete from marts.mart_growth_stage_fit where partner_type = 'oem'": [
        ("marts/mart_growth_stage_fit", "expect_column_pair_values_to_be_equal", "mart_rows"),
        (
            "marts/mart_growth_stage_fit",
            "expect_column_distinct_values_to_equal_set",
            "partner_type",
        ),
    ],
    "insert into marts.mart_coverage_by_geography select * from marts.mart_coverage_by_geography "
    "where country_code = 'US'": [
        ("marts/mart_coverage_by_geography", "expect_column_values_to_be_unique", "country_code"),
        ("marts/mart_coverage_by_geography", "expect_column_pair_values_to_be_equal", "mart_rows"),
    ],
    "update marts.mart_strategy_scorecard set composition_alignment_score = 1.2": [
        (
            "marts/mart_strategy_scorecard",
            "expect_column_values_to_be_between",
            "composition_alignment_score",
        )
    ],
    "delete from marts.mart_productivity_monthly where partner_type = 'oem' "
    "and month = (select max(month) from marts.mart_productivity_monthly)": [
        (
            "marts/mart_productivity_monthly",
            "expect_column_pair_values_to_be_equal",
            "types_in_month",
        )
    ],
    "update marts.mart_productivity_monthly set period_end = period_end + 1 "
    "where month = (select max(month) from marts.mart_productivity_monthly)": [
        (
            "marts/mart_productivity_monthly",
            "expect_column_values_to_be_in_set",
            "period_end_not_after_d",
        ),
        (
            "marts/mart_productivity_monthly",
            "expect_column_values_to_be_in_set",
            "last_month_ends_at_d",
        ),
    ],
    "update marts.mart_partner_concentration_total set top5_share = 1.5": [
        (
            "marts/mart_partner_concentration_total",
            "expect_column_values_to_be_between",
            "top5_share",
        )
    ],
    "update marts.mart_partner_scorecard set is_active = true, is_enrolled = false "
    "where partner_id = 'P6'": [
        ("marts/mart_partner_scorecard", "expect_column_values_to_be_in_set", "flags_consistent")
    ],
}


@pytest.fixture(scope="module")
def faulty(metrics_warehouse: Path, seeds: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("faulty")
    path = build_db_copy(metrics_warehouse, root / "build.duckdb")
    execute(path, *FAULTS)
    return gate(path, ALL, root / "w", seeds)


def test_each_fault_fails_exactly_its_expectations(faulty):
    expected = set(FIXTURE_WARNINGS)
    for found in FAULTS.values():
        for item in found:
            expected.add(item if len(item) == 4 else (*item, "critical"))
    assert failures(faulty) == expected


def test_failure_message_names_expectation_asset_table_and_keys(faulty):
    lines = faulty.failure_message("gate").splitlines()
    assert lines[0].startswith("gate: 25 blocking expectation(s) failed in 17 suite(s)")
    for expected in [
        "raw/deals [expectations/raw/deals.json]: expect_column_max_to_be_between("
        "column=deal_ids_stored_twice, min_value=0.0, max_value=0.0) failed on raw.deals: "
        "observed 1",
        "raw/deals [expectations/raw/deals.json]: expect_column_values_to_be_in_set("
        "column=stage, value_set=['registered', 'approved', 'rejected', 'won', 'lost', "
        "'expired']) failed on raw.deals: 1 of 15 rows unexpected (6.667%), e.g. deal_id=D05",
        "raw/certifications [expectations/raw/certifications.json]: "
        "expect_table_columns_to_match_set(column_set=[13 values], exact_match=False) failed on "
        "raw.certifications: missing columns ['track']",
        "reference/strategy_targets [expectations/reference/strategy_targets.json]: "
        "expect_column_sum_to_be_between(column=target_investment_share, min_value=0.999999, "
        "max_value=1.000001) failed on reference.strategy_targets: observed 1.1",
        "marts/mart_growth_stage_fit [expectations/marts/mart_growth_stage_fit.json]: "
        "expect_column_distinct_values_to_equal_set(column=partner_type, value_set=[8 values]) "
        "failed on marts.mart_growth_stage_fit: missing values ['oem']",
    ]:
        assert f"  - {expected}" in lines, expected
    # only blocking failures are listed; warnings are in the checks and the Data Docs
    for warning in ("reject_pct_this_run", "stages_listed", "usd_per_unit", "types_in_stage"):
        assert not any(warning in line for line in lines), warning
    assert any(
        line.startswith(
            "  - reference/fx_rates [expectations/reference/fx_rates.json]: "
            "expect_column_values_to_be_in_set(column=month_is_first_day"
        )
        for line in lines
    )
    assert lines[-1] == f"Data Docs: {faulty.docs_index}"


def test_check_results_carry_each_expectation_and_link_the_data_docs(faulty):
    outcome = next(o for o in faulty.outcomes if o.suite == "raw_deals")
    result = check_result(outcome, faulty)
    assert (result.passed, result.severity.value) == (False, "ERROR")
    assert result.check_name == "gx_raw_deals"
    meta = result.metadata
    failed = meta["failed_expectations"].value
    assert [f["expectation"].split(",")[0] for f in failed] == [
        "expect_column_max_to_be_between(column=deal_ids_stored_twice",
        "expect_column_max_to_be_between(column=unknown_partner_ids",
        "expect_column_values_to_be_in_set(column=stage",
    ]
    unique, unknown, stage = failed
    assert (unique["observed_value"], unknown["observed_value"]) == (1, 1)
    assert (stage["unexpected_count"], stage["sample_failing_keys"]) == (1, [{"deal_id": "D05"}])
    assert (meta["scope"].value, meta["rows_validated"].value, meta["chunks"].value) == (
        "all rows",
        15,
        1,
    )
    table = meta["results"].value.splitlines()
    assert len(table) == 2 + len(outcome.expectations) == 2 + meta["expectations"].value
    assert (
        "| `expect_column_max_to_be_between(column=deal_ids_stored_twice, min_value=0.0, "
        "max_value=0.0)` | critical | **FAILED** |  | observed 1 |" in meta["results"].value
    )
    assert Path(meta["data_docs"].value).is_file()
    page = meta["data_docs_page"].value
    assert page.startswith("file://") and Path(page.removeprefix("file://")).is_file()


def test_a_warning_alone_does_not_block(faulty):
    rejects = next(
        o for o in faulty.outcomes if o.suite == "raw_rejects" and o.asset == "raw/deals"
    )
    assert [e.severity for e in rejects.failed] == ["warning"]
    assert not rejects.blocks
    result = check_result(rejects, faulty)
    assert (result.passed, result.severity.value) == (False, "WARN")


def test_reject_threshold_and_minimum_rows_are_settings(db, seeds, tmp_path):
    """A file of this run: 30 of 150 rows rejected = 20%."""
    execute(
        db,
        "update audit.loaded_files set rows_read = 150, rows_loaded = 120, rows_rejected = 30 "
        "where file_name = 'incentives_2025-06-01.csv'",
        "insert into audit.rejected_rows select entity, file_name, 'k', 'r', now()::timestamp, "
        "1, null, load_id, null from audit.loaded_files, range(30) "
        "where file_name = 'incentives_2025-06-01.csv'",
    )
    targets = [t for t in targets_for(RAW_TARGETS, "raw_rejects") if t.asset == "raw/incentives"]

    def judged(**settings: object) -> set[str]:
        report = gate(db, targets, tmp_path / "w", seeds, **settings)
        return {
            f"{e.kwargs.get('column') or e.kwargs['column_B']}:{e.severity}"
            for o in report.outcomes
            for e in o.failed
        }

    # an unusual reject rate warns (SPEC §7); only the operator's PSW_REJECT_LIMIT_PCT blocks
    both = {"reject_pct_this_run_judged:warning", "reject_pct_this_run:warning"}
    assert judged() == both
    assert judged(reject_threshold_pct=20.0) == set()  # at most 20%: passes
    assert judged(reject_threshold_pct=19.9) == both
    assert judged(reject_min_rows=151) == {"reject_pct_this_run:warning"}  # too small to judge
    assert judged(run_id="a-later-run") == set()  # files of earlier runs are not judged again


def test_every_reject_must_be_recorded(db, seeds, tmp_path):
    execute(db, "delete from audit.rejected_rows")
    targets = [t for t in targets_for(RAW_TARGETS, "raw_rejects") if t.asset == "raw/deals"]
    report = gate(db, targets, tmp_path / "w", seeds)
    assert failures(report) == {
        ("raw/deals", "expect_column_pair_values_to_be_equal", "rejects_recorded", "critical"),
        ("raw/deals", "expect_column_values_to_be_between", "reject_pct_this_run", "warning"),
    }


def test_a_missing_table_blocks_and_is_named(db, seeds, tmp_path):
    execute(db, "drop table marts.mart_vertical_depth")
    report = gate(db, targets_for(WAREHOUSE_TARGETS, "mart_vertical_depth"), tmp_path / "w", seeds)
    (outcome,) = report.outcomes
    assert outcome.blocks
    assert "table marts.mart_vertical_depth" in outcome.error
    assert "does not exist in the build database" in report.failure_message("gate")


def test_adding_an_expectation_to_a_file_enforces_it(db, seeds, tmp_path):
    folder = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, folder)
    path = folder / "marts" / "mart_strategy_scorecard.json"
    data = json.loads(path.read_text())
    data["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "roi_multiple", "max_value": 1},
            "meta": {"rule": "an example rule added by a user", "spec": "§6 roi_multiple"},
        }
    )
    path.write_text(json.dumps(data))
    (suite,) = [s for s in load_suites(folder) if s.name == "mart_strategy_scorecard"]
    report = gate(db, suite_targets(suite), tmp_path / "w", seeds)
    assert failures(report) == {
        (
            "marts/mart_strategy_scorecard",
            "expect_column_values_to_be_between",
            "roi_multiple",
            "critical",
        )
    }


def test_data_docs_keep_the_latest_result_of_each_suite(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    targets = targets_for(WAREHOUSE_TARGETS, "reference_fx_rates")
    first = gate(db, targets, warehouse, seeds, run_name="night-1")
    second = gate(db, targets, warehouse, seeds, run_name="night-2")
    index = warehouse / "data_docs" / "index.html"
    assert first.docs_index == second.docs_index == index
    assert "reference_fx_rates" in index.read_text()
    pages = warehouse / "data_docs" / "validations" / "reference_fx_rates"
    results = warehouse / "gx" / "validations" / "reference_fx_rates"
    assert [p.name for p in pages.iterdir()] == ["night-2"]
    assert [p.name for p in results.iterdir()] == ["night-2"]


def test_no_progress_bars_in_the_logs(db, seeds, tmp_path, capfd):
    gate(db, targets_for(WAREHOUSE_TARGETS, "mart_vertical_depth"), tmp_path / "w", seeds)
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.out + captured.err
    assert "it/s" not in captured.err


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("partners", "partner_id"),
        ("deals", "deal_id"),
        ("certifications", "certification_id"),
        ("incentives", "incentive_id"),
    ],
)
def test_a_duplicate_raw_key_blocks(db, seeds, tmp_path, entity, key):
    """dbt does not test the raw keys (dbt_project/models/staging/_sources.yml): this gate,
    which runs before dbt and blocks it, is the only place a duplicate key is caught."""
    execute(db, f"insert into raw.{entity} select * from raw.{entity} order by {key} limit 1")
    report = gate(db, targets_for(RAW_TARGETS, f"raw_{entity}"), tmp_path / "w", seeds)
    assert failures(report) == {
        (f"raw/{entity}", "expect_column_max_to_be_between", f"{key}s_stored_twice", "critical")
    }
    (outcome,) = report.blocking
    (duplicate,) = outcome.failed
    assert duplicate.observed_value == 1  # one key stored twice
