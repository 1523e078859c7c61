"""Point-in-time history (SPEC §10) on the fixture of tests/fixtures/diagnostics.py, by the real
nightly_refresh job: the history's row of a date holds what the sources said at the end of that
date, whatever later extracts bring.

D1 = 2025-06-30, D2 = 2025-07-31, W = 365. Expected figures are computed by hand next to each
assertion.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.names import STRATEGY_HISTORY
from tests.conftest import query_dicts, write_csv
from tests.fixtures import diagnostics

D1 = dt.date(2025, 6, 30)
D2 = dt.date(2025, 7, 31)
HISTORY_COLUMNS = (
    "enrolled_partners",
    "active_partners",
    "qualified_partners",
    "active_ratio",
    "partner_revenue_usd",
    "investment_usd",
    "actual_partner_share",
    "actual_investment_share",
)


def history(warehouse: Path) -> dict[tuple[dt.date, str], dict]:
    rows = query_dicts(
        warehouse / "serving.duckdb", "select * from marts.mart_partner_type_history"
    )
    return {(r["as_of_date"], r["partner_type"]): r for r in rows}


def strategy_history(warehouse: Path) -> dict[dt.date, dict]:
    rows = query_dicts(warehouse / "serving.duckdb", "select * from marts.mart_strategy_history")
    return {r["as_of_date"]: r for r in rows}


def scorecard(warehouse: Path) -> dict:
    (row,) = query_dicts(
        warehouse / "serving.duckdb", "select * from marts.mart_strategy_scorecard"
    )
    return row


def figures(row: dict) -> tuple:
    return tuple(row[c] for c in HISTORY_COLUMNS)


def write_later_files(landing: Path) -> None:
    """A July extract: updates after D1, and one late version (updated before D1)."""
    cols = {name: list(entity.column_names) for name, entity in ENTITIES.items()}
    deals = [
        # D09 (R3, won 2025-05-01): 2000 corrected to 5000 on 2025-07-05
        diagnostics._deal(
            "D09",
            "R3",
            "won",
            "A9",
            5000,
            "2025-04-01",
            "2025-05-01",
            country="DE",
            updated="2025-07-05 00:00:00",
        ),
        # D16 (O1, won 2025-06-15): 400 → 700, recorded on 2025-06-20 but delivered in July
        diagnostics._deal(
            "D16",
            "O1",
            "won",
            "A16",
            700,
            "2025-05-20",
            "2025-06-15",
            country="JP",
            updated="2025-06-20 00:00:00",
        ),
    ]
    write_csv(landing / "deals" / "deals_2025-07-31.csv", cols["deals"], deals)
    # R3 leaves the programme on 2025-07-01
    r3 = {
        **diagnostics._partner("R3", "reseller", "DE", "2025-01-20"),
        "terminated_on": "2025-07-01",
        "updated_at": "2025-07-10 00:00:00",
    }
    write_csv(landing / "partners" / "partners_2025-07-31.csv", cols["partners"], [r3])
    # N4 (R3): 1000 → 9000 on 2025-07-03
    n4 = {**diagnostics._incentive("N4", "R3", 9000), "updated_at": "2025-07-03 00:00:00"}
    write_csv(landing / "incentives" / "incentives_2025-07-31.csv", cols["incentives"], [n4])


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory, job_runner) -> dict[str, dict]:
    """The history after night 1 (D1, files known at D1), after night 2 (D2, the July files too)
    on the same warehouse, and in a fresh warehouse that loads every file and computes D1."""
    root = tmp_path_factory.mktemp("history")
    seeds = diagnostics.write_seeds(root / "seeds")
    landing = diagnostics.write_landing(root / "landing")
    warehouse = root / "warehouse"
    outcome = job_runner.run(landing, warehouse, seeds, as_of=D1.isoformat())
    assert outcome.success, outcome.summary()
    with job_runner.environment(), dg.DagsterInstance.get() as instance:
        nightly_event = instance.get_latest_materialization_event(STRATEGY_HISTORY)
    assert nightly_event is not None and nightly_event.run_id == outcome.run_id
    nightly_partition = nightly_event.asset_materialization.partition
    first = history(warehouse)
    first_strategy = strategy_history(warehouse)
    first_scorecard = scorecard(warehouse)
    qualified = query_dicts(
        warehouse / "serving.duckdb",
        "select partner_type, count(*) filter (where is_qualified) as qualified_partners "
        "from marts.mart_partner_scorecard group by partner_type",
    )
    first_marts = {
        "qualified": {r["partner_type"]: r["qualified_partners"] for r in qualified},
        "alignment": {
            r["partner_type"]: r
            for r in query_dicts(
                warehouse / "serving.duckdb", "select * from marts.mart_execution_alignment"
            )
        },
        "productivity": {
            r["partner_type"]: r
            for r in query_dicts(
                warehouse / "serving.duckdb", "select * from marts.mart_ecosystem_productivity"
            )
        },
    }

    write_later_files(landing)
    outcome = job_runner.run(landing, warehouse, seeds, as_of=D2.isoformat())
    assert outcome.success, outcome.summary()
    second = history(warehouse)
    second_strategy = strategy_history(warehouse)
    second_scorecard = scorecard(warehouse)

    outcome = job_runner.run(landing, root / "fresh", seeds, as_of=D1.isoformat())
    assert outcome.success, outcome.summary()

    # a night whose gate refused its marts left them in the build database, unpublished
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        con.execute("update marts.mart_strategy_scorecard set program_elements = -1")
    # the first warehouse computes D1 to D2 again: a backfill of the history (psw history)
    outcome = job_runner.history(
        landing, warehouse, D1.isoformat(), D2.isoformat(), seeds, as_of=D2.isoformat()
    )
    assert outcome.success, outcome.summary()
    outcome_summary = outcome.summary()
    with job_runner.environment(), dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(outcome.run_id)
        event = instance.get_latest_materialization_event(STRATEGY_HISTORY)
        partitions = instance.get_materialized_partitions(STRATEGY_HISTORY)
    assert event is not None and event.run_id == outcome.run_id
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return {
        "first": first,
        "first_marts": first_marts,
        "second": second,
        "fresh": history(root / "fresh"),
        "recomputed": history(warehouse),
        "recomputed_metadata": {
            k.split("/", 1)[1]: v
            for k, v in metadata.items()
            if k.startswith("mart_partner_type_history/")
        },
        "paths": {"landing": landing, "seeds": seeds, "fresh": root / "fresh"},
        "backfill": {
            "nightly_partition": nightly_partition,
            "summary": outcome_summary,
            "tags": run.tags,
            "partitions": partitions,
            "changed": metadata["history_dates_changed"],
            "scorecard": scorecard(warehouse),
        },
        "strategy": {
            "first": first_strategy,
            "first_scorecard": first_scorecard,
            "second": second_strategy,
            "second_scorecard": second_scorecard,
            "fresh": strategy_history(root / "fresh"),
            "recomputed": strategy_history(warehouse),
            "recomputed_metadata": {
                k.split("/", 1)[1]: v
                for k, v in metadata.items()
                if k.startswith("mart_strategy_history/")
            },
        },
    }


def test_the_night_of_d_holds_the_partner_type_marts_of_d(nights):
    first, marts = nights["first"], nights["first_marts"]
    assert {date for date, _ in first} == {D1}
    for (_, partner_type), row in first.items():
        alignment = marts["alignment"][partner_type]
        productivity = marts["productivity"][partner_type]
        assert figures(row) == (
            alignment["enrolled_partners"],
            productivity["active_partners"],
            marts["qualified"].get(partner_type, 0),
            productivity["active_ratio"],
            alignment["partner_revenue_usd"],
            alignment["investment_usd"],
            alignment["actual_partner_share"],
            alignment["actual_investment_share"],
        ), partner_type
    # resellers at D1: R1, R2, R3 enrolled; won D01 1000 + D07 3000 + D09 2000 + D14 2000;
    # incentives N1 1000 + N2 500 + N4 1000
    reseller = first[(D1, "reseller")]
    assert (reseller["enrolled_partners"], reseller["partner_revenue_usd"]) == (3, 8000)
    assert reseller["investment_usd"] == 2500


def test_a_later_night_keeps_the_row_it_published_and_adds_its_own(nights):
    first, second = nights["first"], nights["second"]
    assert {date for date, _ in second} == {D1, D2}
    assert {k: figures(v) for k, v in second.items() if k[0] == D1} == {
        k: figures(v) for k, v in first.items()
    }
    # resellers at D2: R3 terminated on 2025-07-01; D09 now 5000: 1000 + 3000 + 5000 + 2000;
    # N4 now 9000: 1000 + 500 + 9000
    reseller = second[(D2, "reseller")]
    assert (reseller["enrolled_partners"], reseller["partner_revenue_usd"]) == (2, 11000)
    assert reseller["investment_usd"] == 10500


def test_a_fresh_warehouse_computes_d1_from_the_versions_current_at_d1(nights):
    """Every file loaded, D1 computed again: the July updates are not yet current at D1, so
    the row is night 1's, except for D16's late version (updated on 2025-06-20, before D1),
    which a recomputation of D1 takes in: oem revenue 700 instead of 400."""
    first, fresh = nights["first"], nights["fresh"]
    assert set(fresh) == set(first)
    for key, row in fresh.items():
        if key[1] != "oem":
            assert figures(row) == figures(first[key]), key
    assert first[(D1, "oem")]["partner_revenue_usd"] == 400
    assert fresh[(D1, "oem")]["partner_revenue_usd"] == 700


def test_computing_stored_dates_again_says_which_changed(nights):
    """D1 to D2 computed again on the first warehouse: D1 takes in D16's late version (oem
    revenue 400 → 700) and is named as changed; the 30 days of July before D2 are added; D2,
    computed from the same versions, is unchanged."""
    recomputed, fresh = nights["recomputed"], nights["fresh"]
    assert {k: figures(v) for k, v in recomputed.items() if k[0] == D1} == {
        k: figures(v) for k, v in fresh.items()
    }
    assert recomputed[(D1, "oem")]["partner_revenue_usd"] == 700
    assert {k: figures(v) for k, v in recomputed.items() if k[0] == D2} == {
        k: figures(v) for k, v in nights["second"].items() if k[0] == D2
    }
    meta = nights["recomputed_metadata"]
    july = [(D1 + dt.timedelta(days=n)).isoformat() for n in range(1, 31)]
    assert meta["history_dates_computed"] == 32
    assert meta["history_dates_changed"] == [D1.isoformat()]
    assert meta["history_dates_added"] == july


def test_the_strategy_history_of_a_night_is_its_scorecard_and_stays_so(nights):
    """mart_strategy_history: every column of the scorecard each night published, on the row of
    its D; night 2 keeps D1's row as night 1 published it."""
    strategy = nights["strategy"]
    assert set(strategy["first"]) == {D1}
    assert strategy["first"][D1] == strategy["first_scorecard"]
    assert set(strategy["second"]) == {D1, D2}
    assert strategy["second"][D1] == strategy["first_scorecard"]
    assert strategy["second"][D2] == strategy["second_scorecard"]
    # D2 by hand: R3 terminated on 2025-07-01 leaves 2 enrolled resellers; D09 is 5000 now
    assert strategy["second"][D2]["partner_revenue_usd"] - strategy["first"][D1][
        "partner_revenue_usd"
    ] == pytest.approx(3000 + 300)


