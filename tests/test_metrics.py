"""Every mart of SPEC §6 on the fixture of tests/fixtures/metrics.py, built by the real
nightly_refresh job (loader, dbt, publish), against figures computed by hand.

D = 2025-06-30, W = 365 (vendor_profile leaves it empty: the default applies), so the window is
(2024-06-30, 2025-06-30]. The arithmetic is written next to each expected value.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from orchestration.settings import SEEDS_DIR
from tests.conftest import query, query_dicts

TYPES = [
    "distributor",
    "isv",
    "msp",
    "oem",
    "referral",
    "reseller",
    "strategic_alliance",
    "system_integrator",
]


@pytest.fixture(scope="module")
def serving(metrics_warehouse: Path) -> Path:
    return metrics_warehouse / "serving.duckdb"


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def approx(value: float | None):
    return None if value is None else pytest.approx(value, rel=1e-12, abs=1e-12)


def test_rejects_are_published(serving):
    assert query(serving, "select entity, record_key, reason from audit.rejected_rows") == [
        ("deals", "D09", "no FX rate: currency 'GBP' has no rate for 2024-12 or any earlier month")
    ]


def test_coverage_cells(serving):
    cells = {
        (r["country_code"], r["segment"], r["vertical"]): r
        for r in query_dicts(serving, "select * from marts.mart_coverage_cells")
    }
    assert len(cells) == 7
    expected = {
        # P1 serves US+DE, smb, generalist; P2 DE (HQ, countries empty), smb+mid, healthcare
        # only; P7 JP, enterprise, generalist. P3 (no certification) and P5 (suspended) are not
        # qualified, P4 and P6 not enrolled.
        ("US", "smb", "retail"): (1, 1, True),
        ("US", "smb", "healthcare"): (1, 1, True),
        ("US", "enterprise", "retail"): (0, 0, False),
        ("DE", "smb", "retail"): (1, 1, True),  # P1 only: P2 is not a retail partner
        ("DE", "mid_market", "healthcare"): (1, 1, True),  # P2
        ("JP", "smb", "retail"): (0, 0, False),  # P7 serves enterprise only
        ("JP", "enterprise", "healthcare"): (1, 1, True),  # P7, generalist
    }
    got = {
        k: (r["covering_partners"], r["covering_capacity"], r["is_covered"])
        for k, r in cells.items()
    }
    assert got == expected
    assert cells[("JP", "smb", "retail")]["region"] == "APAC"
    assert cells[("US", "enterprise", "retail")]["coverage_model"] == "direct"


def test_coverage_by_segment(serving):
    rows = by(query_dicts(serving, "select * from marts.mart_coverage_by_segment"), "segment")
    # smb: targeted 100 + 50 + 40 + 30 = 220; covered 100 + 50 + 40 = 190;
    # target (100*0.8 + 50*0.6 + 40*0.5 + 30*0.9) / 220 = 157 / 220
    smb = rows["smb"]
    assert (smb["targeted_accounts"], smb["covered_accounts"]) == (220, 190)
    assert smb["coverage_pct"] == approx(190 / 220)
    assert smb["target_coverage_pct"] == approx(157 / 220)
    assert smb["coverage_gap_pct"] == approx(157 / 220 - 190 / 220)
    # enterprise: the direct US cell is not targeted; JP hybrid 5 accounts, covered
    ent = rows["enterprise"]
    assert (ent["targeted_accounts"], ent["covered_accounts"]) == (5, 5)
    assert (ent["coverage_pct"], ent["target_coverage_pct"]) == (approx(1.0), approx(0.5))
    assert ent["coverage_gap_pct"] == approx(-0.5)
    mid = rows["mid_market"]
    assert (mid["targeted_accounts"], mid["covered_accounts"]) == (20, 20)
    assert mid["coverage_gap_pct"] == approx(0.7 - 1.0)


def test_coverage_by_geography(serving):
    rows = by(
        query_dicts(serving, "select * from marts.mart_coverage_by_geography"), "country_code"
    )
    assert set(rows) == {"US", "DE", "JP"}
    # US: 1e6 + 5e5 + 5e6 = 6.5e6; qualified serving US: P1 only
    assert rows["US"]["addressable_revenue_usd"] == approx(6_500_000)
    assert (rows["US"]["qualified_partners"], rows["US"]["capacity"]) == (1, 1)
    assert rows["US"]["partners_per_100m_usd"] == approx(1 / 0.065)
    # DE: 4e5 + 2e6 = 2.4e6; P1 (DE listed) and P2 (HQ DE, list empty): 2 partners, capacity 2
    assert (rows["DE"]["qualified_partners"], rows["DE"]["capacity"]) == (2, 2)
    assert rows["DE"]["partners_per_100m_usd"] == approx(2 / 0.024)
    assert rows["DE"]["capacity_per_100m_usd"] == approx(2 / 0.024)
    # JP: 3e5 + 3e6 = 3.3e6; P7
    assert rows["JP"]["partners_per_100m_usd"] == approx(1 / 0.033)
    assert rows["JP"]["region"] == "APAC"


def test_vertical_depth(serving):
    rows = by(query_dicts(serving, "select * from marts.mart_vertical_depth"), "vertical")
    # healthcare: P2 (qualified, valid healthcare certification of person C)
    assert (
        rows["healthcare"]["specialist_partners"],
        rows["healthcare"]["specialist_capacity"],
    ) == (1, 1)
    assert rows["healthcare"]["addressable_revenue_usd"] == approx(500_000 + 2_000_000 + 3_000_000)
    # retail: P5's retail certification does not count, P5 is suspended
    assert (rows["retail"]["specialist_partners"], rows["retail"]["specialist_capacity"]) == (0, 0)
    assert rows["retail"]["addressable_revenue_usd"] == approx(1e6 + 5e6 + 4e5 + 3e5)


EXPECTED_PRODUCTIVITY_AT_D = {
    # enrolled: P1 (P4 terminated on D is not); active: P1. Revenue in the window: D01 1000 +
    # D03 2000 EUR * 1.25 (May's rate, June missing) + D08 400 (P4) + D11 600 = 4500 (D02
    # closed at D - W is out); sourced: all but D11 = 3900. New customers: A3, A7, A9 (D11
    # beats D12 on deal_id) of 8 in all (A1 and A12 were won directly). Investment: I01
    # 1000. Days to first win: P1 2023-02-01 -> 2024-06-30 = 515.
    "reseller": dict(
        enrolled_partners=1,
        active_partners=1,
        active_ratio=1.0,
        partner_revenue_usd=4500,
        revenue_per_active_partner_usd=4500,
        partner_sourced_revenue_usd=3900,
        new_customers=3,
        new_customer_share=3 / 8,
        investment_usd=1000,
        roi_multiple=3.9,
        median_days_to_first_win=515,
    ),
    # P2: D04 1000 EUR * 1.10 (Feb, March missing) = 1100 sourced + D13 800 (the later file
    # wins the tie) influenced. New: A4, A11. Investment I08 1000 EUR * 1.10 = 1100 (I11 at
    # D - W is out). First win D14: 2024-03-01 -> 2024-04-10 = 40.
    "msp": dict(
        enrolled_partners=1,
        active_partners=1,
        active_ratio=1.0,
        partner_revenue_usd=1900,
        revenue_per_active_partner_usd=1900,
        partner_sourced_revenue_usd=1100,
        new_customers=2,
        new_customer_share=2 / 8,
        investment_usd=1100,
        roi_multiple=1.0,
        median_days_to_first_win=40,
    ),
    # P3 (enrolled on D, D07 registered on D: active) and P5 (suspended but enrolled, idle).
    # Investment I03 300 + I06 250 + I12 150 = 700.
    "isv": dict(
        enrolled_partners=2,
        active_partners=1,
        active_ratio=0.5,
        partner_revenue_usd=0,
        revenue_per_active_partner_usd=0,
        partner_sourced_revenue_usd=0,
        new_customers=0,
        new_customer_share=0,
        investment_usd=700,
        roi_multiple=0,
        median_days_to_first_win=None,
    ),
    # P7: D10 3000 (D09 rejected). New: A8. I07 2000. 2024-01-01 -> 2025-03-01 = 425 days.
    "strategic_alliance": dict(
        enrolled_partners=1,
        active_partners=1,
        active_ratio=1.0,
        partner_revenue_usd=3000,
        revenue_per_active_partner_usd=3000,
        partner_sourced_revenue_usd=3000,
        new_customers=1,
        new_customer_share=1 / 8,
        investment_usd=2000,
        roi_multiple=1.5,
        median_days_to_first_win=425,
    ),
    # P6 never enrolled; I04 200 (approved) is acquisition spend on a referral partner.
    "referral": dict(
        enrolled_partners=0,
        active_partners=0,
        active_ratio=None,
        partner_revenue_usd=0,
        revenue_per_active_partner_usd=None,
        partner_sourced_revenue_usd=0,
        new_customers=0,
        new_customer_share=0,
        investment_usd=200,
        roi_multiple=0,
        median_days_to_first_win=None,
    ),
}
EMPTY_TYPE = dict(
    enrolled_partners=0,
    active_partners=0,
    active_ratio=None,
    partner_revenue_usd=0,
    revenue_per_active_partner_usd=None,
    partner_sourced_revenue_usd=0,
    new_customers=0,
    new_customer_share=0,
    investment_usd=0,
    roi_multiple=None,
    median_days_to_first_win=None,
)


# mart_productivity_monthly names the figures of a window by their window (W = 365 here)
TRAILING = {
    column: f"{column}_trailing_365d"
    for column in [
        "partner_revenue_usd",
        "revenue_per_active_partner_usd",
        "partner_sourced_revenue_usd",
        "new_customers",
        "new_customer_share",
        "investment_usd",
        "roi_multiple",
    ]
}


def _check_productivity(rows: dict, expected: dict, names: dict | None = None) -> None:
    for partner_type in TYPES:
        want = expected.get(partner_type, EMPTY_TYPE)
        got = rows[partner_type]
        for column, value in want.items():
            column = (names or {}).get(column, column)
            assert got[column] == approx(value), (partner_type, column, got[column], value)


def test_ecosystem_productivity(serving):
    rows = by(
        query_dicts(serving, "select * from marts.mart_ecosystem_productivity"), "partner_type"
    )
    assert sorted(rows) == TYPES
    _check_productivity(rows, EXPECTED_PRODUCTIVITY_AT_D)
    assert str(rows["msp"]["as_of_date"]) == "2025-06-30"
    assert str(rows["msp"]["window_start"]) == "2024-06-30"


def test_productivity_monthly_equals_the_as_of_mart_at_month_ends(serving):
    monthly = query_dicts(serving, "select * from marts.mart_productivity_monthly")
    months = sorted({str(r["month"]) for r in monthly})
    # first month with data: P5 enrolled 2023-01-01; last: the month of D
    assert months[0] == "2023-01-01" and months[-1] == "2025-06-01" and len(months) == 30
    assert len(monthly) == 30 * len(TYPES)

    june = by([r for r in monthly if str(r["month"]) == "2025-06-01"], "partner_type")
    _check_productivity(june, EXPECTED_PRODUCTIVITY_AT_D, TRAILING)  # D is June's last day
    assert str(june["msp"]["period_end"]) == "2025-06-30"
    assert not any(r["is_month_to_date"] for r in monthly)  # D is a month's last day

    # March 2025: D = 2025-03-31, window (2024-03-31, 2025-03-31]. P4 is still enrolled and
    # active (D08 registered 2025-03-15); P3 not yet enrolled. Revenue: reseller D01 1000 +
    # D02 500 (closed 2024-06-30, inside this window); msp D04 1100 + D14 200; alliance D10.
    # New customers: A1 (direct), A2, A4, A8, A10 -> 5 in all. Investment: reseller I01;
    # msp I08 1100 + I11 100; isv I12; referral I04; alliance I07. P4's first win is after
    # March, so the reseller median is P1's 515.
    march = by([r for r in monthly if str(r["month"]) == "2025-03-01"], "partner_type")
    assert str(march["reseller"]["period_end"]) == "2025-03-31"
    _check_productivity(
        march,
        {
            "reseller": dict(
                enrolled_partners=2,
                active_partners=2,
                active_ratio=1.0,
                partner_revenue_usd=1500,
                revenue_per_active_partner_usd=750,
                partner_sourced_revenue_usd=1000,
                new_customers=1,
                new_customer_share=1 / 5,
                investment_usd=1000,
                roi_multiple=1.0,
                median_days_to_first_win=515,
            ),
            "msp": dict(
                enrolled_partners=1,
                active_partners=1,
                active_ratio=1.0,
                partner_revenue_usd=1300,
                revenue_per_active_partner_usd=1300,
                partner_sourced_revenue_usd=1300,
                new_customers=2,
                new_customer_share=2 / 5,
                investment_usd=1200,
                roi_multiple=1300 / 1200,
                median_days_to_first_win=40,
            ),
            "isv": dict(
                enrolled_partners=1,
                active_partners=0,
                active_ratio=0.0,
                partner_revenue_usd=0,
                revenue_per_active_partner_usd=None,
                partner_sourced_revenue_usd=0,
                new_customers=0,
                new_customer_share=0,
                investment_usd=150,
                roi_multiple=0,
                median_days_to_first_win=None,
            ),
            "strategic_alliance": dict(
                enrolled_partners=1,
                active_partners=1,
                active_ratio=1.0,
                partner_revenue_usd=3000,
                revenue_per_active_partner_usd=3000,
                partner_sourced_revenue_usd=3000,
                new_customers=1,
                new_customer_share=1 / 5,
                investment_usd=2000,
                roi_multiple=1.5,
                median_days_to_first_win=425,
            ),
            "referral": dict(
                enrolled_partners=0,
                active_partners=0,
                active_ratio=None,
                partner_revenue_usd=0,
                revenue_per_active_partner_usd=None,
                partner_sourced_revenue_usd=0,
                new_customers=0,
                new_customer_share=0,
                investment_usd=200,
                roi_multiple=0,
                median_days_to_first_win=None,
            ),
        },
        TRAILING,
    )


def test_productivity_monthly_in_month_figures_and_complete_window(serving):
    monthly = query_dicts(serving, "select * from marts.mart_productivity_monthly")
    rows = {(str(r["month"]), r["partner_type"]): r for r in monthly}
    in_month = [
        "partner_revenue_usd_in_month",
        "partner_sourced_revenue_usd_in_month",
        "new_customers_in_month",
        "investment_usd_in_month",
        "partners_enrolled_in_month",
    ]
    expected = {
        # June 2025: D03 (reseller, sourced, 2000 EUR at May's 1.25 = 2500, closed on D, A3's
        # first win); D13 (msp, influenced, 800, closed 06-15, A11's first win); I03 (isv,
        # 300, approved on D); P3 (isv) enrolled on D
        ("2025-06-01", "reseller"): (2500, 2500, 1, 0, 0),
        ("2025-06-01", "msp"): (800, 0, 1, 0, 0),
        ("2025-06-01", "isv"): (0, 0, 0, 300, 1),
        # May 2025: D11 (reseller, influenced, 600, closed 05-05, A9's first win: D11 before
        # the direct D12 of the same day); D15 is direct; I06 (isv, 250, approved 05-01)
        ("2025-05-01", "reseller"): (600, 0, 1, 0, 0),
        ("2025-05-01", "msp"): (0, 0, 0, 0, 0),
        ("2025-05-01", "isv"): (0, 0, 0, 250, 0),
        # February 2023: P1 (reseller) enrolled 2023-02-01, nothing else happened
        ("2023-02-01", "reseller"): (0, 0, 0, 0, 1),
    }
    for key, values in expected.items():
        for column, value in zip(in_month, values, strict=True):
            assert rows[key][column] == approx(value), (key, column)
    # the first data date is D14's close, 2024-04-10: the window (P − 365, P] lies after it
    # from P = 2025-04-09 on, so March 2025 (P = 2025-03-31) is incomplete, April complete
    assert rows[("2025-03-01", "reseller")]["is_complete_window"] is False
    assert rows[("2025-04-01", "reseller")]["is_complete_window"] is True
    assert str(rows[("2025-04-01", "reseller")]["window_start"]) == "2024-04-30"
    with (SEEDS_DIR / "partner_types.csv").open(encoding="utf-8") as fh:
        names = {r["partner_type"]: r["partner_type_name"] for r in csv.DictReader(fh)}
    assert rows[("2025-06-01", "reseller")]["partner_type_name"] == names["reseller"]


def test_execution_alignment(serving):
    rows = by(query_dicts(serving, "select * from marts.mart_execution_alignment"), "partner_type")
    assert sorted(rows) == TYPES
    # enrolled: reseller 1, msp 1, isv 2, alliance 1 of 5. Investment: reseller 1000, msp
    # 1100, isv 700, referral 200, alliance 2000 of 5000. Revenue 4500, 1900, 3000 of 9400.
    shares = {
        "reseller": (0.2, 0.5, 0.2, 0.4, 4500 / 9400),
        "msp": (0.2, 0.3, 0.22, 0.4, 1900 / 9400),
        "isv": (0.4, 0.2, 0.14, 0.2, 0.0),
        "referral": (0.0, 0.0, 0.04, 0.0, 0.0),
        "strategic_alliance": (0.2, 0.0, 0.4, 0.0, 3000 / 9400),
    }
    for partner_type in TYPES:
        actual_p, target_p, actual_i, target_i, revenue = shares.get(
            partner_type, (0.0, 0.0, 0.0, 0.0, 0.0)
        )
        row = rows[partner_type]
        assert row["actual_partner_share"] == approx(actual_p)
        assert row["target_partner_share"] == approx(target_p)
        assert row["partner_share_gap"] == approx(actual_p - target_p)
        assert row["actual_investment_share"] == approx(actual_i)
        assert row["target_investment_share"] == approx(target_i)
        assert row["investment_share_gap"] == approx(actual_i - target_i)
        assert row["revenue_share"] == approx(revenue)
        # 1 - 1/2 (.3 + .1 + .2 + .2) = 0.6; 1 - 1/2 (.2 + .18 + .06 + .04 + .4) = 0.56
        assert row["composition_alignment_score"] == approx(0.6)
        assert row["investment_alignment_score"] == approx(0.56)


def test_investment_allocation(serving):
    rows = by(
        query_dicts(serving, "select * from marts.mart_investment_allocation"),
        "investment_category",
    )
    # development I01 1000 + I08 1100; activation I03 300 + I12 150; acquisition I04 200 +
    # I06 250; strategic I07 2000; total 5000. Growth-stage targets .25/.35/.30/.10.
    expected = {
        "acquisition": (450, 0.09, 0.25),
        "activation": (450, 0.09, 0.35),
        "development": (2100, 0.42, 0.30),
        "strategic": (2000, 0.40, 0.10),
    }
    assert set(rows) == set(expected)
    for category, (usd, actual, target) in expected.items():
        row = rows[category]
        assert row["investment_usd"] == approx(usd)
        assert row["actual_share"] == approx(actual)
        assert row["target_share"] == approx(target)
        assert row["share_gap"] == approx(actual - target)
        # 1 - 1/2 (.16 + .26 + .12 + .30) = 0.58
        assert row["category_alignment_score"] == approx(0.58)
        assert row["growth_stage"] == "growth"


def test_growth_stage_fit(serving):
    rows = by(query_dicts(serving, "select * from marts.mart_growth_stage_fit"), "partner_type")
    verdicts = {t: (r["role"], r["verdict"]) for t, r in rows.items()}
    assert verdicts == {
        "reseller": ("core", "aligned"),
        "msp": ("core", "aligned"),
        "isv": ("core", "aligned"),
        "referral": ("core", "missing_core"),
        "distributor": ("supporting", "aligned"),
        "system_integrator": ("supporting", "aligned"),
        "oem": ("avoid", "aligned"),
        "strategic_alliance": ("avoid", "present_but_avoid"),
    }
    assert rows["isv"]["partner_share"] == approx(0.4)
    assert rows["referral"]["partner_share"] == approx(0.0)
    assert rows["strategic_alliance"]["rationale"] == "a"


def test_strategy_scorecard(serving):
    [row] = query_dicts(serving, "select * from marts.mart_strategy_scorecard")
    assert str(row["as_of_date"]) == "2025-06-30"
    assert (row["growth_stage"], row["window_days"]) == ("growth", 365)
    # covered 190 + 5 + 20 of targeted 220 + 5 + 20
    assert row["coverage_pct"] == approx(215 / 245)
    assert (row["enrolled_partners"], row["qualified_partners"], row["active_partners"]) == (
        5,
        3,
        4,
    )
    assert row["active_ratio"] == approx(0.8)
    assert row["partner_revenue_usd"] == approx(9400)
    assert row["partner_sourced_revenue_usd"] == approx(8000)
    # targeted addressable revenue: every cell but the direct US enterprise one = 7.2e6
    assert row["partner_revenue_share_of_tam"] == approx(9400 / 7_200_000)
    assert row["roi_multiple"] == approx(8000 / 5000)
    assert row["new_customer_share"] == approx(6 / 8)
    assert row["composition_alignment_score"] == approx(0.6)
    assert row["investment_alignment_score"] == approx(0.56)
    assert row["program_design_alignment_pct"] == approx(3 / 4)
    # parts: 4 of 5 enrolled partners are not of an avoid type; 3 of 4 core types have an
    # active partner (referral has none); investment mix alignment 0.58
    assert row["non_avoid_partner_share"] == approx(0.8)
    assert row["core_types_active_share"] == approx(0.75)
    assert row["growth_stage_fit_score"] == approx((0.8 + 0.75 + 0.58) / 3)


def test_partner_scorecard(serving):
    rows = by(query_dicts(serving, "select * from marts.mart_partner_scorecard"), "partner_id")
    assert sorted(rows) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    flags = {
        p: (r["partner_type"], r["is_enrolled"], r["is_qualified"], r["is_active"], r["capacity"])
        for p, r in rows.items()
    }
    assert flags == {
        "P1": ("reseller", True, True, True, 1),  # person A twice, B expired on D
        "P2": ("msp", True, True, True, 1),  # person D earned after D
        "P3": ("isv", True, False, True, 0),  # enrolled on D
        "P4": ("reseller", False, False, False, 1),  # terminated on D
        "P5": ("isv", True, False, False, 1),  # suspended
        "P6": ("referral", False, False, False, 0),
        "P7": ("strategic_alliance", True, True, True, 1),
    }
    p1 = rows["P1"]
    # D01 1000 + D03 2500 + D11 600; sourced D01 + D03; investment I01
    assert p1["partner_revenue_usd"] == approx(4100)
    assert p1["partner_sourced_revenue_usd"] == approx(3500)
    assert p1["investment_usd"] == approx(1000)
    assert p1["roi_multiple"] == approx(3.5)
    assert (str(p1["first_win_on"]), p1["days_to_first_win"]) == ("2024-06-30", 515)
    assert (p1["region"], p1["tier"]) == ("NA", "gold")
    # P4: 2023-05-01 -> 2025-04-01 = 701 days
    assert rows["P4"]["days_to_first_win"] == 701
    assert rows["P6"]["roi_multiple"] == approx(0.0)  # 0 sourced / 200 invested
    assert rows["P3"]["roi_multiple"] == approx(0.0)
    assert rows["P5"]["days_to_first_win"] is None
