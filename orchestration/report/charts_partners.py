"""Partner-type charts as Vega-Lite specs (built with altair): mix against target, playbook
fit, productivity and monthly trends. A builder returns None when it has nothing to draw; the
page then shows "n/a" in the chart's place. Labels and tooltips are pre-formatted, so a null
figure reads "n/a" rather than "null" or a misleading 0."""

from __future__ import annotations

import altair as alt

from orchestration.report import fmt
from orchestration.report.data import Row
from orchestration.report.theme import (
    ACTUAL,
    MUTED,
    ROLE_COLORS,
    TARGET,
    Spec,
    bar_height,
    end_label,
    finish,
    headroom,
    inline,
    pct_axis,
    type_scale,
    usd_axis,
)


def share_vs_target(
    rows: list[Row],
    category: str,
    actual: str,
    target: str,
    gap: str,
    order: list[str],
    target_label: str = "Target",
) -> Spec | None:
    """Actual share beside target share for each category (grouped horizontal bars)."""
    if not rows:
        return None
    values: list[Row] = []
    for row in rows:
        common = {
            "category": row[category],
            "actual_label": fmt.pct(row[actual]),
            "target_label": fmt.pct(row[target]),
            "gap_label": fmt.pct_points(row[gap]),
        }
        for measure, field in (("Actual", actual), (target_label, target)):
            values.append(
                {**common, "measure": measure, "share": row[field], "text": fmt.pct(row[field])}
            )
    measures = ["Actual", target_label]
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("category:N", sort=order, title=None),
        yOffset=alt.YOffset("measure:N", sort=measures),
        tooltip=[
            alt.Tooltip("category:N", title="Category"),
            alt.Tooltip("actual_label:N", title="Actual share"),
            alt.Tooltip("target_label:N", title=f"{target_label} share"),
            alt.Tooltip("gap_label:N", title="Gap (actual − target)"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.9}).encode(
        x=alt.X("share:Q", axis=pct_axis("Share"), scale=headroom([v["share"] for v in values])),
        color=alt.Color(
            "measure:N",
            scale=alt.Scale(domain=measures, range=[ACTUAL, TARGET]),
            legend=alt.Legend(title=None),
        ),
    )
    labels = base.mark_text(**end_label()).encode(x=alt.X("share_or_zero:Q"), text="text:N")
    labels = labels.transform_calculate(share_or_zero="isValid(datum.share) ? datum.share : 0")
    return finish(bars + labels, height=bar_height(len(order), per=34))


def playbook_fit(rows: list[Row], order: list[str]) -> Spec | None:
    """Each partner type's share of enrolled partners, colored by its playbook role."""
    if not rows:
        return None
    values = [
        {
            "partner_type": r["partner_type"],
            "share": r["partner_share"],
            "role": r["role"] or "no role",
            "text": f"{fmt.pct(r['partner_share'])} · {r['verdict'] or fmt.NA}",
            "enrolled": fmt.integer(r["enrolled_partners"]),
            "active": fmt.integer(r["active_partners"]),
            "verdict": fmt.text(r["verdict"]),
            "rationale": fmt.text(r["rationale"]),
        }
        for r in rows
    ]
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("partner_type:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("partner_type:N", title="Partner type"),
            alt.Tooltip("role:N", title="Playbook role"),
            alt.Tooltip("verdict:N", title="Verdict"),
            alt.Tooltip("enrolled:N", title="Enrolled partners"),
            alt.Tooltip("active:N", title="Active partners"),
            alt.Tooltip("rationale:N", title="Rationale"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=2).encode(
        x=alt.X(
            "share:Q",
            axis=pct_axis("Share of enrolled partners"),
            scale=headroom([v["share"] for v in values], extra=0.45),
        ),
        color=alt.Color(
            "role:N",
            scale=alt.Scale(domain=list(ROLE_COLORS), range=list(ROLE_COLORS.values())),
            legend=alt.Legend(title="Playbook role"),
        ),
    )
    labels = base.mark_text(**end_label()).encode(x="share_or_zero:Q", text="text:N")
    labels = labels.transform_calculate(share_or_zero="isValid(datum.share) ? datum.share : 0")
    return finish(bars + labels, height=bar_height(len(order)))


def revenue_by_type(rows: list[Row], order: list[str]) -> Spec | None:
    """Partner revenue per type, split into its partner-sourced part and the rest."""
    if not rows:
        return None
    values: list[Row] = []
    totals: list[Row] = []
    for r in rows:
        total, sourced = r["partner_revenue_usd"], r["partner_sourced_revenue_usd"]
        rest = None if total is None or sourced is None else total - sourced
        common = {"partner_type": r["partner_type"], "total": fmt.usd(total)}
        common["sourced"] = fmt.usd(sourced)
        values.append({**common, "part": "Partner-sourced", "usd": sourced})
        values.append({**common, "part": "Other partner deals", "usd": rest})
        totals.append({**common, "usd": total or 0})
    parts = ["Partner-sourced", "Other partner deals"]
    tooltip = [
        alt.Tooltip("partner_type:N", title="Partner type"),
        alt.Tooltip("total:N", title="Partner revenue"),
        alt.Tooltip("sourced:N", title="Partner-sourced revenue"),
    ]
    bars = (
        alt.Chart(inline(values))
        .mark_bar()
        .encode(
            y=alt.Y("partner_type:N", sort=order, title=None),
            x=alt.X(
                "usd:Q",
                stack="zero",
                axis=usd_axis("Won revenue in the window (USD)"),
                scale=headroom([t["usd"] for t in totals]),
            ),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=parts, range=[ACTUAL, TARGET]),
                legend=alt.Legend(title=None),
            ),
            order=alt.Order("part_order:Q"),
            tooltip=tooltip,
        )
        .transform_calculate(part_order="datum.part === 'Partner-sourced' ? 0 : 1")
    )
    labels = (
        alt.Chart(inline(totals))
        .mark_text(**end_label(11))
        .encode(y=alt.Y("partner_type:N", sort=order), x="usd:Q", text="total:N", tooltip=tooltip)
    )
    return finish(bars + labels, height=bar_height(len(order)))