def test_a_fresh_warehouse_backfills_the_strategy_row_of_d1(nights):
    """A fresh warehouse with every file computes D1's row from the versions current at D1:
    night 1's scorecard, except that D16's late version (400 → 700, updated before D1) is
    current at D1 now, so the partner revenue is 300 higher; a recomputation of D1 on the first
    warehouse gets the same row and names D1 as changed."""
    strategy = nights["strategy"]
    published, fresh = strategy["first_scorecard"], strategy["fresh"][D1]
    moved = {
        "partner_revenue_usd",
        "partner_sourced_revenue_usd",
        "partner_revenue_share_of_tam",
        "roi_multiple",
    }
    assert {k: v for k, v in fresh.items() if k not in moved} == {
        k: v for k, v in published.items() if k not in moved
    }
    assert fresh["partner_revenue_usd"] - published["partner_revenue_usd"] == pytest.approx(300)
    assert strategy["recomputed"][D1] == fresh
    meta = strategy["recomputed_metadata"]
    assert meta["history_dates_changed"] == [D1.isoformat()]
    assert meta["history_dates_computed"] == 32


def test_a_backfill_is_one_run_over_the_range_and_publishes_only_the_history(nights):
    """psw history D1..D2: one run with Dagster's partition-range tags, recorded in the
    instance; every partition of the range and the nightly partitions are materialized; the
    scorecard that a refused night left in the build database is not published by it."""
    backfill = nights["backfill"]
    assert backfill["summary"].endswith("32 partitions of history/strategy_history materialized")
    assert backfill["tags"]["dagster/asset_partition_range_start"] == D1.isoformat()
    assert backfill["tags"]["dagster/asset_partition_range_end"] == D2.isoformat()
    days = {(D1 + dt.timedelta(days=n)).isoformat() for n in range(32)}
    assert days <= backfill["partitions"]
    assert backfill["changed"] == [D1.isoformat()]
    assert backfill["scorecard"] == nights["strategy"]["second_scorecard"]
    assert backfill["scorecard"]["program_elements"] != -1
    assert backfill["nightly_partition"] == D1.isoformat()


def test_a_backfill_past_the_as_of_date_fails_and_says_why(nights, job_runner):
    """The fresh warehouse is as of D1: D2's sources are not known there. The run is recorded,
    fails, and names the reason; nothing is published."""
    paths = nights["paths"]
    before = scorecard(paths["fresh"])
    outcome = job_runner.history(
        paths["landing"],
        paths["fresh"],
        D2.isoformat(),
        D2.isoformat(),
        paths["seeds"],
        as_of=D1.isoformat(),
    )
    assert not outcome.success
    assert outcome.run_id
    assert any("after the as-of date 2025-06-30" in f for f in outcome.failures), outcome.summary()
    assert scorecard(paths["fresh"]) == before
