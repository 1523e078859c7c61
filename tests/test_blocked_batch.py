"""A blocked batch stays blocked (issue 23, F1): loads stay pending until their raw gate passes;
a gate that blocks rolls back every pending load of the entity, so rerunning never publishes
what a gate refused, and the files are loaded and judged again until a good file replaces them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pending import accept, pending_load_ids, roll_back
from tests.conftest import query, write_csv
from tests.fixtures import metrics
from tests.fixtures.quality import bad_deal_rows, copy_warehouse, fingerprint

DEAL_COLS = list(ENTITIES["deals"].column_names)
PARTNER_COLS = list(ENTITIES["partners"].column_names)
DEALS = ENTITIES["deals"]
PARTNERS = ENTITIES["partners"]

PARTNER = {
    "partner_id": "P1",
    "partner_name": "Acme",
    "partner_type": "reseller",
    "applied_on": "2023-01-01",
    "updated_at": "2024-01-01 00:00:00",
}


def _state(con: duckdb.DuckDBPyConnection) -> tuple:
    return (
        con.execute("select * exclude (_loaded_at) from raw.partners order by all").fetchall(),
        con.execute(
            "select entity, file_name, load_id from audit.loaded_files order by all"
        ).fetchall(),
        con.execute("select source_file, reason from audit.rejected_rows order by all").fetchall(),
    )


def test_roll_back_undoes_every_pending_load_and_restores_what_they_replaced(
    build_db, tmp_path, seeds_dir
):
    landing = tmp_path / "landing"
    write_csv(landing / "partners" / "p_1.csv", PARTNER_COLS, [PARTNER])
    load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r1")
    assert accept(build_db, PARTNERS) == [1]
    before = _state(build_db)

    # two pending loads (a killed run left the first): the second replaces a row of the first
    write_csv(
        landing / "partners" / "p_2.csv",
        PARTNER_COLS,
        [
            {**PARTNER, "tier": "gold", "updated_at": "2024-02-01 00:00:00"},
            {**PARTNER, "partner_id": "P2", "updated_at": "2024-02-01 00:00:00"},
            {**PARTNER, "partner_id": "P3", "tier": "diamond"},  # a reject
        ],
    )
    load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r2")
    write_csv(
        landing / "partners" / "p_3.csv",
        PARTNER_COLS,
        [
            {**PARTNER, "tier": "silver", "updated_at": "2024-03-01 00:00:00"},
            {**PARTNER, "partner_id": "P2", "tier": "gold", "updated_at": "2024-03-01 00:00:00"},
        ],
    )
    load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r3")
    assert pending_load_ids(build_db, PARTNERS) == [2, 3]
    assert build_db.execute("select tier from raw.partners order by partner_id").fetchall() == [
        ("silver",),
        ("gold",),
    ]

    assert roll_back(build_db, PARTNERS) == ["p_2.csv", "p_3.csv"]
    assert _state(build_db) == before
    assert pending_load_ids(build_db, PARTNERS) == []
    assert build_db.execute("select count(*) from audit.pending_replaced_partners").fetchone() == (
        0,
    )
    # the files count as not loaded: the next load reads them again
    again = load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r4")
    assert [f.file_name for f in again.files] == ["p_2.csv", "p_3.csv"]
    assert again.rows_rejected == 1


def test_accept_keeps_the_loads_and_drops_the_replaced_rows(build_db, tmp_path, seeds_dir):
    landing = tmp_path / "landing"
    write_csv(landing / "partners" / "p_1.csv", PARTNER_COLS, [PARTNER])
    load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r1")
    write_csv(
        landing / "partners" / "p_2.csv",
        PARTNER_COLS,
        [{**PARTNER, "tier": "gold", "updated_at": "2024-02-01 00:00:00"}],
    )
    load_entity(build_db, PARTNERS, landing, seeds_dir, run_id="r2")
    kept = build_db.execute("select partner_id, _replaced_by from audit.pending_replaced_partners")
    assert kept.fetchall() == [("P1", 2)]
    assert accept(build_db, PARTNERS) == [1, 2]
    assert roll_back(build_db, PARTNERS) == []  # nothing pending any more
    assert build_db.execute("select tier from raw.partners").fetchall() == [("gold",)]
    assert build_db.execute("select count(*) from audit.pending_replaced_partners").fetchone() == (
        0,
    )


# --- the real nightly job ---------------------------------------------------------------------

BAD_FILE = "deals_2025-06-03.csv"


def _bad_deals(good: int, bad: int) -> list[dict]:
    """`bad` rows of an unknown stage, `good` new deals, and a later version of deal D01."""
    rows = bad_deal_rows(good, bad)
    d01 = next(r for r in metrics.DEALS_FILE_1 if r["deal_id"] == "D01")
    rows.append({**d01, "amount": "999999", "updated_at": "2025-06-02 00:00:00"})
    return rows


def _raw(warehouse: Path) -> tuple:
    db = warehouse / "build.duckdb"
    return (
        query(db, "select * exclude (_loaded_at) from raw.deals order by deal_id"),
        query(db, "select file_name, content_sha256 from audit.loaded_files order by all"),
        query(db, "select count(*) from audit.rejected_rows"),
        query(db, "select count(*) from audit.pending_loads"),
    )


@pytest.fixture
def night(metrics_warehouse: Path, tmp_path: Path) -> Path:
    return copy_warehouse(metrics_warehouse, tmp_path / "warehouse")


def test_a_refused_file_is_never_published_by_a_rerun(night, job_runner, tmp_path, monkeypatch):
    """F1: 10 of 121 rows rejected (8.3%) against an operator limit of 5%."""
    monkeypatch.setenv("PSW_REJECT_LIMIT_PCT", "5")
    warehouse = night
    seeds = metrics.write_seeds(tmp_path / "seeds")
    landing = metrics.write_landing(tmp_path / "landing")
    bad = write_csv(landing / "deals" / BAD_FILE, DEAL_COLS, _bad_deals(good=111, bad=10))
    published, raw = fingerprint(warehouse), _raw(warehouse)
    assert raw[3] == [(0,)]

    for _night in range(2):  # the second refresh is unchanged
        outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
        assert not outcome.success
        (failure,) = outcome.failures
        assert failure.startswith("raw_quality_gate: "), failure
        assert (
            "raw/deals [expectations/raw/rejects.json]: "
            "expect_column_pair_values_a_to_be_greater_than_b(column_A=reject_limit_pct, "
            "column_B=reject_pct_pending_judged, or_equal=True, "
            "ignore_row_if=either_value_is_missing) failed on audit.loaded_files: "
            "1 of 3 rows unexpected" in failure
        ), failure
        assert fingerprint(warehouse) == published
        assert _raw(warehouse) == raw  # D01's earlier version is back, the file unloaded

    # the bad file replaced by a good one (same name): the next refresh publishes it
    write_csv(bad, DEAL_COLS, _bad_deals(good=121, bad=0))
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    assert fingerprint(warehouse) != published
    db = warehouse / "build.duckdb"
    assert query(db, "select count(*) from raw.deals where deal_id like 'X%'") == [(121,)]
    assert query(db, "select amount from raw.deals where deal_id = 'D01'") == [(999999,)]
    assert query(db, "select count(*) from audit.pending_loads") == [(0,)]


def test_a_pending_load_left_by_a_killed_run_is_judged_by_the_next_run(
    night, job_runner, tmp_path, monkeypatch
):
    """The load committed, the run died before its gate: the next run has no new file, and
    its gate still judges (and here refuses) the pending load."""
    monkeypatch.setenv("PSW_REJECT_LIMIT_PCT", "5")
    warehouse = night
    seeds = metrics.write_seeds(tmp_path / "seeds")
    landing = metrics.write_landing(tmp_path / "landing")
    published, raw = fingerprint(warehouse), _raw(warehouse)
    write_csv(landing / "deals" / BAD_FILE, DEAL_COLS, _bad_deals(good=111, bad=10))
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        load_entity(con, DEALS, landing, seeds, run_id="killed-run")
    assert _raw(warehouse) != raw

    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert not outcome.success
    (failure,) = outcome.failures
    assert "column_B=reject_pct_pending_judged" in failure, failure
    assert fingerprint(warehouse) == published
    assert _raw(warehouse) == raw
