"""Coverage charts as Vega-Lite specs (built with altair): the region × segment heatmap and
the coverage gaps. A builder returns None when it has nothing to draw; the page then shows
"n/a" in the chart's place. Labels and tooltips are pre-formatted, so a null figure reads
"n/a" rather than "null" or a misleading 0."""

from __future__ import annotations

import altair as alt

from orchestration.report import fmt
from orchestration.report.data import REGIONS, SEGMENTS, Row, ordered
from orchestration.report.theme import (
    BAD,
    GOOD,
    INK,
    MUTED,
    NEUTRAL,
    SCALE_SEQUENTIAL,
    Spec,
    bar_height,
    end_label,
    finish,
    headroom,
    inline,
    usd_axis,
)


def coverage_heatmap(grid: list[Row]) -> Spec | None:
    """Coverage of targeted accounts per region × segment."""
    if not grid:
        return None
    values = [
        {
            **row,
            "label": fmt.pct(row["coverage_pct"]),
            "accounts_label": f"{fmt.integer(row['covered_accounts'])} of "
            f"{fmt.integer(row['targeted_accounts'])}",
            "revenue_label": fmt.usd(row["targeted_revenue_usd"]),
            "uncovered_label": fmt.integer(row["uncovered_cells"]),
        }
        for row in grid
    ]
    regions = ordered((r["region"] for r in grid), REGIONS)
    segments = ordered((r["segment"] for r in grid), SEGMENTS)
    base = alt.Chart(inline(values)).encode(
        x=alt.X("segment:N", sort=segments, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("region:N", sort=regions, title=None),
        tooltip=[
            alt.Tooltip("region:N", title="Region"),
            alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("label:N", title="Coverage of targeted accounts"),
            alt.Tooltip("accounts_label:N", title="Covered of targeted accounts"),
            alt.Tooltip("uncovered_label:N", title="Targeted cells not covered"),
            alt.Tooltip("revenue_label:N", title="Targeted addressable revenue"),
        ],
    )
    color = alt.Color(
        "coverage_pct:Q",
        scale=alt.Scale(domain=[0, 1], scheme=SCALE_SEQUENTIAL),
        legend=alt.Legend(title="Coverage", format=".0%", gradientLength=240),
    )
    tile = {"cornerRadius": 4, "stroke": "white", "strokeWidth": 3}
    # grey under every tile; Vega-Lite drops a null from a color scale, so an n/a tile stays grey
    blank = base.mark_rect(**tile, color=NEUTRAL)
    cells = base.mark_rect(**tile).encode(color=color)
    text = base.mark_text(fontSize=14, fontWeight=600).encode(
        text="label:N",
        color=alt.when("datum.coverage_pct > 0.55")
        .then(alt.value("white"))
        .otherwise(alt.value(INK)),
    )
    return finish(blank + cells + text, height=max(120, 58 * len(regions)))


def segment_gaps(segments: list[Row]) -> Spec | None:
    """coverage_gap_pct per segment: positive is a shortfall, negative is ahead of target."""
    if not segments:
        return None
    values = [
        {
            "segment": r["segment"],
            "gap": r["coverage_gap_pct"],
            "status": "Behind target" if (r["coverage_gap_pct"] or 0) > 0 else "On or ahead",
            "text": fmt.pct_points(r["coverage_gap_pct"]),
            "coverage": fmt.pct(r["coverage_pct"]),
            "target": fmt.pct(r["target_coverage_pct"]),
        }
        for r in segments
    ]
    order = [r["segment"] for r in segments]
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("segment:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("coverage:N", title="Coverage"),
            alt.Tooltip("target:N", title="Target coverage"),
            alt.Tooltip("text:N", title="Gap (target − actual)"),
        ],
    )
    bars = base.mark_bar(cornerRadius=2).encode(
        x=alt.X("gap:Q", axis=alt.Axis(title="Coverage gap (target − actual)", format=".0%")),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(domain=["Behind target", "On or ahead"], range=[BAD, GOOD]),
            legend=alt.Legend(title=None),
        ),
    )
    labels = base.mark_text(**end_label(11)).encode(x="gap_or_zero:Q", text="text:N")
    labels = labels.transform_calculate(gap_or_zero="isValid(datum.gap) ? max(datum.gap, 0) : 0")
    zero = alt.Chart(inline([{"x": 0}])).mark_rule(color=MUTED).encode(x="x:Q")
    return finish(bars + zero + labels, height=bar_height(len(order), per=40))


def uncovered_cells(cells: list[Row]) -> Spec | None:
    """The largest targeted-but-uncovered market cells by addressable revenue."""
    if not cells:
        return None
    values = [
        {
            "cell": f"{c['country_code']} · {c['segment']} · {c['vertical']}",
            "usd": c["addressable_revenue_usd"],
            "text": fmt.usd(c["addressable_revenue_usd"]),
            "accounts": fmt.integer(c["addressable_accounts"]),
            "region": fmt.text(c["region"]),
            "model": fmt.text(c["coverage_model"]),
            "target": fmt.pct(c["target_coverage_pct"]),
        }
        for c in cells
    ]
    order = [v["cell"] for v in values]
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("cell:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=[
            alt.Tooltip("cell:N", title="Country · segment · vertical"),
            alt.Tooltip("region:N", title="Region"),
            alt.Tooltip("model:N", title="Coverage model"),
            alt.Tooltip("accounts:N", title="Addressable accounts"),
            alt.Tooltip("text:N", title="Addressable revenue"),
            alt.Tooltip("target:N", title="Target coverage"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=2, color=BAD).encode(
        x=alt.X(
            "usd:Q",
            axis=usd_axis("Addressable revenue (USD)"),
            scale=headroom([v["usd"] for v in values]),
        )
    )
    labels = base.mark_text(**end_label(11)).encode(x="usd_or_zero:Q", text="text:N")
    labels = labels.transform_calculate(usd_or_zero="isValid(datum.usd) ? datum.usd : 0")
    return finish(bars + labels, height=bar_height(len(order), per=26))
