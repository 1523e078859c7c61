"""Plain-text views of the published marts for the terminal."""

from __future__ import annotations

import sys

from orchestration.cli.serving_file import open_serving
from orchestration.settings import Settings

_SCORECARD_ROWS = [
    ("as_of_date", "As of", "date"),
    ("vendor_name", "Vendor", "text"),
    ("growth_stage", "Growth stage", "text"),
    ("coverage_pct", "Coverage of targeted accounts", "pct"),
    ("active_ratio", "Active partner ratio", "pct"),
    ("enrolled_partners", "Enrolled partners", "int"),
    ("qualified_partners", "Qualified partners", "int"),
    ("active_partners", "Active partners", "int"),
    ("partner_revenue_usd", "Partner revenue (USD)", "usd"),
    ("partner_sourced_revenue_usd", "Partner-sourced revenue (USD)", "usd"),
    ("partner_revenue_share_of_tam", "Partner revenue / targeted TAM", "pct"),
    ("investment_usd", "Partner investment (USD)", "usd"),
    ("roi_multiple", "ROI (sourced revenue / investment)", "x"),
    ("new_customer_share", "New customers won through partners", "pct"),
    ("composition_alignment_score", "Composition alignment", "score"),
    ("investment_alignment_score", "Investment alignment", "score"),
    ("program_design_alignment_pct", "Program design alignment", "pct"),
    ("growth_stage_fit_score", "Growth-stage fit", "score"),
]


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if kind == "usd":
        return f"{float(value):,.0f}"  # type: ignore[arg-type]
    if kind == "x":
        return f"{float(value):.2f}x"  # type: ignore[arg-type]
    if kind == "score":
        return f"{float(value):.3f}"  # type: ignore[arg-type]
    if kind == "int":
        return f"{int(value):,}"  # type: ignore[call-overload]
    return str(value)


def print_scorecard(settings: Settings, stream=sys.stdout) -> int:
    if not settings.serving_db.exists():
        print(
            f"psw: {settings.serving_db} does not exist yet: run `psw refresh` first",
            file=sys.stderr,
        )
        return 1
    with open_serving(settings) as con:
        cursor = con.execute("select * from marts.mart_strategy_scorecard")
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    if row is None:
        print("psw: the scorecard is empty", file=sys.stderr)
        return 1
    values = dict(zip(names, row, strict=True))
    print("Partner strategy scorecard", file=stream)
    print("=" * 60, file=stream)
    for column, label, kind in _SCORECARD_ROWS:
        print(f"{label:<40} {_fmt(values.get(column), kind):>19}", file=stream)
    return 0
