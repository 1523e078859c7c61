"""The partner-type sections of the report: execution alignment and growth-stage fit,
productivity and monthly trends. Each "how to read this" quotes the mart YAML definitions."""

from __future__ import annotations

from orchestration.report import charts_partners as charts
from orchestration.report import fmt
from orchestration.report.data import PARTNER_TYPES, ReportData, Row, by_order, ordered
from orchestration.report.definitions import Definitions
from orchestration.report.html import Page, how_to_read, section, table, table_card
from orchestration.report.sections import value


def alignment(page: Page, data: ReportData, d: Definitions) -> str:
    ea, fit, alloc = (
        "mart_execution_alignment",
        "mart_growth_stage_fit",
        "mart_investment_allocation",
    )
    rows, fits, cats = data["alignment"], data["stage_fit"], data["allocation"]
    types = ordered((r["partner_type"] for r in rows + fits), PARTNER_TYPES)
    first = rows[0] if rows else None
    stage = fmt.text(fits[0]["growth_stage"] if fits else None)
    composition = (
        f"Composition alignment score: {value(first, 'composition_alignment_score', 'score')}."
    )
    investment = (
        f"Investment alignment score: {value(first, 'investment_alignment_score', 'score')}."
    )
    category_score = value(cats[0] if cats else None, "category_alignment_score", "score")
    order = [r["investment_category"] for r in cats]
    cards = [
        page.chart(
            "chart-partner-mix",
            "Partner mix against the strategy target",
            charts.share_vs_target(
                rows,
                "partner_type",
                "actual_partner_share",
                "target_partner_share",
                "partner_share_gap",
                types,
            ),
            note=composition,
        ),
        page.chart(
            "chart-investment-mix",
            "Investment mix by partner type against the strategy target",
            charts.share_vs_target(
                rows,
                "partner_type",
                "actual_investment_share",
                "target_investment_share",
                "investment_share_gap",
                types,
            ),
            note=investment,
        ),
        page.chart(
            "chart-investment-category",
            f"Investment by category against the {stage}-stage target",
            charts.share_vs_target(
                cats,
                "investment_category",
                "actual_share",
                "target_share",
                "share_gap",
                order,
                target_label="Stage target",
            ),
            note=f"Category alignment score: {category_score}.",
        ),
        page.chart(
            "chart-playbook-fit",
            f"Ecosystem against the {stage}-stage playbook",
            charts.playbook_fit(fits, types),
            note="Bars: share of enrolled partners; label: verdict.",
        ),
    ]
    table_rows = [
        [
            r["partner_type"],
            fmt.text(r["role"]),
            fmt.integer(r["enrolled_partners"]),
            fmt.pct(r["partner_share"]),
            fmt.integer(r["active_partners"]),
            fmt.text(r["verdict"]),
            fmt.text(r["rationale"]),
        ]
        for r in sorted(fits, key=by_order(types, "partner_type"))
    ]
    headers = ["Partner type", "Role", "Enrolled", "Share", "Active", "Verdict", "Rationale"]
    cards.append(
        table_card("Growth-stage playbook fit", table(headers, table_rows, numeric={2, 3, 4}))
    )
    howto = how_to_read(
        [
            ("Actual partner share", d.column(ea, "actual_partner_share")),
            ("Target partner share", d.column(ea, "target_partner_share")),
            ("Actual investment share", d.column(ea, "actual_investment_share")),
            ("Alignment score", d.column(ea, "composition_alignment_score")),
            ("Investment category", d.column(alloc, "investment_category")),
            ("Stage target", d.column(alloc, "target_share")),
            ("Playbook role", d.column(fit, "role")),
            ("Verdict", d.column(fit, "verdict")),
        ],
        d.model(fit),
    )
    return section(
        "alignment", "Strategy execution and growth-stage fit", d.model(ea), howto, *cards
    )


def productivity(page: Page, data: ReportData, d: Definitions) -> str:
    m = "mart_ecosystem_productivity"
    rows, s = data["productivity"], data.scorecard
    types = ordered((r["partner_type"] for r in rows), PARTNER_TYPES)
    ratio_rows = [
        {
            **r,
            "detail": fmt.integer(r["active_partners"])
            + " of "
            + fmt.integer(r["enrolled_partners"]),
        }
        for r in rows
    ]
    overall = {k: None if s is None else s.get(k) for k in ("roi_multiple", "active_ratio")}

    cards = [
        page.chart(
            "chart-revenue-by-type",
            "Partner revenue by partner type",
            charts.revenue_by_type(rows, types),
        ),
        page.chart(
            "chart-roi-by-type",
            "ROI multiple by partner type",
            charts.by_type_bars(
                rows,
                types,
                "roi_multiple",
                "x",
                "ROI multiple",
                overall["roi_multiple"],
                "all types",
            ),
            note="Partner-sourced revenue ÷ investment in the window; dashed: all types.",
        ),
        page.chart(
            "chart-active-ratio",
            "Active partner ratio by partner type",
            charts.by_type_bars(
                ratio_rows,
                types,
                "active_ratio",
                "pct",
                "Active ratio",
                overall["active_ratio"],
                "all types",
                detail="detail",
            ),
            note="Label: active of enrolled partners; dashed: all types.",
        ),
        page.chart(
            "chart-new-customer-share",
            "Share of new customers by partner type",
            charts.by_type_bars(
                rows,
                types,
                "new_customer_share",
                "pct",
                "New-customer share",
                None if s is None else s.get("new_customer_share"),
                "all types",
            ),
            note="New customers won through the type ÷ all new customers; dashed: all types.",
        ),
    ]
    columns = [
        ("enrolled_partners", "Enrolled", "int"),
        ("active_partners", "Active", "int"),
        ("active_ratio", "Active ratio", "pct"),
        ("partner_revenue_usd", "Partner revenue", "usd"),
        ("partner_sourced_revenue_usd", "Sourced revenue", "usd"),
        ("revenue_per_active_partner_usd", "Revenue / active partner", "usd"),
        ("new_customers", "New customers", "int"),
        ("new_customer_share", "New-customer share", "pct"),
        ("investment_usd", "Investment", "usd"),
        ("roi_multiple", "ROI", "x"),
        ("median_days_to_first_win", "Median days to first win", "int"),
    ]
    table_rows = [
        [r["partner_type"], *(fmt.FORMATTERS[k](r[c]) for c, _, k in columns)]
        for r in sorted(rows, key=by_order(types, "partner_type"))
    ]
    headers = ["Partner type", *(label for _, label, _ in columns)]
    cards.append(
        table_card(
            "Productivity by partner type",
            table(headers, table_rows, numeric=set(range(1, len(headers)))),
        )
    )
    howto = how_to_read([(label, d.column(m, c)) for c, label, _ in columns], d.model(m))
    intro = "What each partner type sells, costs and returns over the activity window."
    return section("productivity", "Productivity and ROI by partner type", intro, howto, *cards)


