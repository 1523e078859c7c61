"""Version history of the raw tables (SPEC §10), against a real DuckDB file: every accepted
version is kept with the interval in which it was current; the expected intervals are written
out by hand from the rows each test loads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import ensure_tables
from orchestration.ingest.pending import accept, roll_back
from tests.conftest import write_csv
from tests.test_ingest import PARTNER, PARTNER_COLS, load, rows

PARTNERS = ENTITIES["partners"]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def history(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(partner_id, tier, file, valid_from, valid_to) in version order."""
    return rows(
        con,
        "select partner_id, tier, _source_file, valid_from, valid_to from raw.partners_history "
        "order by partner_id, updated_at, _source_file, _load_id, _source_row",
    )


def assert_current_is_last_version(con: duckdb.DuckDBPyConnection) -> None:
    """raw.partners holds exactly the open version of each key, column for column."""
    columns = ", ".join([*PARTNERS.column_names, "_source_file", "_source_row", "_load_id"])
    current = rows(con, f"select {columns} from raw.partners order by partner_id")
    open_versions = rows(
        con,
        f"select {columns} from raw.partners_history where valid_to is null order by partner_id",
    )
    assert current == open_versions


def test_versions_across_runs_a_stale_row_and_a_rejected_row(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "1.csv", PARTNER_COLS, [PARTNER])  # gold, 2024-01-01
    load(build_db, "partners", landing, seeds_dir)
    newer = {**PARTNER, "tier": "platinum", "updated_at": "2024-06-01 00:00:00"}
    write_csv(landing / "partners" / "2.csv", PARTNER_COLS, [newer])
    load(build_db, "partners", landing, seeds_dir)
    stale = {**PARTNER, "tier": "silver", "updated_at": "2024-03-01 00:00:00"}
    rejected = {**PARTNER, "tier": "diamond", "updated_at": "2024-07-01 00:00:00"}
    write_csv(landing / "partners" / "3.csv", PARTNER_COLS, [stale, rejected])
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.rows_rejected == 1

    assert history(build_db) == [
        ("P1", "gold", "1.csv", ts("2024-01-01"), ts("2024-03-01")),
        ("P1", "silver", "3.csv", ts("2024-03-01"), ts("2024-06-01")),
        ("P1", "platinum", "2.csv", ts("2024-06-01"), None),
    ]
    assert rows(build_db, "select tier from raw.partners") == [("platinum",)]
    assert_current_is_last_version(build_db)


def test_a_tie_goes_to_the_later_file_in_one_batch_and_across_runs(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "a.csv", PARTNER_COLS, [PARTNER])
    write_csv(landing / "partners" / "b.csv", PARTNER_COLS, [{**PARTNER, "tier": "silver"}])
    load(build_db, "partners", landing, seeds_dir)
    write_csv(landing / "partners" / "c.csv", PARTNER_COLS, [{**PARTNER, "tier": "platinum"}])
    load(build_db, "partners", landing, seeds_dir)

    t = ts("2024-01-01")
    # each version that a tie puts first was current for no time at all
    assert history(build_db) == [
        ("P1", "gold", "a.csv", t, t),
        ("P1", "silver", "b.csv", t, t),
        ("P1", "platinum", "c.csv", t, None),
    ]
    assert_current_is_last_version(build_db)


def test_a_tie_within_one_file_goes_to_the_later_row(build_db, landing, seeds_dir):
    write_csv(
        landing / "partners" / "p.csv",
        PARTNER_COLS,
        [PARTNER, {**PARTNER, "tier": "silver"}, {**PARTNER, "partner_id": "P2"}],
    )
    load(build_db, "partners", landing, seeds_dir)
    t = ts("2024-01-01")
    assert history(build_db) == [
        ("P1", "gold", "p.csv", t, t),
        ("P1", "silver", "p.csv", t, None),
        ("P2", "gold", "p.csv", t, None),
    ]
    assert_current_is_last_version(build_db)


def test_a_file_delivered_again_with_new_content_is_a_later_version(build_db, landing, seeds_dir):
    path = write_csv(landing / "partners" / "p.csv", PARTNER_COLS, [PARTNER])
    load(build_db, "partners", landing, seeds_dir)
    write_csv(path, PARTNER_COLS, [{**PARTNER, "tier": "platinum"}])
    load(build_db, "partners", landing, seeds_dir)
    t = ts("2024-01-01")
    assert history(build_db) == [
        ("P1", "gold", "p.csv", t, t),
        ("P1", "platinum", "p.csv", t, None),
    ]
    assert_current_is_last_version(build_db)


def test_a_rolled_back_load_leaves_no_version_and_reopens_the_interval(
    build_db, landing, seeds_dir
):
    write_csv(landing / "partners" / "1.csv", PARTNER_COLS, [PARTNER])
    load(build_db, "partners", landing, seeds_dir)
    accept(build_db, PARTNERS)
    newer = {**PARTNER, "tier": "platinum", "updated_at": "2024-06-01 00:00:00"}
    write_csv(
        landing / "partners" / "2.csv", PARTNER_COLS, [newer, {**PARTNER, "partner_id": "P2"}]
    )
    load(build_db, "partners", landing, seeds_dir)
    assert history(build_db)[0][-1] == ts("2024-06-01")

    assert roll_back(build_db, PARTNERS) == ["2.csv"]
    assert history(build_db) == [("P1", "gold", "1.csv", ts("2024-01-01"), None)]
    assert_current_is_last_version(build_db)


def test_a_warehouse_without_history_starts_it_from_the_current_rows(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "1.csv", PARTNER_COLS, [PARTNER])
    write_csv(
        landing / "partners" / "2.csv",
        PARTNER_COLS,
        [{**PARTNER, "tier": "silver", "updated_at": "2024-02-01 00:00:00"}],
    )
    load(build_db, "partners", landing, seeds_dir)
    build_db.execute("drop table raw.partners_history")

    ensure_tables(build_db, list(ENTITIES.values()))
    assert history(build_db) == [("P1", "silver", "2.csv", ts("2024-02-01"), None)]
    assert_current_is_last_version(build_db)


def test_a_recomputed_date_is_changed_only_when_a_figure_differs():
    """history_changes.compare: a column added to the mart since, or a new label, changes no
    stored date; a figure that differs does; a date without rows is added."""
    from datetime import date

    from orchestration.warehouse.history_changes import compare

    d1, d2, d3 = date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)
    before = {
        d1: {"reseller": {"enrolled_partners": 3, "partner_revenue_usd": 8000.0}},
        d2: {"reseller": {"enrolled_partners": 3, "partner_revenue_usd": 8000.0}},
    }
    after = {
        # qualified_partners is new since d1 was stored
        d1: {
            "reseller": {
                "enrolled_partners": 3,
                "partner_revenue_usd": 8000.0,
                "qualified_partners": 2,
            }
        },
        d2: {"reseller": {"enrolled_partners": 3, "partner_revenue_usd": 8700.0}},
        d3: {"reseller": {"enrolled_partners": 2, "partner_revenue_usd": 8700.0}},
    }
    changes = compare(before, after)
    assert (changes.computed, changes.added, changes.changed) == ([d1, d2, d3], [d3], [d2])
    assert changes.metadata() == {
        "history_dates_computed": 3,
        "history_dates_added": ["2025-07-02"],
        "history_dates_changed": ["2025-07-01"],
    }
