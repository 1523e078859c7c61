"""Strategy-diagnostics charts as Vega-Lite specs (built with altair). A builder returns None
when it has nothing to draw; the page then shows "n/a" in the chart's place."""

from __future__ import annotations

import altair as alt

from orchestration.report import fmt
from orchestration.report.data import Row
from orchestration.report.theme import (
    Spec,
    bar_height,
    end_label,
    finish,
    headroom,
    inline,
    pct_axis,
)

# (column, label) of the concentration measures, smallest cut-off first
CUTOFFS = [
    ("top_1pct_share", "Top 1%"),
    ("top_5pct_share", "Top 5%"),
    ("top_10pct_share", "Top 10%"),
    ("top5_share", "Top 5 partners"),
]
CUTOFF_COLORS = ["#1e3a8a", "#2f5fd0", "#7b9bd9", "#f28e2b"]


def concentration(rows: list[Row], order: list[str]) -> Spec | None:
    """Share of partner-sourced revenue held by the largest partners, per type and overall:
    one bar per cut-off (top 1%, 5%, 10% of partners, top 5 partners)."""
    drawn = [r for r in rows if r.get("partner_sourced_revenue_usd")]
    if not drawn:
        return None
    values: list[Row] = []
    for r in drawn:
        common = {
            "partner_type": r["partner_type"],
            "partners": fmt.integer(r["partners"]),
            "revenue": fmt.usd(r["partner_sourced_revenue_usd"]),
            "hhi": fmt.score(r["herfindahl_index"]),
        }
        for column, label in CUTOFFS:
            values.append(
                {**common, "cutoff": label, "share": r[column], "text": fmt.pct(r[column])}
            )
    labels = [label for _, label in CUTOFFS]
    types = [t for t in order if any(r["partner_type"] == t for r in drawn)]
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("partner_type:N", sort=types, title=None),
        yOffset=alt.YOffset("cutoff:N", sort=labels),
        tooltip=[
            alt.Tooltip("partner_type:N", title="Partner type"),
            alt.Tooltip("cutoff:N", title="Largest partners"),
            alt.Tooltip("text:N", title="Share of sourced revenue"),
            alt.Tooltip("partners:N", title="Partners"),
            alt.Tooltip("revenue:N", title="Partner-sourced revenue"),
            alt.Tooltip("hhi:N", title="Herfindahl index"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.9}).encode(
        x=alt.X(
            "share:Q",
            axis=pct_axis("Share of partner-sourced revenue"),
            scale=headroom([v["share"] for v in values]),
        ),
        color=alt.Color(
            "cutoff:N",
            scale=alt.Scale(domain=labels, range=CUTOFF_COLORS),
            legend=alt.Legend(title=None),
        ),
    )
    text = base.mark_text(**end_label(9)).encode(x="share_or_zero:Q", text="text:N")
    text = text.transform_calculate(share_or_zero="isValid(datum.share) ? datum.share : 0")
    return finish(bars + text, height=bar_height(len(types), per=60))