def trends(page: Page, data: ReportData, d: Definitions) -> str:
    m = "mart_productivity_monthly"
    monthly = charts_months(data["monthly"])
    measures = [
        ("active_partners", "Active partners", "int"),
        ("partner_revenue_usd_in_month", "Partner revenue in the month (USD)", "usd"),
        ("investment_usd_in_month", "Investment in the month (USD)", "usd"),
        ("roi_multiple_trailing_365d", "ROI multiple, trailing 365 days", "x"),
    ]
    cards, howto = trend_cards(page, d, m, monthly, measures, "trend", " by month")
    intro = "The productivity measures over time, one line per partner type."
    to_date = [r["period_end"] for r in monthly if r["is_month_to_date"]]
    if to_date:
        intro += f" The last month runs to {fmt.day(to_date[0])} (month to date)."
    return section("trends", "Monthly trends", intro, howto, *cards)


def history(page: Page, data: ReportData, d: Definitions) -> str:
    m = "mart_partner_type_history"
    rows = data["history"]
    measures = [
        ("enrolled_partners", "Enrolled partners", "int"),
        ("qualified_partners", "Qualified partners", "int"),
        ("partner_revenue_usd", "Partner revenue in the window (USD)", "usd"),
        ("investment_usd", "Investment in the window (USD)", "usd"),
    ]
    headlines = data["strategy_history"]
    headline_measures = [
        ("coverage_pct", "Coverage of targeted accounts", "pct"),
        ("active_ratio", "Active ratio", "pct"),
        ("partner_sourced_revenue_usd", "Partner-sourced revenue in the window (USD)", "usd"),
        ("roi_multiple", "ROI multiple", "x"),
        ("composition_alignment_score", "Composition alignment", "score"),
        ("growth_stage_fit_score", "Growth-stage fit", "score"),
    ]
    caption = ", as the sources stood at each month's last date"
    headline_cards = [
        page.chart(
            f"chart-history-{col}",
            f"{label}{caption}",
            charts.headline_trend(headlines, col, kind, label),
        )
        for col, label, kind in headline_measures
    ]
    type_cards, _ = trend_cards(page, d, m, rows, measures, "history", caption)
    cards = [*headline_cards, *type_cards]
    howto = how_to_read(
        [(label, d.column("mart_strategy_history", c)) for c, label, _ in headline_measures]
        + [(f"{label} (by type)", d.column(m, c)) for c, label, _ in measures],
        d.model("mart_strategy_history"),
    )
    dates = sorted({r["as_of_date"] for r in [*rows, *headlines]})
    if dates:
        intro = (
            f"The headline figures and the partner types over the last 12 months of the history "
            f"({len(dates)} dates, "
            f"{fmt.day(dates[0])} to {fmt.day(dates[-1])}): each point is what the source "
            "systems said on its date, as that night published it; later extracts do not move "
            "it. The history grows by a date each night."
        )
    else:
        intro = "The history holds no date yet: the next refresh adds its as-of date."
    return section("history", "History: as the sources stood", intro, howto, *cards)


def trend_cards(
    page: Page,
    d: Definitions,
    mart: str,
    rows: list[Row],
    measures: list[tuple[str, str, str]],
    prefix: str,
    caption: str,
) -> tuple[list[str], str]:
    """One line chart per (column, label, format) of `measures` over the rows' months, a line
    per partner type (chart ids `chart-<prefix>-<column>`, titles `<label><caption>`), and
    their "how to read this"."""
    types = ordered((r["partner_type"] for r in rows), PARTNER_TYPES)
    cards = [
        page.chart(
            f"chart-{prefix}-{col}",
            f"{label}{caption}",
            charts.trend(rows, types, col, kind, label),
        )
        for col, label, kind in measures
    ]
    howto = how_to_read([(label, d.column(mart, c)) for c, label, _ in measures], d.model(mart))
    return cards, howto


def charts_months(monthly: list[Row]) -> list[Row]:
    """The months from the first one with any activity, revenue or investment (a long idle
    history before the program started would flatten the lines)."""
    busy = [
        r["month"]
        for r in monthly
        if any(
            r[c]
            for c in ("active_partners", "partner_revenue_usd_in_month", "investment_usd_in_month")
        )
    ]
    if not busy:
        return monthly
    start = min(busy)
    return [r for r in monthly if r["month"] >= start]
