"""Input that follows SPEC §3 always publishes (issue 23, points 1 and 3).

Two landing zones, each built by the real nightly job (tests/conftest.py JobRunner):

- an odd one: every way SPEC §3 allows data to look unusual, written the way real extracts are
  dirty but valid (codes in odd case with spaces, aliases, blank optional fields), with seeds
  that have a partner type without partners and a segment without market cells. It publishes,
  and the plausibility rules it breaks show as WARN checks without blocking;
- one at the contract's limits: amounts of 9999999999999999.99 (the largest DECIMAL(18, 2)) in
  USD and in a currency whose rate is above 1, and a zero amount. Sums, squares and ratios of
  money do not overflow, and the figures are those computed here by hand.

D = 2025-06-30 and W = 365 (the vendor_profile seed leaves it empty), so the window is
(2024-06-30, 2025-06-30].
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import dagster as dg
import pytest

from orchestration.ingest.contract import ENTITIES
from tests.conftest import MARTS, JobRunner, query, query_dicts, write_csv
from tests.fixtures import metrics
from tests.fixtures.quality import check_evaluations

AS_OF = "2025-06-30"
COLS = {name: list(entity.column_names) for name, entity in ENTITIES.items()}

# ---------------------------------------------------------------------------------------------
# The odd landing zone
# ---------------------------------------------------------------------------------------------

# market cells for smb and mid_market only: the contract segment "enterprise" has no cell
ODD_MARKET_SEGMENTS = (
    "country_code,segment,vertical,addressable_accounts,addressable_revenue_usd,"
    "coverage_model,target_coverage_pct\n"
    "US,smb,retail,100,1000000,channel,0.8\n"
    "DE,mid_market,retail,20,2000000,hybrid,0.5\n"
)
NINTH_TYPE = "marketplace"  # a partner type of the seeds only, with no partner

ODD_PARTNERS = [
    {
        # an alias in odd case with spaces; first won deal closed before enrolment; blank
        # is_strategic (default false) and blank verticals (a generalist)
        "partner_id": "P1",
        "partner_name": "Acme",
        "partner_type": "  var ",
        "tier": " Gold ",
        "program_status": "ENROLLED",
        "is_strategic": "",
        "hq_country": " us ",
        "countries_served": "US;de",
        "segments_served": "SMB;Mid_Market",
        "verticals_served": "",
        "applied_on": "2024-01-01",
        "enrolled_on": "2024-06-01",
        "updated_at": "2025-06-01 00:00:00",
    },
    {
        # no certification at all; an incentive approved before the partner applied
        "partner_id": "P2",
        "partner_name": "Bravo",
        "partner_type": "MSSP",
        "tier": "registered",
        "program_status": "enrolled",
        "is_strategic": "false",
        "hq_country": "DE",
        "countries_served": "",
        "segments_served": "mid_market",
        "applied_on": "2024-08-01",
        "enrolled_on": "2024-09-01",
        "updated_at": "2025-06-01 00:00:00",
    },
    {
        # applied only: enrolled_on and terminated_on blank
        "partner_id": "P3",
        "partner_name": "Charlie",
        "partner_type": "Technology Partner",
        "tier": "registered",
        "program_status": " Applied",
        "hq_country": "us",
        "segments_served": "smb",
        "applied_on": "2025-05-01",
        "updated_at": "2025-06-01 00:00:00",
    },
]
DEAL = {
    "account_country": "US",
    "account_segment": "smb",
    "account_vertical": "retail",
    "product_line": "core",
    "updated_at": "2025-06-01 00:00:00",
}
ODD_DEALS = [
    # P1's first win, 92 days before its enrolment (2024-03-01 -> 2024-06-01)
    {
        **DEAL,
        "deal_id": "D1",
        "partner_id": "P1",
        "deal_source": "Partner_Sourced",
        "account_id": "A1",
        "amount": "2500",
        "currency": "usd",
        "stage": "WON",
        "registered_on": "2024-02-01",
        "closed_on": "2024-03-01",
    },
    # closed on the day it was registered, for a zero amount, in the window
    {
        **DEAL,
        "deal_id": "D2",
        "partner_id": "P1",
        "deal_source": "partner_sourced",
        "account_id": "A2",
        "account_country": " de ",
        "account_segment": "Mid_Market",
        "amount": "0",
        "currency": " USD ",
        "stage": "won",
        "registered_on": "2025-03-03",
        "closed_on": "2025-03-03",
    },
    # an open partner-influenced registration: closed_on blank
    {
        **DEAL,
        "deal_id": "D3",
        "partner_id": "P2",
        "deal_source": "partner_influenced",
        "account_id": "A3",
        "amount": "1000",
        "currency": "EUR",
        "stage": "Registered",
        "registered_on": "2025-04-01",
    },
    # a direct deal: partner_id and registered_on blank
    {
        **DEAL,
        "deal_id": "D4",
        "deal_source": "direct",
        "account_id": "A4",
        "amount": "500",
        "currency": "USD",
        "stage": "won",
        "closed_on": "2025-01-15",
    },
]
ODD_CERTIFICATIONS = [
    {
        "certification_id": "C1",
        "partner_id": "P1",
        "person_id": "U1",
        "track": "core",
        "vertical": "",
        "level": " Expert",
        "earned_on": "2024-05-01",
        "expires_on": "",
        "updated_at": "2025-06-01 00:00:00",
    }
]
ODD_INCENTIVES = [
    {
        # approved 2024-07-15, before P2 applied (2024-08-01): acquisition
        "incentive_id": "I1",
        "partner_id": "P2",
        "program": "MDF",
        "amount": "100",
        "currency": "usd",
        "status": " approved",
        "approved_on": "2024-07-15",
        "paid_on": "",
        "updated_at": "2025-06-01 00:00:00",
    }
]


def _odd_seeds(target: Path) -> Path:
    seeds = metrics.write_seeds(target)
    (seeds / "market_segments.csv").write_text(ODD_MARKET_SEGMENTS)
    with (seeds / "partner_types.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{NINTH_TYPE},Marketplace,9,Sells through a cloud marketplace.\n")
    return seeds


def _odd_landing(target: Path) -> Path:
    write_csv(target / "partners" / "partners_2025-06-01.csv", COLS["partners"], ODD_PARTNERS)
    write_csv(target / "deals" / "deals_2025-06-01.csv", COLS["deals"], ODD_DEALS)
    write_csv(
        target / "certifications" / "certifications_2025-06-01.csv",
        COLS["certifications"],
        ODD_CERTIFICATIONS,
    )
    write_csv(
        target / "incentives" / "incentives_2025-06-01.csv", COLS["incentives"], ODD_INCENTIVES
    )
    return target


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("odd")
    seeds = _odd_seeds(root / "seeds")
    landing = _odd_landing(root / "landing")
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=AS_OF)
    return outcome, root / "warehouse"


def test_odd_but_valid_input_publishes(odd_run):
    outcome, warehouse = odd_run
    assert outcome.success, outcome.summary()
    serving = warehouse / "serving.duckdb"
    tables = {
        name
        for (name,) in query(
            serving, "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    assert set(MARTS) <= tables
    assert query(serving, "select count(*) from audit.rejected_rows") == [(0,)]
    # every row of every entity was loaded: nothing odd was rejected
    assert query(serving, "select count(*) from marts.mart_partner_scorecard") == [(3,)]


def test_the_odd_figures_are_published_as_they_are(odd_run):
    _, warehouse = odd_run
    serving = warehouse / "serving.duckdb"
    rows = {
        r["partner_type"]: r
        for r in query_dicts(serving, "select * from marts.mart_ecosystem_productivity")
    }
    # one row per type of the seed, the ninth (no partner) included, with zero figures
    assert len(rows) == 9 and rows[NINTH_TYPE]["enrolled_partners"] == 0
    # reseller P1: first won deal 2024-03-01, enrolled 2024-06-01
    assert (
        rows["reseller"]["median_days_to_first_win"] == (date(2024, 3, 1) - date(2024, 6, 1)).days
    )
    # the zero-amount win on its registration day is won revenue of 0 in the window
    assert rows["reseller"]["partner_revenue_usd"] == 0
    assert rows["msp"]["investment_usd"] == 100
    categories = dict(
        query(
            serving,
            "select investment_category, investment_usd from marts.mart_investment_allocation",
        )
    )
    assert categories["acquisition"] == 100  # approved before the partner applied
    segments = [
        s
        for (s,) in query(serving, "select segment from marts.mart_coverage_by_segment order by 1")
    ]
    assert segments == ["mid_market", "smb"]  # enterprise has no market cell


def test_plausibility_rules_warn_without_blocking(odd_run, job_runner):
    outcome, _ = odd_run
    evaluations = check_evaluations(job_runner, outcome.run_id)
    productivity = evaluations["marts/mart_ecosystem_productivity:gx_mart_ecosystem_productivity"]
    assert not productivity.passed
    assert productivity.severity == dg.AssetCheckSeverity.WARN
    failed = productivity.metadata["failed_expectations"].value
    assert [f["expectation"].split("(")[1].split(",")[0] for f in failed] == [
        "column=median_days_to_first_win"
    ]
    assert productivity.metadata["failed_critical"].value == 0
    # the ninth type has no playbook role: a warning on the seed, the mart says so
    playbook = evaluations["reference/growth_stage_playbook:gx_reference_growth_stage_playbook"]
    assert (playbook.passed, playbook.severity) == (False, dg.AssetCheckSeverity.WARN)
    # nothing failed with severity ERROR
    assert not [
        key
        for key, e in evaluations.items()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


# ---------------------------------------------------------------------------------------------
# Amounts at the contract's limits (F2)
# ---------------------------------------------------------------------------------------------

LIMIT = "9999999999999999.99"  # the largest DECIMAL(18, 2)
EUR_RATE = "1.25"
LIMIT_FX = f"currency,month,usd_per_unit\nEUR,2025-01-01,{EUR_RATE}\n"

LIMIT_PARTNERS = [
    {
        "partner_id": pid,
        "partner_name": pid,
        "partner_type": ptype,
        "tier": "gold",
        "program_status": "enrolled",
        "hq_country": "US",
        "segments_served": "smb",
        "applied_on": "2024-01-01",
        "enrolled_on": "2024-02-01",
        "updated_at": "2025-06-01 00:00:00",
    }
    for pid, ptype in (("P1", "reseller"), ("P2", "reseller"), ("P3", "msp"))
]
WON = {**DEAL, "deal_source": "partner_sourced", "stage": "won"}
LIMIT_DEALS = [
    {**WON, "deal_id": "D1", "partner_id": "P1", "account_id": "A1", "amount": LIMIT,
     "currency": "USD", "registered_on": "2025-02-01", "closed_on": "2025-03-10"},
    {**WON, "deal_id": "D2", "partner_id": "P1", "account_id": "A2", "amount": LIMIT,
     "currency": "EUR", "registered_on": "2025-02-01", "closed_on": "2025-03-11"},
    {**WON, "deal_id": "D3", "partner_id": "P2", "account_id": "A3", "amount": LIMIT,
     "currency": "USD", "registered_on": "2025-02-01", "closed_on": "2025-03-12"},
    {**WON, "deal_id": "D4", "partner_id": "P3", "account_id": "A4", "amount": "0",
     "currency": "USD", "registered_on": "2025-02-01", "closed_on": "2025-03-13"},
]  # fmt: skip
LIMIT_INCENTIVES = [
    {"incentive_id": "I1", "partner_id": "P2", "program": "mdf", "amount": LIMIT,
     "currency": "EUR", "status": "paid", "approved_on": "2025-02-01",
     "paid_on": "2025-02-15", "updated_at": "2025-06-01 00:00:00"},
]  # fmt: skip


@pytest.fixture(scope="module")
def limit_run(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("limits")
    seeds = metrics.write_seeds(root / "seeds")
    (seeds / "fx_rates.csv").write_text(LIMIT_FX)
    landing = root / "landing"
    write_csv(landing / "partners" / "partners_1.csv", COLS["partners"], LIMIT_PARTNERS)
    write_csv(landing / "deals" / "deals_1.csv", COLS["deals"], LIMIT_DEALS)
    write_csv(landing / "certifications" / "certifications_1.csv", COLS["certifications"], [])
    write_csv(landing / "incentives" / "incentives_1.csv", COLS["incentives"], LIMIT_INCENTIVES)
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=AS_OF)
    return outcome, root / "warehouse" / "serving.duckdb"


def _close(actual: float | None, expected: Fraction) -> bool:
    return actual is not None and abs(Fraction(actual) - expected) <= abs(expected) * Fraction(
        1, 10**12
    )


def test_amounts_at_the_contracts_limits_publish(limit_run):
    outcome, _ = limit_run
    assert outcome.success, outcome.summary()


def test_figures_at_the_limits_are_right(limit_run):
    _, serving = limit_run
    top = Fraction(LIMIT)
    eur = top * Fraction(EUR_RATE)
    p1, p2 = top + eur, top  # P1: a USD and a EUR deal; P2: a USD deal; P3: zero
    resellers = p1 + p2
    conc = {
        r["partner_type"]: r
        for r in query_dicts(serving, "select * from marts.mart_partner_concentration")
    }
    [conc["all"]] = query_dicts(serving, "select * from marts.mart_partner_concentration_total")
    for scope, partners in (("reseller", 2), ("all", 3)):
        row = conc[scope]
        assert row["partners"] == partners
        assert row["revenue_partners"] == 2
        assert _close(row["partner_sourced_revenue_usd"], resellers)
        assert _close(row["top_1pct_share"], p1 / resellers)  # ceil(1% of n) = 1 partner
        assert _close(row["top5_share"], Fraction(1))
        assert _close(row["herfindahl_index"], (p1 / resellers) ** 2 + (p2 / resellers) ** 2)
    msp = conc["msp"]
    assert (msp["partners"], msp["revenue_partners"]) == (1, 0)
    assert msp["herfindahl_index"] is None and msp["top_1pct_share"] is None  # empty whole

    prod = {
        r["partner_type"]: r
        for r in query_dicts(serving, "select * from marts.mart_ecosystem_productivity")
    }
    reseller = prod["reseller"]
    assert _close(reseller["partner_revenue_usd"], resellers)
    assert _close(reseller["partner_sourced_revenue_usd"], resellers)
    assert reseller["active_partners"] == 2
    assert _close(reseller["revenue_per_active_partner_usd"], resellers / 2)
    assert _close(reseller["investment_usd"], eur)  # P2's incentive, EUR at 1.25
    assert _close(reseller["roi_multiple"], resellers / eur)
    assert prod["msp"]["partner_revenue_usd"] == 0 and prod["msp"]["active_partners"] == 1
    (scorecard,) = query_dicts(serving, "select * from marts.mart_strategy_scorecard")
    assert _close(scorecard["partner_sourced_revenue_usd"], resellers)
    assert _close(scorecard["roi_multiple"], resellers / eur)
