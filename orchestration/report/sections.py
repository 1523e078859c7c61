"""The page header, the scorecard and the coverage sections of the report. Each section's
"how to read this" quotes the mart YAML (dbt docs) definitions."""

from __future__ import annotations

from html import escape

from orchestration.report import charts_coverage as charts
from orchestration.report import fmt
from orchestration.report.data import SEGMENTS, ReportData, Row, by_order, ordered
from orchestration.report.definitions import Definitions
from orchestration.report.html import Page, how_to_read, kpi, section, table, table_card

SCORECARD = "mart_strategy_scorecard"
# (column, label, format): the headline figures, in the order of SPEC §6
HEADLINES = [
    ("coverage_pct", "Coverage of targeted accounts", "pct"),
    ("active_ratio", "Active partner ratio", "pct"),
    ("partner_sourced_revenue_usd", "Partner-sourced revenue", "usd"),
    ("partner_revenue_share_of_tam", "Partner revenue / targeted TAM", "pct2"),
    ("roi_multiple", "ROI multiple", "x"),
    ("composition_alignment_score", "Composition alignment", "score"),
    ("investment_alignment_score", "Investment alignment", "score"),
    ("program_design_alignment_pct", "Program design alignment", "pct"),
    ("growth_stage_fit_score", "Growth-stage fit", "score"),
]


def value(row: Row | None, column: str, kind: str) -> str:
    """The row's figure formatted ("n/a" without a row): a kind of fmt.FORMATTERS, or "pct2"."""
    raw = None if row is None else row.get(column)
    if kind == "pct2":
        return fmt.pct(raw, 2)
    return fmt.FORMATTERS[kind](raw)


def _subs(s: Row | None) -> dict[str, str]:
    def v(column: str, kind: str) -> str:
        return value(s, column, kind)

    return {
        "coverage_pct": f"{v('covered_accounts', 'int')} of {v('targeted_accounts', 'int')} "
        "targeted accounts",
        "active_ratio": f"{v('active_partners', 'int')} of {v('enrolled_partners', 'int')} "
        "enrolled partners",
        "partner_sourced_revenue_usd": f"of {v('partner_revenue_usd', 'usd')} partner revenue",
        "partner_revenue_share_of_tam": f"of {v('targeted_addressable_revenue_usd', 'usd')} "
        "targeted addressable revenue",
        "roi_multiple": f"on {v('investment_usd', 'usd')} investment",
        "program_design_alignment_pct": f"{v('elements_with_objective', 'int')} of "
        f"{v('program_elements', 'int')} program elements",
        "growth_stage_fit_score": f"parts: {v('non_avoid_partner_share', 'score')} · "
        f"{v('core_types_active_share', 'score')} · "
        f"{v('investment_mix_alignment_score', 'score')}",
    }


def _published(value: object) -> str:
    text = fmt.text(value)
    return text if text == fmt.NA else f"{text[:16]} UTC"  # publish_log stores UTC


def header(data: ReportData) -> str:
    s = data.scorecard
    vendor = value(s, "vendor_name", "text")
    window = f"({value(s, 'window_start', 'date')}, {value(s, 'as_of_date', 'date')}]"
    meta = [
        ("As of", value(s, "as_of_date", "date")),
        ("Growth stage", value(s, "growth_stage", "text")),
        ("Activity window", window),
        ("Published", _published(data.published_at)),
        ("Rejected rows at load", fmt.integer(data.rejected_rows)),
    ]
    nav = [
        ("scorecard", "Scorecard"),
        ("coverage", "Coverage"),
        ("alignment", "Execution & stage fit"),
        ("productivity", "Productivity"),
        ("trends", "Trends"),
        ("history", "History"),
        ("gaps", "Coverage gaps"),
        ("diagnostics", "Diagnostics"),
    ]
    return (
        '<p class="eyebrow">Partner Strategy Warehouse · strategy report</p>'
        f"<h1>{escape(vendor)}: partnership strategy</h1>"
        '<div class="meta">'
        + "".join(f"<span>{escape(k)} <b>{escape(v)}</b></span>" for k, v in meta)
        + "</div><nav>"
        + "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in nav)
        + "</nav>"
    )


