"""The strategy-diagnostics marts (issue 8) on the fixture of tests/fixtures/diagnostics.py,
built once by the real nightly_refresh job, against figures computed by hand.

D = 2025-06-30, W = 365: the window is (2024-06-30, 2025-06-30]. The arithmetic is written
next to each expected value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestration.ingest.contract import ENTITIES
from tests.conftest import query, query_dicts, write_csv
from tests.fixtures.diagnostics import AS_OF


@pytest.fixture(scope="module")
def serving(diagnostics_warehouse: Path) -> Path:
    return diagnostics_warehouse / "serving.duckdb"


def approx(value: float | None):
    return None if value is None else pytest.approx(value, rel=1e-12, abs=1e-12)


def rows_of(serving: Path, mart: str, *key: str) -> dict:
    rows = query_dicts(serving, f"select * from marts.{mart}")
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in rows}


def test_registration_funnel(serving):
    """Each event in the month it happened (SPEC §10). Every deal of the fixture has one version,
    current from 2025-06-01 (its updated_at): rejections, expiries and approvals without a
    close happen then; a deal seen already won or lost was approved no later than its close,
    and is won or lost on its closed_on."""
    rows = rows_of(serving, "mart_deal_registration_funnel", "partner_type", "region", "month")
    month = dt.date
    assert set(rows) == {
        ("reseller", "NA", month(2021, 3, 1)),  # D00 submitted
        ("reseller", "NA", month(2021, 4, 1)),  # D00 approved and won (closed 2021-04-15)
        ("reseller", "NA", month(2025, 1, 1)),  # D14 submitted
        ("reseller", "NA", month(2025, 2, 1)),  # D01-D05, D07, D08 submitted; D07 won
        ("reseller", "NA", month(2025, 3, 1)),  # D06 submitted; D01, D14 won; D08 lost
        ("reseller", "NA", month(2025, 4, 1)),  # D02 lost
        ("reseller", "NA", month(2025, 6, 1)),  # D03 rejected, D04 expired, D05 approved
        ("reseller", "EMEA", month(2025, 4, 1)),  # D09 submitted (R3 is in DE)
        ("reseller", "EMEA", month(2025, 5, 1)),  # D09 won
        ("msp", "EMEA", month(2025, 3, 1)),  # D10 submitted
        ("msp", "EMEA", month(2025, 4, 1)),  # D10 won
        ("isv", "NA", month(2024, 8, 1)),  # D11 submitted
        ("isv", "NA", month(2024, 9, 1)),  # D11 won
        ("isv", "NA", month(2025, 1, 1)),  # D13 submitted
        ("isv", "NA", month(2025, 3, 1)),  # D12 submitted, D13 lost
        ("oem", "APAC", month(2025, 5, 1)),  # D16 submitted
        ("oem", "APAC", month(2025, 6, 1)),  # D16 approved 2025-06-01, won 2025-06-15
    }
    stages = ("submitted", "pending", "approved", "rejected", "expired", "won", "lost")

    feb = rows[("reseller", "NA", month(2025, 2, 1))]
    # submitted: D01, D02, D03, D04, D05, D07, D08 (partner_influenced is a partner deal too);
    # at 2025-02-28 only D07 is decided (approved by its close on 2025-02-25): 6 pending
    assert {k: feb[k] for k in stages} == {
        "submitted": 7,
        "pending": 6,
        "approved": 1,
        "rejected": 0,
        "expired": 0,
        "won": 1,
        "lost": 0,
    }
    assert feb["approval_rate"] == approx(1.0)  # 1 ÷ (1 + 0)
    assert feb["win_rate_of_approved"] == approx(1.0)  # 1 ÷ (1 + 0)
    assert feb["median_days_registered_to_closed"] == 20  # D07: 2025-02-05 -> 2025-02-25
    assert feb["avg_won_deal_usd"] == approx(3000)
    # direct NA, February: X1 won 2000 (closed 2025-02-20), X3 won 1000 (closed 2025-02-28);
    # X2 is lost in March (closed 2025-03-01)
    assert (feb["direct_won"], feb["direct_lost"]) == (2, 0)
    assert feb["direct_win_rate"] == approx(1.0)
    assert feb["direct_avg_won_deal_usd"] == approx(1500)  # (2000 + 1000) / 2
    assert feb["win_rate_vs_direct"] == approx(0.0)
    assert feb["deal_size_vs_direct"] == approx(2.0)  # 3000 / 1500

    mar = rows[("reseller", "NA", month(2025, 3, 1))]
    # D06 submitted and never decided; D01 (closed 03-05) and D14 (03-10) won, D08 (03-14) lost
    assert {k: mar[k] for k in stages} == {
        "submitted": 1,
        "pending": 1,
        "approved": 3,
        "rejected": 0,
        "expired": 0,
        "won": 2,
        "lost": 1,
    }
    assert mar["win_rate_of_approved"] == approx(2 / 3)
    # days registered -> closed: D01 02-03 -> 03-05 = 30, D08 02-12 -> 03-14 = 30,
    # D14 01-02 -> 03-10 = 29 + 28 + 10 = 67 -> median 30
    assert mar["median_days_registered_to_closed"] == 30
    assert mar["avg_won_deal_usd"] == approx(1500)  # (1000 + 2000) / 2
    # direct NA, March: X2 lost → direct win rate 0 ÷ 1 = 0
    assert (mar["direct_won"], mar["direct_lost"], mar["direct_win_rate"]) == (0, 1, 0)
    assert mar["win_rate_vs_direct"] == approx(2 / 3)
    assert mar["direct_avg_won_deal_usd"] is None and mar["deal_size_vs_direct"] is None

    jun = rows[("reseller", "NA", month(2025, 6, 1))]
    # D03 rejected, D04 expired, D05 approved, each on 2025-06-01 (their version's updated_at)
    assert {k: jun[k] for k in stages} == {
        "submitted": 0,
        "pending": 0,
        "approved": 1,
        "rejected": 1,
        "expired": 1,
        "won": 0,
        "lost": 0,
    }
    assert jun["approval_rate"] == approx(0.5)  # 1 ÷ (1 + 1)
    assert jun["win_rate_of_approved"] is None and jun["median_days_registered_to_closed"] is None

    # EMEA, April: D09 only submitted; direct X6 (DE, closed 2025-04-01) won 4000
    emea_apr = rows[("reseller", "EMEA", month(2025, 4, 1))]
    assert (emea_apr["submitted"], emea_apr["pending"], emea_apr["won"]) == (1, 1, 0)
    assert emea_apr["direct_win_rate"] == 1 and emea_apr["direct_avg_won_deal_usd"] == 4000
    assert emea_apr["win_rate_vs_direct"] is None  # no partner win or loss in the month
    # EMEA, May: D09 won 2000, 2025-04-01 -> 2025-05-01 = 30 days; no direct deal decided
    emea_may = rows[("reseller", "EMEA", month(2025, 5, 1))]
    assert (emea_may["approved"], emea_may["won"], emea_may["avg_won_deal_usd"]) == (1, 1, 2000)
    assert emea_may["median_days_registered_to_closed"] == 30
    assert (emea_may["direct_won"], emea_may["direct_win_rate"]) == (0, None)

    isv = rows[("isv", "NA", month(2025, 3, 1))]  # D12 submitted; D13 lost (01-05 -> 03-01)
    assert {k: isv[k] for k in stages} == {
        "submitted": 1,
        "pending": 1,
        "approved": 1,
        "rejected": 0,
        "expired": 0,
        "won": 0,
        "lost": 1,
    }
    assert isv["win_rate_of_approved"] == 0 and isv["avg_won_deal_usd"] is None
    assert isv["median_days_registered_to_closed"] == 55  # 26 + 28 + 1

    oem = rows[("oem", "APAC", month(2025, 6, 1))]  # D16: seen on 06-01, closed 06-15
    assert (oem["submitted"], oem["approved"], oem["won"]) == (0, 1, 1)


def test_a_later_extract_moves_no_funnel_event(serving, job_runner, tmp_path):
    """A later night, with a later extract that updates three deals and moves a partner to
    another type and region, keeps every month up to the first night's D as the first night
    published it (SPEC §10)."""
    from tests.fixtures import diagnostics

    landing = diagnostics.write_landing(tmp_path / "landing")
    later = [
        # D07 (won 2025-02-25, 3000): the close date and the amount are corrected
        diagnostics._deal(
            "D07", "R2", "won", "A7", 9000, "2025-02-05", "2025-03-02", updated="2025-07-10"
        ),
        # D05 (approved on 2025-06-01) is won in July; D06 (pending since March) is approved
        diagnostics._deal(
            "D05", "R1", "won", "A5", 800, "2025-02-25", "2025-07-05", updated="2025-07-06"
        ),
        diagnostics._deal("D06", "R1", "approved", "A6", 400, "2025-03-01", updated="2025-07-02"),
    ]
    write_csv(
        landing / "deals" / "deals_2025-07-31.csv", list(ENTITIES["deals"].column_names), later
    )
    # R2 (reseller, US) becomes an msp in Germany on 2025-07-15: its February win stays with
    # resellers in NA
    moved = {
        **diagnostics._partner("R2", "msp", "DE", "2025-01-10"),
        "updated_at": "2025-07-15 00:00:00",
    }
    write_csv(
        landing / "partners" / "partners_2025-07-31.csv",
        list(ENTITIES["partners"].column_names),
        [moved],
    )
    seeds = diagnostics.write_seeds(tmp_path / "seeds")
    outcome = job_runner.run(landing, tmp_path / "warehouse", seeds, as_of="2025-07-31")
    assert outcome.success, outcome.summary()

    key = ("partner_type", "region", "month")
    first = rows_of(serving, "mart_deal_registration_funnel", *key)
    second = rows_of(
        tmp_path / "warehouse" / "serving.duckdb", "mart_deal_registration_funnel", *key
    )
    d1 = dt.date.fromisoformat(AS_OF)
    assert {k: v for k, v in second.items() if k[2] <= d1} == first
    july = second[("reseller", "NA", dt.date(2025, 7, 1))]
    assert (july["submitted"], july["approved"], july["won"]) == (0, 1, 1)  # D06, D05
    assert july["avg_won_deal_usd"] == approx(800)


def test_channel_conflict_pairs(serving):
    pairs = query(
        serving,
        "select account_id, product_line, deal_id, partner_id, conflicting_deal_id, "
        "conflict_kind, conflicting_partner_id, overlap_start, overlap_end, overlap_days "
        "from marts.mart_channel_conflict_accounts order by deal_id",
    )
    d = dt.date
    assert pairs == [
        # R1's open D05 (from 2025-02-25) and I1's D13 (to 2025-03-01): 5 days, both sides
        (
            "A5",
            "endpoint",
            "D05",
            "R1",
            "D13",
            "other_partner",
            "I1",
            d(2025, 2, 25),
            d(2025, 3, 1),
            5,
        ),
        # D09 registered on the day direct X6 closed (X6 opens on closed_on): touching counts
        ("A9", "endpoint", "D09", "R3", "X6", "direct", None, d(2025, 4, 1), d(2025, 4, 1), 1),
        # X4 has no dates: it opens on its update (2025-06-01) and is open until D
        ("A12", "endpoint", "D12", "I2", "X4", "direct", None, d(2025, 6, 1), d(2025, 6, 30), 30),
        (
            "A5",
            "endpoint",
            "D13",
            "I1",
            "D05",
            "other_partner",
            "R1",
            d(2025, 2, 25),
            d(2025, 3, 1),
            5,
        ),
    ]
    # not conflicts: D06/D14 (the same partner R1), D07/X5 (siem, another product line),
    # D10/X7 (X7 rejected)


def test_channel_conflict_rates(serving):
    rows = rows_of(serving, "mart_channel_conflict", "partner_type", "region")
    assert len(rows) == 8 * 4  # every partner type x the 4 regions of the countries seed
    got = {
        k: (
            r["partner_deals"],
            r["conflicted_deals"],
            r["conflicted_with_direct"],
            r["conflicted_with_partner"],
        )
        for k, r in rows.items()
        if r["partner_deals"]
    }
    assert got == {
        # D01, D02, D05, D06, D07, D08, D14 (D03 rejected and D04 expired take no part;
        # D00 was registered before the window); D05 conflicts with D13
        ("reseller", "NA"): (7, 1, 0, 1),
        ("reseller", "EMEA"): (1, 1, 1, 0),  # D09 with X6
        ("msp", "EMEA"): (1, 0, 0, 0),  # D10: X7 is rejected
        ("isv", "NA"): (3, 2, 1, 1),  # D11; D12 with X4; D13 with D05
        ("oem", "APAC"): (1, 0, 0, 0),  # D16
    }
    assert rows[("reseller", "NA")]["conflict_rate"] == approx(1 / 7)
    assert rows[("isv", "NA")]["conflict_rate"] == approx(2 / 3)
    assert rows[("isv", "NA")]["conflicted_amount_usd"] == approx(1200)  # D12 900 + D13 300
    assert rows[("distributor", "NA")]["conflict_rate"] is None  # no partner deal: null


def test_partner_concentration(serving):
    rows = rows_of(serving, "mart_partner_concentration", "partner_type")
    assert len(rows) == 8  # one per partner type; the whole ecosystem is its own mart
    # partner-sourced won revenue in the window: R1 1000 + 2000 (D01, D14; D00 is 2021),
    # R2 3000, R3 2000, M1 600, I1 1000 (D11, 2024-09-01), O1 400; the others 0
    reseller = rows["reseller"]
    assert (reseller["partners"], reseller["revenue_partners"]) == (3, 3)
    assert reseller["partner_sourced_revenue_usd"] == approx(8000)
    # top 1% = ceil(0.03) -> at least 1 partner: R1 and R2 tie at 3000, either gives 3000/8000
    assert reseller["top_1pct_partners"] == 1
    assert reseller["top_1pct_share"] == approx(3000 / 8000)
    assert reseller["top_10pct_share"] == approx(3000 / 8000)  # ceil(0.3) = 1
    assert reseller["top5_share"] == approx(1.0) and reseller["top5_over_half"] is True
    assert reseller["herfindahl_index"] == approx((3**2 + 3**2 + 2**2) / 8**2)  # 22/64

    [everyone] = query_dicts(serving, "select * from marts.mart_partner_concentration_total")
    assert everyone["as_of_date"] == dt.date.fromisoformat(AS_OF)
    # 9 enrolled partners, 6 with revenue; total 3000+3000+2000+1000+600+400 = 10000
    assert (everyone["partners"], everyone["revenue_partners"]) == (9, 6)
    assert everyone["partner_sourced_revenue_usd"] == approx(10000)
    assert everyone["top_1pct_partners"] == everyone["top_10pct_partners"] == 1  # ceil(0.9)
    assert everyone["top_1pct_share"] == approx(0.3)
    # top 5: 3000 + 3000 + 2000 + 1000 + 600 = 9600 (O1's 400 is sixth)
    assert everyone["top5_share"] == approx(0.96)
    # (0.3² + 0.3² + 0.2² + 0.1² + 0.06² + 0.04²) = 0.09+0.09+0.04+0.01+0.0036+0.0016
    assert everyone["herfindahl_index"] == approx(0.2352)

    isv = rows["isv"]  # I1 1000, I2 0, I3 0: one partner holds it all
    assert (isv["partners"], isv["revenue_partners"]) == (3, 1)
    assert isv["top_1pct_share"] == 1 and isv["herfindahl_index"] == approx(1.0)

    empty = rows["distributor"]  # no partner: zero counts, null shares
    assert (empty["partners"], empty["top_1pct_partners"]) == (0, 0)
    assert empty["top_1pct_share"] is None and empty["herfindahl_index"] is None
    assert empty["top5_over_half"] is None


def test_partner_activation(serving):
    rows = rows_of(serving, "mart_partner_activation", "cohort_month", "partner_type")
    d = dt.date
    # months 2021-01 .. 2025-06 = 54 cohorts x 8 types
    assert len(rows) == 54 * 8
    r2025 = rows[(d(2025, 1, 1), "reseller")]
    # R2 enrolled 01-10: first deal D07 02-05 (26 days), first win 02-25 (46);
    # R3 enrolled 01-20: first deal D09 04-01 (71 days), first win 05-01 (101)
    assert (r2025["partners"], r2025["partners_with_deal"], r2025["partners_with_win"]) == (
        2,
        2,
        2,
    )
    assert r2025["median_days_to_first_deal"] == approx(48.5)  # (26 + 71) / 2
    assert r2025["p90_days_to_first_deal"] == approx(66.5)  # 26 + 0.9 x (71 - 26)
    assert r2025["median_days_to_first_win"] == approx(73.5)  # (46 + 101) / 2
    assert r2025["p90_days_to_first_win"] == approx(95.5)  # 46 + 0.9 x (101 - 46)
    assert r2025["is_cohort_90_days_old"] is True  # 2025-01-31 + 90 = 2025-05-01 <= D
    assert (r2025["activated_within_90_days"], r2025["activation_rate_90_days"]) == (2, 1.0)

    msp = rows[(d(2022, 3, 1), "msp")]  # M1: first deal 2025-03-05, 1100 days after 2022-03-01
    assert msp["median_days_to_first_deal"] == 1100
    assert msp["median_days_to_first_win"] == 1130  # 2025-04-04
    assert (msp["activated_within_90_days"], msp["activation_rate_90_days"]) == (0, 0.0)

    # I2: 2025-03-31 + 90 = 2025-06-29 <= D: just old enough; registered after 10 days
    march = rows[(d(2025, 3, 1), "isv")]
    assert march["is_cohort_90_days_old"] is True
    assert (march["median_days_to_first_deal"], march["activation_rate_90_days"]) == (10, 1.0)
    assert (march["partners_with_win"], march["median_days_to_first_win"]) == (0, None)

    # cohorts younger than 90 days at D: no activation figures, whatever happened
    april = rows[(d(2025, 4, 1), "isv")]  # I3, no deal at all
    assert april["is_cohort_90_days_old"] is False
    assert (april["partners"], april["partners_with_deal"]) == (1, 0)
    assert april["median_days_to_first_deal"] is None and april["activation_rate_90_days"] is None
    may = rows[(d(2025, 5, 1), "oem")]  # O1: deal after 5 days, win after 31, still null rate
    assert (may["median_days_to_first_deal"], may["median_days_to_first_win"]) == (5, 31)
    assert may["activated_within_90_days"] is None and may["activation_rate_90_days"] is None

    # an empty cohort: old enough, but nobody enrolled
    empty = rows[(d(2023, 7, 1), "reseller")]
    assert empty["partners"] == 0 and empty["is_cohort_90_days_old"] is True
    assert empty["median_days_to_first_deal"] is None and empty["activation_rate_90_days"] is None


def test_partner_health(serving):
    rows = rows_of(serving, "mart_partner_health", "partner_id")
    assert set(rows) == {"R1", "R2", "R3", "M1", "I1", "I2", "I3", "O1", "O2"}
    fields = (
        "revenue_usd",
        "pipeline_usd",
        "valid_certifications",
        "investment_usd",
        "incentive_efficiency",
    )
    assert {k: rows["R1"][k] for k in fields} == {
        "revenue_usd": 3000,  # D01 1000 + D14 2000
        "pipeline_usd": 1200,  # D05 approved 800 + D06 registered 400
        "valid_certifications": 2,
        "investment_usd": 1000,
        "incentive_efficiency": 3.0,  # 3000 / 1000
    }
    # reseller ranks, percent_rank = (rank - 1) / (3 - 1), ties share the lowest rank:
    #   revenue R3 2000 < R1 = R2 3000 -> R3 0, R1 0.5, R2 0.5
    #   pipeline R2 = R3 0 < R1 1200 -> R1 1, R2 0, R3 0
    #   enablement R3 0 < R2 1 < R1 2 -> 0, 0.5, 1
    #   efficiency R3 2 < R1 3 < R2 6 -> 0, 0.5, 1
    scores = ("revenue_score", "pipeline_score", "enablement_score", "incentive_efficiency_score")
    assert [rows["R1"][s] for s in scores] == [0.5, 1.0, 1.0, 0.5]
    assert [rows["R2"][s] for s in scores] == [0.5, 0.0, 0.5, 1.0]
    # weights revenue 0.40, pipeline 0.25, enablement 0.15, incentive_efficiency 0.20
    expected = {
        "R1": 0.4 * 0.5 + 0.25 * 1 + 0.15 * 1 + 0.2 * 0.5,  # 0.70
        "R2": 0.4 * 0.5 + 0.25 * 0 + 0.15 * 0.5 + 0.2 * 1,  # 0.475
        "R3": 0.0,  # the lowest of its type on everything
        # M1 is the only msp: above 0 scores 1 (revenue, enablement, efficiency), pipeline 0
        "M1": 0.4 + 0.15 + 0.2,  # 0.75
        # I1 has no incentive: efficiency null, the other weights scaled up to 1
        "I1": (0.4 * 1 + 0.25 * 0 + 0.15 * 1) / (0.4 + 0.25 + 0.15),  # 0.6875
        # I2: the only isv with investment, efficiency 0 / 500 = 0 -> 0; top pipeline
        "I2": 0.25 * 1,
        "I3": 0.0,
        # O1's only incentive is accrued: no investment, efficiency null
        "O1": 0.4 * 1 / 0.8,  # 0.5
        "O2": 0.15 * 1 / 0.8,  # 0.1875
    }
    assert {p: approx(v) for p, v in expected.items()} == {
        p: r["health_score"] for p, r in rows.items()
    }
    assert rows["I1"]["incentive_efficiency"] is None
    assert rows["I1"]["incentive_efficiency_score"] is None
    assert rows["I2"]["incentive_efficiency_score"] == 0.0


def test_strategy_alerts(serving):
    rows = rows_of(serving, "mart_strategy_alerts", "alert_id")
    assert set(rows) == {
        "portfolio_drift:all",
        "recruit_mix_divergence:all",
        "strategy_not_funded:reseller",
        "strategy_not_funded:msp",
        "strategy_not_funded:isv",
        "investment_by_relationship_history:all",
    }
    got = {k: (r["metric_value"], r["threshold"], r["is_triggered"]) for k, r in rows.items()}
    assert got == {
        # composition alignment at month ends (targets reseller .5, msp .3, isv .2):
        # Feb 0.9 (R1 R2 R3 M1 I1) > Mar 0.8667 (+I2) > Apr 0.7714 (+I3) > May 0.7 (+O1)
        # > Jun 0.6444 (+O2): 4 declines in a row, alert at 3
        "portfolio_drift:all": (4, 3, True),
        # recruits 2025: R2 R3 I2 I3 O1 O2 -> reseller 1/3, isv 1/3, oem 1/3;
        # ½(|1/3-.5| + |0-.3| + |1/3-.2| + |1/3-0|) = 0.4667 > 0.25
        "recruit_mix_divergence:all": (approx(7 / 15), 0.25, True),
        # investment 6000: reseller 1000+500+1000, msp 3000, isv 500;
        # threshold 0.5 x target partner share
        "strategy_not_funded:reseller": (approx(2500 / 6000), 0.25, False),
        "strategy_not_funded:msp": (approx(0.5), 0.15, False),
        "strategy_not_funded:isv": (approx(500 / 6000), approx(0.1), True),
        # ROI: R1 3, R2 6, R3 2, M1 0.2, I2 0 -> median 2; long relationships R1 (3 >= 2)
        # and M1 (0.2 < 2): 3000 / 6000 = 0.5 > 0.25
        "investment_by_relationship_history:all": (0.5, 0.25, True),
    }
    assert rows["strategy_not_funded:isv"]["severity"] == "critical"
    assert rows["portfolio_drift:all"]["partner_type"] is None
    assert rows["strategy_not_funded:isv"]["explanation"] == (
        "isv has a target partner share of 20.0% and receives 8.3% of the investment in the "
        "window (target investment share 20.0%); the alert fires below 10.0% (0.5 × the target "
        "partner share)."
    )
    assert (
        "fell in 4 consecutive month end(s) up to 2025-06-30, from 0.9 to 0.64"
        in (rows["portfolio_drift:all"]["explanation"])
    )
