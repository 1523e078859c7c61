"""One look for every chart: fonts, colors and number formats shared by the Vega-Lite specs."""

from __future__ import annotations

from typing import Any

import altair as alt

from orchestration.report.data import PARTNER_TYPES, Row

FONT = "Inter, 'Segoe UI', system-ui, -apple-system, Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#eef0f4"

ACTUAL = "#2f5fd0"
TARGET = "#b8c2d6"
GOOD = "#1b9e77"
BAD = "#d95f02"
NEUTRAL = "#c9ced8"

# One color per partner type, in every chart (Tableau 10, colorblind-friendly order).
TYPE_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#9c755f",
)
ROLE_COLORS = {"core": GOOD, "supporting": "#7b9bd9", "avoid": "#e15759", "no role": NEUTRAL}

# d3-format with SI prefixes writes G for billions; finance readers expect B.
USD_AXIS = "replace(format(datum.value, '$.2~s'), 'G', 'B')"
SCALE_SEQUENTIAL = "blues"


def type_scale(types: list[str]) -> alt.Scale:
    """The partner-type color scale: canonical types keep their color whatever is present."""
    domain = list(PARTNER_TYPES) + [t for t in types if t not in PARTNER_TYPES]
    extra = ["#bab0ac"] * (len(domain) - len(TYPE_COLORS))
    return alt.Scale(domain=domain, range=[*TYPE_COLORS, *extra])


def usd_axis(title: str | None = None) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=USD_AXIS, tickCount=5)


def pct_axis(title: str | None = None) -> alt.Axis:
    return alt.Axis(title=title, format=".0%", tickCount=5)


def finish(chart: alt.TopLevelMixin, height: int = 260) -> dict[str, Any]:
    """The chart's Vega-Lite spec with the report's theme, sized to its card's width."""
    return (
        chart.properties(width="container", height=height)
        .configure(
            font=FONT,
            background="transparent",
            padding={"left": 4, "right": 12, "top": 8, "bottom": 4},
        )
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=MUTED,
            titleColor=INK,
            labelFontSize=11,
            titleFontSize=11,
            titleFontWeight=600,
            gridColor=GRID,
            domainColor="#d1d5db",
            tickColor="#d1d5db",
            labelLimit=180,
        )
        .configure_legend(
            labelColor=INK,
            titleColor=INK,
            labelFontSize=11,
            titleFontSize=11,
            orient="bottom",
            direction="horizontal",
            columns=4,
            symbolType="square",
        )
        # Not validated here: altair's JSON-schema validation costs ≈ 1.3 s per report, and
        # the specs are fixed code. tests/test_report.py validates every chart of a built
        # report against the Vega-Lite schema, and draws each in a browser.
        .to_dict(validate=False)
    )


Spec = dict[str, Any]


def end_label(size: int = 10) -> dict[str, Any]:
    """Mark properties of a value label at the end of a horizontal bar."""
    return {"fontSize": size, "color": INK, "align": "left", "dx": 4, "baseline": "middle"}


def inline(values: list[Row]) -> alt.Data:
    return alt.Data(values=values)


def bar_height(categories: int, per: int = 28) -> int:
    return max(90, categories * per)


def headroom(values: list[float | None], extra: float = 0.2) -> alt.Scale:
    """A zero-based linear scale with room right of the longest bar for its value label."""
    numbers = [v for v in values if v is not None]
    top = max(numbers, default=0)
    if top <= 0:
        return alt.Scale(zero=True)
    return alt.Scale(domain=[min(0, *numbers), top * (1 + extra)])