def scorecard(data: ReportData, d: Definitions) -> str:
    s = data.scorecard
    subs = _subs(s)
    cards = "".join(
        kpi(label, value(s, col, kind), subs.get(col, ""), d.column(SCORECARD, col))
        for col, label, kind in HEADLINES
    )
    howto = how_to_read(
        [(label, d.column(SCORECARD, col)) for col, label, _ in HEADLINES], d.model(SCORECARD)
    )
    return (
        '<section id="scorecard"><h2>Scorecard</h2>'
        f'<p class="intro">Headline figures of <code>{SCORECARD}</code>.</p>'
        f'<div class="kpis">{cards}</div>{howto}</section>'
    )


def coverage(page: Page, data: ReportData, d: Definitions) -> str:
    cells, seg = "mart_coverage_cells", "mart_coverage_by_segment"
    segments = ordered((r["segment"] for r in data["segments"]), SEGMENTS)
    heatmap = page.chart(
        "chart-coverage-heatmap",
        "Coverage of targeted accounts, region × segment",
        charts.coverage_heatmap(data["coverage_grid"]),
        note=f"Each tile sums the cells of `{cells}` in the region and segment: covered ÷ "
        "targeted accounts, as `coverage_pct` of `mart_coverage_by_segment`. Grey: no targeted "
        "cell (n/a).",
    )
    rows = [
        [
            r["segment"],
            fmt.pct(r["coverage_pct"]),
            fmt.pct(r["target_coverage_pct"]),
            fmt.pct_points(r["coverage_gap_pct"]),
            fmt.integer(r["covered_accounts"]),
            fmt.integer(r["targeted_accounts"]),
        ]
        for r in sorted(data["segments"], key=by_order(segments, "segment"))
    ]
    headers = ["Segment", "Coverage", "Target", "Gap", "Covered accounts", "Targeted accounts"]
    howto = how_to_read(
        [
            ("Covered cell", d.column(cells, "is_covered")),
            ("Targeted cell", d.column(cells, "is_targeted")),
            ("Coverage model", d.column(cells, "coverage_model")),
            ("Coverage %", d.column(seg, "coverage_pct")),
            ("Target coverage %", d.column(seg, "target_coverage_pct")),
        ],
        d.model(cells),
    )
    return section(
        "coverage",
        "Market coverage",
        d.model(seg),
        howto,
        heatmap,
        table_card(
            "Coverage by segment", table(headers, rows, numeric={1, 2, 3, 4, 5}), wide=False
        ),
    )


def gaps(page: Page, data: ReportData, d: Definitions) -> str:
    cells, seg = "mart_coverage_cells", "mart_coverage_by_segment"
    [totals] = data["uncovered_totals"] or [{"cells": None, "accounts": None, "revenue_usd": None}]
    summary = (
        f"{fmt.integer(totals['cells'] or 0)} targeted cells are not covered: "
        f"{fmt.integer(totals['accounts'])} accounts, {fmt.usd(totals['revenue_usd'])} "
        "addressable revenue. The largest are shown."
    )
    top = data["uncovered_cells"]
    cards = [
        page.chart(
            "chart-uncovered-cells",
            "Largest targeted cells with no covering partner",
            charts.uncovered_cells(top),
            note=summary,
        ),
        page.chart(
            "chart-segment-gaps", "Segments by coverage gap", charts.segment_gaps(data["segments"])
        ),
    ]
    rows = [
        [
            c["country_code"],
            fmt.text(c["region"]),
            c["segment"],
            c["vertical"],
            fmt.text(c["coverage_model"]),
            fmt.integer(c["addressable_accounts"]),
            fmt.usd(c["addressable_revenue_usd"]),
            fmt.pct(c["target_coverage_pct"]),
        ]
        for c in top
    ]
    headers = ["Country", "Region", "Segment", "Vertical", "Model", "Accounts", "Revenue", "Target"]
    cards.append(table_card("Top uncovered targeted cells", table(headers, rows, {5, 6, 7})))
    howto = how_to_read(
        [
            ("Targeted cell", d.column(cells, "is_targeted")),
            ("Covered cell", d.column(cells, "is_covered")),
            ("Addressable revenue", d.column(cells, "addressable_revenue_usd")),
            ("Coverage gap", d.column(seg, "coverage_gap_pct")),
        ]
    )
    intro = "Where the ecosystem falls short of the market it should cover."
    return section("gaps", "Top coverage gaps", intro, howto, *cards)
