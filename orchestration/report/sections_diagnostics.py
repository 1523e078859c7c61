"""The strategy-diagnostics section of the report: the strategy alerts and revenue
concentration. Its "how to read this" quotes the mart YAML definitions."""

from __future__ import annotations

from orchestration.report import charts_diagnostics as charts
from orchestration.report import fmt
from orchestration.report.data import PARTNER_TYPES, ReportData, Row
from orchestration.report.definitions import Definitions
from orchestration.report.html import Page, how_to_read, section, table, table_card

ALERTS = "mart_strategy_alerts"
CONCENTRATION = "mart_partner_concentration"
FUNNEL = "mart_deal_registration_funnel"
CONFLICT = "mart_channel_conflict"
ACTIVATION = "mart_partner_activation"
HEALTH = "mart_partner_health"


def _figure(row: Row, column: str) -> str:
    """A drift streak is a count; every other alert measures a share."""
    if row["alert_code"] == "portfolio_drift":
        return fmt.integer(row[column])
    return fmt.pct(row[column])


def diagnostics(page: Page, data: ReportData, d: Definitions) -> str:
    alerts = data["alerts"]
    # the per-type rows, then the whole ecosystem (mart_partner_concentration_total) as "all"
    rows = [
        *data["concentration"],
        *({**r, "partner_type": "all"} for r in data["concentration_total"]),
    ]
    order = [*PARTNER_TYPES, "all"]
    triggered = sum(1 for r in alerts if r["is_triggered"])
    chart = page.chart(
        "chart-partner-concentration",
        "Concentration of partner-sourced revenue",
        charts.concentration(rows, order),
        note="Share of the window's partner-sourced revenue held by the largest partners of "
        "each type and of the whole ecosystem ('all'); types without revenue are left out.",
    )
    table_rows = [
        [
            "fires" if r["is_triggered"] else "ok",
            fmt.text(r["severity"]),
            r["alert_code"],
            fmt.text(r["partner_type"]) if r["partner_type"] else "all",
            _figure(r, "metric_value"),
            _figure(r, "threshold"),
            fmt.text(r["explanation"]),
        ]
        for r in alerts
    ]
    headers = ["Status", "Severity", "Alert", "Partner type", "Value", "Threshold", "Explanation"]
    alert_card = table_card(
        f"Strategy alerts: {triggered} of {len(alerts)} checks fire",
        table(headers, table_rows, numeric={4, 5}),
    )
    by_type = data["diagnostics_by_type"]
    type_rows = [
        [
            fmt.text(r["partner_type"]),
            fmt.integer(r["submitted"]),
            fmt.pct(r["approval_rate"]),
            fmt.pct(r["win_rate_of_approved"]),
            fmt.pct(r["conflict_rate"]),
            fmt.pct(r["activation_rate_90_days"]),
            fmt.score(r["median_health"]),
        ]
        for r in by_type
        if r["partner_type"]
    ]
    type_card = table_card(
        "Registration funnel, channel conflict, activation and health by partner type",
        table(
            [
                "Partner type",
                "Registrations",
                "Approval rate",
                "Win rate (approved)",
                "Conflict rate",
                "Activated in 90 days",
                "Median health",
            ],
            type_rows,
            numeric={1, 2, 3, 4, 5, 6},
        ),
    )
    howto = how_to_read(
        [
            ("Alert", d.column(ALERTS, "alert_code")),
            ("Value", d.column(ALERTS, "metric_value")),
            ("Threshold", d.column(ALERTS, "threshold")),
            ("Top k%", d.column(CONCENTRATION, "top_10pct_share")),
            ("Top 5 partners", d.column(CONCENTRATION, "top5_share")),
            ("Herfindahl index", d.column(CONCENTRATION, "herfindahl_index")),
            ("Approval rate", d.column(FUNNEL, "approval_rate")),
            ("Win rate (approved)", d.column(FUNNEL, "win_rate_of_approved")),
            ("Conflict rate", d.column(CONFLICT, "conflict_rate")),
            ("Activated in 90 days", d.column(ACTIVATION, "activation_rate_90_days")),
            ("Median health", d.column(HEALTH, "health_score")),
        ],
        d.model(ALERTS),
    )
    intro = (
        "Early warnings for the common strategy failures (drift, unfunded strategy, money "
        "following relationship history), how concentrated partner revenue is, and per "
        "partner type the registration funnel, channel conflict, activation of new partners "
        "and partner health. The detail (by region, month, cohort and partner) is in the "
        "marts for BI."
    )
    return section(
        "diagnostics", "Strategy diagnostics", intro, howto, alert_card, chart, type_card
    )