def by_type_bars(
    rows: list[Row],
    order: list[str],
    field: str,
    kind: str,
    axis_title: str,
    overall: float | None = None,
    overall_label: str = "overall",
    detail: str | None = None,
) -> Spec | None:
    """One bar per partner type in the type's color, labelled, with an optional overall rule."""
    if not rows:
        return None
    formatter = fmt.FORMATTERS[kind]
    values = [
        {
            "partner_type": r["partner_type"],
            "value": r[field],
            "text": formatter(r[field]) + (f" · {r[detail]}" if detail else ""),
        }
        for r in rows
    ]
    axis = pct_axis(axis_title) if kind == "pct" else alt.Axis(title=axis_title, tickCount=5)
    base = alt.Chart(inline(values)).encode(
        y=alt.Y("partner_type:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("partner_type:N", title="Partner type"),
            alt.Tooltip("text:N", title=axis_title),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=2).encode(
        x=alt.X(
            "value:Q",
            axis=axis,
            scale=headroom([v["value"] for v in values] + [overall], extra=0.35 if detail else 0.2),
        ),
        color=alt.Color("partner_type:N", scale=type_scale(order), legend=None),
    )
    labels = base.mark_text(**end_label()).encode(x="value_or_zero:Q", text="text:N")
    labels = labels.transform_calculate(value_or_zero="isValid(datum.value) ? datum.value : 0")
    layers: list[alt.Chart] = [bars, labels]
    if overall is not None:
        rule_data = inline([{"value": overall, "text": f"{overall_label} {formatter(overall)}"}])
        rule = alt.Chart(rule_data).mark_rule(color=MUTED, strokeDash=[4, 3]).encode(x="value:Q")
        note = (
            alt.Chart(rule_data)
            .mark_text(color=MUTED, fontSize=10, align="left", dx=3, dy=-4, baseline="bottom")
            .encode(x="value:Q", y=alt.value(0), text="text:N")
        )
        layers += [rule, note]
    return finish(alt.layer(*layers), height=bar_height(len(order)))


def trend(
    monthly: list[Row], order: list[str], field: str, kind: str, axis_title: str
) -> Spec | None:
    """A measure of mart_productivity_monthly over the months, one line per partner type."""
    if not monthly:
        return None
    formatter = fmt.FORMATTERS[kind]
    values = [
        {
            "partner_type": r["partner_type"],
            "month": fmt.day(r["month"]),  # "YYYY-MM-DD" parses as UTC: utc time units below
            "value": r[field],
            "text": formatter(r[field]),
        }
        for r in monthly
    ]
    axis = usd_axis(axis_title) if kind == "usd" else alt.Axis(title=axis_title, tickCount=5)
    base = alt.Chart(inline(values)).encode(
        x=alt.X(
            "month:T",
            timeUnit="utcyearmonth",
            title=None,
            axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=8),
        ),
        y=alt.Y("value:Q", axis=axis),
        color=alt.Color(
            "partner_type:N", scale=type_scale(order), legend=alt.Legend(title="Partner type")
        ),
    )
    lines = base.mark_line(strokeWidth=2, interpolate="monotone")
    points = base.mark_point(size=40, opacity=0, filled=True).encode(
        tooltip=[
            alt.Tooltip("month:T", timeUnit="utcyearmonth", title="Month", format="%B %Y"),
            alt.Tooltip("partner_type:N", title="Partner type"),
            alt.Tooltip("text:N", title=axis_title),
        ]
    )
    return finish(lines + points, height=240)


def headline_trend(rows: list[Row], field: str, kind: str, axis_title: str) -> Spec | None:
    """A headline figure of mart_strategy_history over the months, one line."""
    if not rows:
        return None
    formatter = fmt.FORMATTERS[kind]
    values = [
        {"month": fmt.day(r["month"]), "value": r[field], "text": formatter(r[field])} for r in rows
    ]
    if kind == "usd":
        axis = usd_axis(axis_title)
    elif kind == "pct":
        axis = pct_axis(axis_title)
    else:
        axis = alt.Axis(title=axis_title, tickCount=5)
    base = alt.Chart(inline(values)).encode(
        x=alt.X(
            "month:T",
            timeUnit="utcyearmonth",
            title=None,
            axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=8),
        ),
        y=alt.Y("value:Q", axis=axis),
    )
    lines = base.mark_line(strokeWidth=2, interpolate="monotone", point=True)
    points = base.mark_point(size=40, opacity=0, filled=True).encode(
        tooltip=[
            alt.Tooltip("month:T", timeUnit="utcyearmonth", title="Month", format="%B %Y"),
            alt.Tooltip("text:N", title=axis_title),
        ]
    )
    return finish(lines + points, height=200)
