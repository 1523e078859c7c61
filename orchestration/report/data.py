"""Read what the report shows from the serving database, read-only, as a BI client does."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.quality.parameters import seed_code_sets
from orchestration.settings import AUDIT_SCHEMA, MART_SCHEMA, SEEDS_DIR

# The order in which the report lists partner types, regions and segments: the order of their
# seeds (partner_types.csv, regions.csv, segments.csv). Codes the seeds do not name still show,
# after these (`ordered`).
_SEED_CODES = seed_code_sets(SEEDS_DIR)
PARTNER_TYPES = tuple(_SEED_CODES["partner_types"])
REGIONS = tuple(_SEED_CODES["regions"])
SEGMENTS = tuple(_SEED_CODES["segments"])
TOP_GAPS = 10

M = MART_SCHEMA


def history_months(mart: str, columns: str, then_by: str = "") -> str:
    """The rows of history mart `mart` on its last date of each month, over the 12 calendar
    months to its latest date, with `month` (the month's first day)."""
    order = f"history.as_of_date, {then_by}" if then_by else "history.as_of_date"
    return f"""
        with latest as (
            select date_trunc('month', max(as_of_date)) as last_month from {M}.{mart}
        ),
        month_dates as (
            select max(history.as_of_date) as as_of_date
            from {M}.{mart} as history, latest
            where date_trunc('month', history.as_of_date) > latest.last_month - interval 12 month
            group by date_trunc('month', history.as_of_date)
        )
        select {columns}, history.as_of_date,
            cast(date_trunc('month', history.as_of_date) as date) as month
        from {M}.{mart} as history
        join month_dates using (as_of_date)
        order by {order}"""


QUERIES: dict[str, str] = {
    # Coverage of targeted accounts per region × segment, aggregated from the cells with the
    # definition of mart_coverage_by_segment.coverage_pct (covered ÷ targeted accounts).
    "coverage_grid": f"""
        select coalesce(region, 'n/a') as region, segment,
            count(*) filter (where is_targeted) as targeted_cells,
            count(*) filter (where is_targeted and not is_covered) as uncovered_cells,
            coalesce(sum(addressable_accounts) filter (where is_targeted), 0)
                as targeted_accounts,
            coalesce(sum(addressable_accounts) filter (where is_targeted and is_covered), 0)
                as covered_accounts,
            coalesce(sum(addressable_revenue_usd) filter (where is_targeted), 0)
                as targeted_revenue_usd,
            covered_accounts / nullif(targeted_accounts, 0) as coverage_pct
        from {M}.mart_coverage_cells
        group by all
        order by region, segment""",
    "uncovered_cells": f"""
        select country_code, segment, vertical, region, coverage_model, addressable_accounts,
            addressable_revenue_usd, target_coverage_pct
        from {M}.mart_coverage_cells
        where is_targeted and not is_covered
        order by addressable_revenue_usd desc nulls last, addressable_accounts desc nulls last,
            country_code, segment, vertical
        limit {TOP_GAPS}""",
    "uncovered_totals": f"""
        select count(*) as cells, sum(addressable_accounts) as accounts,
            sum(addressable_revenue_usd) as revenue_usd
        from {M}.mart_coverage_cells
        where is_targeted and not is_covered""",
    "segments": f"""
        select * from {M}.mart_coverage_by_segment
        order by coverage_gap_pct desc nulls last, segment""",
    "alignment": f"select * from {M}.mart_execution_alignment order by partner_type",
    "stage_fit": f"select * from {M}.mart_growth_stage_fit order by partner_type",
    "allocation": f"""
        select * from {M}.mart_investment_allocation
        order by category_order, investment_category""",
    "productivity": f"select * from {M}.mart_ecosystem_productivity order by partner_type",
    "monthly": f"""
        select partner_type, month, period_end, is_month_to_date, active_partners,
            partner_revenue_usd_in_month, partner_sourced_revenue_usd_in_month,
            investment_usd_in_month, roi_multiple_trailing_365d
        from {M}.mart_productivity_monthly
        order by month, partner_type""",
    # the history's last date of each month, over the 12 calendar months to its latest date
    "history": history_months(
        "mart_partner_type_history",
        "history.partner_type, history.enrolled_partners, history.active_partners, "
        "history.qualified_partners, history.partner_revenue_usd, history.investment_usd",
        "history.partner_type",
    ),
    "strategy_history": history_months("mart_strategy_history", "history.* exclude (as_of_date)"),
    # triggered alerts first, the most severe first
    "alerts": f"""
        select * from {M}.mart_strategy_alerts
        order by is_triggered desc,
            severity_sort_order nulls last,
            alert_code, partner_type nulls first""",
    "concentration": f"select * from {M}.mart_partner_concentration order by partner_type",
    "concentration_total": f"select * from {M}.mart_partner_concentration_total",
    # funnel, conflict, activation and health per partner type, summed over their grains with
    # the marts' own formulas (rates of sums, not means of rates)
    "diagnostics_by_type": f"""
        with funnel as (
            select partner_type, sum(submitted) as submitted, sum(approved) as approved,
                sum(rejected) as rejected, sum(won) as won, sum(lost) as lost
            from {M}.mart_deal_registration_funnel group by 1
        ),
        conflict as (
            select partner_type, sum(partner_deals) as partner_deals,
                sum(conflicted_deals) as conflicted_deals
            from {M}.mart_channel_conflict group by 1
        ),
        activation as (
            select partner_type, sum(partners) as cohort_partners,
                sum(activated_within_90_days) as activated
            from {M}.mart_partner_activation where is_cohort_90_days_old group by 1
        ),
        health as (
            select partner_type, count(*) as partners, median(health_score) as median_health
            from {M}.mart_partner_health group by 1
        )
        select
            coalesce(funnel.partner_type, conflict.partner_type, activation.partner_type,
                health.partner_type) as partner_type,
            funnel.submitted,
            funnel.approved / nullif(funnel.approved + funnel.rejected, 0) as approval_rate,
            funnel.won / nullif(funnel.won + funnel.lost, 0) as win_rate_of_approved,
            conflict.conflicted_deals / nullif(conflict.partner_deals, 0) as conflict_rate,
            activation.activated / nullif(activation.cohort_partners, 0)
                as activation_rate_90_days,
            health.median_health
        from funnel
        full join conflict using (partner_type)
        full join activation using (partner_type)
        full join health using (partner_type)
        order by 1""",
}
# Queries of marts added later (strategy diagnostics): an older serving file without them
# shows "n/a" in their place rather than failing the report.
OPTIONAL = {"alerts", "concentration", "concentration_total", "diagnostics_by_type", "history"}


Row = dict[str, Any]


@dataclass
class ReportData:
    scorecard: Row | None
    tables: dict[str, list[Row]]
    rejected_rows: int | None
    published_at: Any

    def __getitem__(self, name: str) -> list[Row]:
        return self.tables[name]


def _clean(value: Any) -> Any:
    """JSON-friendly scalars: Decimal as float, NaN and infinities as None (shown as n/a)."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [{n: _clean(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _optional_rows(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> list[Row]:
    try:
        return _rows(con, sql)
    except duckdb.CatalogException:
        if name in OPTIONAL:
            return []
        raise


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    try:
        row = con.execute(sql).fetchone()
    except duckdb.CatalogException:  # an older serving file without the audit table
        return None
    return row[0] if row else None


def load(serving_db: Path) -> ReportData:
    """Every figure of the report, from `serving_db` opened read-only."""
    if not serving_db.exists():
        raise FileNotFoundError(f"{serving_db} does not exist: publish the marts first")
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        scorecard = _rows(con, f"select * from {M}.mart_strategy_scorecard")
        tables = {name: _optional_rows(con, name, sql) for name, sql in QUERIES.items()}
        rejected = _scalar(con, f"select count(*) from {AUDIT_SCHEMA}.rejected_rows")
        published_at = _scalar(con, f"select max(published_at) from {AUDIT_SCHEMA}.publish_log")
    finally:
        con.close()
    return ReportData(
        scorecard=scorecard[0] if scorecard else None,
        tables=tables,
        rejected_rows=None if rejected is None else int(rejected),
        published_at=published_at,
    )


def ordered(values: Iterable[Any], preferred: tuple[str, ...]) -> list[str]:
    """The distinct non-null values, in the preferred order first, then any others sorted."""
    present = {str(v) for v in values if v is not None}
    return [v for v in preferred if v in present] + sorted(present - set(preferred))


def by_order(order: list[str], field: str) -> Callable[[Row], tuple[int, str]]:
    """A sort key that puts rows in `order` of their `field`, unknown values last."""

    def key(row: Row) -> tuple[int, str]:
        value = row.get(field)
        return (order.index(value) if value in order else len(order), str(value))

    return key
