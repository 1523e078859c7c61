"""Invariants that must hold on any data (SPEC §5-6), checked on generated landing zones of
several seeds built by the real job, and the monthly mart checked against the as-of mart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestration.generator import generate
from orchestration.quality.parameters import seed_code_sets
from orchestration.settings import SEEDS_DIR
from tests.conftest import JobRunner, query, query_dicts
from tests.fixtures import metrics

AS_OF = "2026-03-31"  # a month end: the last monthly row is the as-of mart itself
SEED_PARTNER_TYPES = seed_code_sets(SEEDS_DIR)["partner_types"]
SEEDS = [1, 2, 3]
TOL = 1e-9


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def serving(request, tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> Path:
    root = tmp_path_factory.mktemp(f"invariants{request.param}")
    generate(root / "landing", scale=0.003, seed=request.param, end_date=date(2026, 3, 31))
    outcome = job_runner.run(root / "landing", root / "warehouse", as_of=AS_OF)
    assert outcome.success, outcome.summary()
    return root / "warehouse" / "serving.duckdb"


def one(db: Path, sql: str):
    [(value,)] = query(db, sql)
    return value


def test_shares_of_a_whole_sum_to_one(serving):
    for mart, column in [
        ("mart_execution_alignment", "actual_partner_share"),
        ("mart_execution_alignment", "actual_investment_share"),
        ("mart_execution_alignment", "revenue_share"),
        ("mart_investment_allocation", "actual_share"),
        ("mart_growth_stage_fit", "partner_share"),
    ]:
        total, nulls = query(
            serving, f"select sum({column}), count(*) - count({column}) from marts.{mart}"
        )[0]
        assert nulls == 0, (mart, column)  # the generated wholes are not empty
        assert abs(total - 1) < TOL, (mart, column, total)
    # partner new customers are part of all new customers (direct ones are the rest)
    assert (
        one(serving, "select sum(new_customer_share) from marts.mart_ecosystem_productivity")
        <= 1 + TOL
    )
    for mart in ["mart_execution_alignment", "mart_investment_allocation", "mart_growth_stage_fit"]:
        for column in ["actual_partner_share", "actual_share", "partner_share"]:
            cols = {r[0] for r in query(serving, f"describe marts.{mart}")}
            if column in cols:
                low, high = query(
                    serving, f"select min({column}), max({column}) from marts.{mart}"
                )[0]
                assert 0 <= low <= high <= 1


def test_alignment_scores_are_in_the_unit_interval(serving):
    [card] = query_dicts(serving, "select * from marts.mart_strategy_scorecard")
    for column in [
        "composition_alignment_score",
        "investment_alignment_score",
        "investment_mix_alignment_score",
        "growth_stage_fit_score",
        "coverage_pct",
        "active_ratio",
        "program_design_alignment_pct",
    ]:
        assert card[column] is not None and 0 <= card[column] <= 1, column


def test_herfindahl_lies_between_one_over_the_partners_and_one(serving):
    rows = query_dicts(serving, "select * from marts.mart_partner_concentration")
    assert sorted(r["partner_type"] for r in rows) == sorted(SEED_PARTNER_TYPES)
    [total] = query_dicts(serving, "select * from marts.mart_partner_concentration_total")
    assert str(total["as_of_date"]) == AS_OF
    # the total ranks every partner together: its partners and revenue are the types' sums
    assert total["partners"] == sum(r["partners"] for r in rows)
    assert total["partner_sourced_revenue_usd"] == pytest.approx(
        sum(r["partner_sourced_revenue_usd"] for r in rows), rel=TOL
    )
    for row in [*rows, total]:
        if row["revenue_partners"] == 0:
            assert row["herfindahl_index"] is None, row
            continue
        assert 1 / row["revenue_partners"] - 1e-12 <= row["herfindahl_index"] <= 1, row
        if row["revenue_partners"] == 1:  # one partner has it all: exactly 1, not 1 ± rounding
            assert row["herfindahl_index"] == 1.0 and row["top5_share"] == 1.0, row


def test_covered_never_exceeds_targeted(serving):
    rows = query_dicts(serving, "select * from marts.mart_coverage_by_segment")
    assert rows
    for row in rows:
        assert 0 <= row["covered_accounts"] <= row["targeted_accounts"]
        if row["targeted_accounts"]:
            assert 0 <= row["coverage_pct"] <= 1
    assert (
        one(serving, "select count(*) from marts.mart_coverage_cells where covering_partners < 0")
        == 0
    )


def test_active_never_exceeds_enrolled(serving):
    for mart in ["mart_ecosystem_productivity", "mart_productivity_monthly"]:
        bad = one(
            serving, f"select count(*) from marts.{mart} where active_partners > enrolled_partners"
        )
        assert bad == 0, mart
    bad = one(
        serving,
        "select count(*) from marts.mart_partner_scorecard where (is_active and not is_enrolled) "
        "or (is_qualified and not is_enrolled)",
    )
    assert bad == 0


def test_investment_by_category_sums_to_total_investment(serving):
    by_category = one(serving, "select sum(investment_usd) from marts.mart_investment_allocation")
    by_type = one(serving, "select sum(investment_usd) from marts.mart_ecosystem_productivity")
    by_partner = one(serving, "select sum(investment_usd) from marts.mart_partner_scorecard")
    total = one(serving, "select investment_usd from marts.mart_strategy_scorecard")
    assert total > 0
    for value in (by_category, by_type, by_partner):
        assert value == pytest.approx(total, rel=TOL)


def test_the_scorecard_agrees_with_the_marts_it_summarizes(serving):
    [card] = query_dicts(serving, "select * from marts.mart_strategy_scorecard")
    [prod] = query_dicts(
        serving,
        "select sum(enrolled_partners) as enrolled, sum(active_partners) as active, "
        "sum(partner_revenue_usd) as revenue, sum(partner_sourced_revenue_usd) as sourced, "
        "sum(new_customers) as new_customers from marts.mart_ecosystem_productivity",
    )
    assert card["enrolled_partners"] == prod["enrolled"]
    assert card["active_partners"] == prod["active"]
    assert card["partner_revenue_usd"] == pytest.approx(prod["revenue"], rel=TOL)
    assert card["partner_sourced_revenue_usd"] == pytest.approx(prod["sourced"], rel=TOL)
    assert card["new_customers"] == prod["new_customers"]
    [partners] = query_dicts(
        serving,
        "select count(*) filter (where is_qualified) as qualified, "
        "count(*) filter (where is_enrolled) as enrolled, sum(partner_revenue_usd) as revenue "
        "from marts.mart_partner_scorecard",
    )
    assert card["qualified_partners"] == partners["qualified"]
    assert card["enrolled_partners"] == partners["enrolled"]
    assert card["partner_revenue_usd"] == pytest.approx(partners["revenue"], rel=TOL)
    [seg] = query_dicts(
        serving,
        "select sum(covered_accounts) as covered, sum(targeted_accounts) as targeted "
        "from marts.mart_coverage_by_segment",
    )
    assert card["coverage_pct"] == pytest.approx(seg["covered"] / seg["targeted"], rel=TOL)
    assert card["roi_multiple"] == pytest.approx(
        card["partner_sourced_revenue_usd"] / card["investment_usd"], rel=TOL
    )
    # per type, the partner scorecard adds up to the productivity mart
    per_type = query(
        serving,
        "select p.partner_type, p.partner_revenue_usd, coalesce(s.revenue, 0), "
        "p.enrolled_partners, coalesce(s.enrolled, 0) "
        "from marts.mart_ecosystem_productivity p left join ("
        "select partner_type, sum(partner_revenue_usd) as revenue, "
        "count(*) filter (where is_enrolled) as enrolled from marts.mart_partner_scorecard "
        "group by 1) s using (partner_type)",
    )
    for partner_type, revenue, summed, enrolled, counted in per_type:
        assert revenue == pytest.approx(summed, rel=TOL, abs=1e-6), partner_type
        assert enrolled == counted, partner_type


# a column of mart_ecosystem_productivity -> the same figure in mart_productivity_monthly
# (the window W is 365 days in the shipped seed and in tests/fixtures/metrics.py)
MONTHLY_NAMES = {
    "partner_type": "partner_type",
    "enrolled_partners": "enrolled_partners",
    "active_partners": "active_partners",
    "active_ratio": "active_ratio",
    "median_days_to_first_win": "median_days_to_first_win",
    "window_start": "window_start",
    "partner_revenue_usd": "partner_revenue_usd_trailing_365d",
    "revenue_per_active_partner_usd": "revenue_per_active_partner_usd_trailing_365d",
    "partner_sourced_revenue_usd": "partner_sourced_revenue_usd_trailing_365d",
    "new_customers": "new_customers_trailing_365d",
    "new_customer_share": "new_customer_share_trailing_365d",
    "investment_usd": "investment_usd_trailing_365d",
    "roi_multiple": "roi_multiple_trailing_365d",
}


def test_the_last_month_end_row_is_the_as_of_mart(serving):
    as_of = query_dicts(serving, "select * from marts.mart_ecosystem_productivity order by 1")
    monthly = query_dicts(
        serving,
        "select * from marts.mart_productivity_monthly "
        f"where period_end = date '{AS_OF}' order by 1",
    )
    assert len(as_of) == len(monthly) == len(SEED_PARTNER_TYPES)
    assert one(serving, "select max(period_end) from marts.mart_productivity_monthly") == (
        date.fromisoformat(AS_OF)
    )
    for a, m in zip(as_of, monthly, strict=True):
        for column, monthly_column in MONTHLY_NAMES.items():
            assert a[column] == m[monthly_column], (a["partner_type"], column)


def test_monthly_row_equals_the_as_of_mart_run_at_that_month_end(
    metrics_warehouse, job_runner, tmp_path_factory
):
    """The March 2025 row of the run at D = 2025-06-30 equals a run at D = 2025-03-31."""
    root = tmp_path_factory.mktemp("metrics_march")
    landing = metrics.write_landing(root / "landing")
    seeds = metrics.write_seeds(root / "seeds")
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of="2025-03-31")
    assert outcome.success, outcome.summary()
    march = query_dicts(
        root / "warehouse" / "serving.duckdb",
        "select * from marts.mart_ecosystem_productivity order by partner_type",
    )
    monthly = query_dicts(
        metrics_warehouse / "serving.duckdb",
        "select * from marts.mart_productivity_monthly where month = date '2025-03-01' "
        "order by partner_type",
    )
    assert [r["partner_type"] for r in march] == [r["partner_type"] for r in monthly]
    for a, m in zip(march, monthly, strict=True):
        for column, monthly_column in MONTHLY_NAMES.items():
            assert a[column] == m[monthly_column], (a["partner_type"], column, a[column])
