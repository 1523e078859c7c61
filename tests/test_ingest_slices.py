"""A batch is applied in slices of rows inside one transaction (loader.SLICE_ROWS): a batch
applied one file at a time gives exactly what it gives applied at once, a blocked batch rolls
back whole, and a bad file anywhere in the batch loads nothing of it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import FileRejected, load_entity
from orchestration.ingest.pending import accept, roll_back
from tests.conftest import write_csv, write_parquet
from tests.test_ingest import PARTNER, PARTNER_COLS

PARTNERS = ENTITIES["partners"]
# every table the loader writes, with the columns that do not hold the wall clock
STATE = {
    "raw.partners": "* exclude (_loaded_at)",
    "raw.partners_history": "* exclude (_loaded_at)",
    "audit.rejected_rows": "* exclude (loaded_at)",
    "audit.loaded_files": "* exclude (loaded_at)",
    "audit.pending_loads": "entity, load_id",
}


def state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        table: con.execute(f"select {cols} from {table} order by all").fetchall()
        for table, cols in STATE.items()
    }


def earlier_load(landing: Path) -> None:
    """P1 at gold and P9, loaded before the batch."""
    write_csv(
        landing / "partners" / "0_first.csv",
        PARTNER_COLS,
        [PARTNER, {**PARTNER, "partner_id": "P9", "updated_at": "2024-05-01 00:00:00"}],
    )


def the_batch(landing: Path) -> None:
    """Four files whose rows compete across files: a later updated_at in an earlier file, a
    tie that the later file wins, a tie within a file that the later row wins, a stale row
    for a key loaded before, a rejected row that is newer than the good ones, and a key that
    only a later file brings."""
    folder = landing / "partners"
    write_csv(
        folder / "1_a.csv",
        PARTNER_COLS,
        [
            {**PARTNER, "tier": "platinum", "updated_at": "2024-06-01 00:00:00"},
            {**PARTNER, "partner_id": "P2", "tier": "silver"},
        ],
    )
    write_parquet(
        folder / "1_b.parquet",
        PARTNER_COLS,
        [
            {**PARTNER, "tier": "silver", "updated_at": "2024-03-01 00:00:00"},
            {**PARTNER, "partner_id": "P2", "tier": "gold"},
            {**PARTNER, "partner_id": "P9", "updated_at": "2024-04-01 00:00:00"},
        ],
    )
    write_csv(
        folder / "1_c.csv",
        PARTNER_COLS,
        [
            {**PARTNER, "partner_id": "P3", "tier": "gold"},
            {**PARTNER, "partner_id": "P3", "tier": "platinum"},
            {**PARTNER, "partner_type": "astrologer", "updated_at": "2025-01-01 00:00:00"},
        ],
    )
    write_csv(
        folder / "1_d.csv",
        PARTNER_COLS,
        [{**PARTNER, "partner_id": "P4", "updated_at": "2024-07-01 00:00:00"}],
    )


def load(con, landing, seeds_dir, slice_rows=None, log=lambda _msg: None):
    kwargs = {} if slice_rows is None else {"slice_rows": slice_rows}
    return load_entity(con, PARTNERS, landing, seeds_dir, run_id="r", log=log, **kwargs)


@pytest.fixture
def two_dbs(tmp_path):
    cons = [duckdb.connect(str(tmp_path / f"build_{i}.duckdb")) for i in (0, 1)]
    for con in cons:
        con.execute("set TimeZone = 'UTC'")
    yield cons
    for con in cons:
        con.close()


def test_a_batch_in_slices_equals_the_batch_at_once(two_dbs, tmp_path, seeds_dir):
    at_once, sliced = two_dbs
    landing = tmp_path / "landing"
    earlier_load(landing)
    for con in two_dbs:
        load(con, landing, seeds_dir)
    the_batch(landing)
    logs: dict[str, list[str]] = {"whole": [], "parts": []}
    whole = load(at_once, landing, seeds_dir, log=logs["whole"].append)
    # one row per slice: every file is a slice of its own
    parts = load(sliced, landing, seeds_dir, slice_rows=1, log=logs["parts"].append)

    assert [m for m in logs["whole"] if "slice" in m] == [
        "partners: slice 1 applied (4 of 4 file(s))"
    ]
    assert [m for m in logs["parts"] if "slice" in m] == [
        f"partners: slice {n} applied ({n} of 4 file(s))" for n in (1, 2, 3, 4)
    ]

    assert state(sliced) == state(at_once)
    assert sliced.execute(
        "select partner_id, tier, _source_file from raw.partners order by 1"
    ).fetchall() == [
        ("P1", "platinum", "1_a.csv"),
        ("P2", "gold", "1_b.parquet"),
        ("P3", "platinum", "1_c.csv"),
        ("P4", "gold", "1_d.csv"),
        ("P9", "gold", "0_first.csv"),
    ]
    for result in (whole, parts):
        assert (result.rows_read, result.rows_rejected, result.rows_upserted) == (9, 1, 4)
        assert result.reject_reasons == {"unknown code: partner_type": 1}
        assert [(f.file_name, f.rows_read, f.rows_rejected) for f in result.files] == [
            ("1_a.csv", 2, 0),
            ("1_b.parquet", 3, 0),
            ("1_c.csv", 3, 1),
            ("1_d.csv", 1, 0),
        ]


def test_a_sliced_batch_rolls_back_whole(build_db, tmp_path, seeds_dir):
    landing = tmp_path / "landing"
    earlier_load(landing)
    load(build_db, landing, seeds_dir)
    accept(build_db, PARTNERS)  # the earlier load passed its gate
    before = state(build_db)
    the_batch(landing)
    load(build_db, landing, seeds_dir, slice_rows=1)
    assert roll_back(build_db, PARTNERS) == ["1_a.csv", "1_b.parquet", "1_c.csv", "1_d.csv"]
    assert state(build_db) == before


def test_a_bad_file_in_a_later_slice_loads_nothing_and_leaves_no_scratch_file(
    build_db, tmp_path, seeds_dir
):
    landing = tmp_path / "landing"
    earlier_load(landing)
    load(build_db, landing, seeds_dir)
    before = state(build_db)
    # the scratch file of a load that was killed
    (tmp_path / "build.duckdb.tmp" / "stage-partners-1.duckdb").write_bytes(b"killed")
    the_batch(landing)
    bad = landing / "partners" / "1_e.csv"
    bad.write_bytes(b"")
    with pytest.raises(FileRejected) as err:
        load(build_db, landing, seeds_dir, slice_rows=1)
    assert err.value.problems == [
        f"{bad}: file is empty (0 bytes); an extract needs at least a header row"
    ]
    assert state(build_db) == before
    assert not list((tmp_path / "build.duckdb.tmp").glob("stage-*"))
    assert [
        name
        for (name,) in build_db.execute("select database_name from duckdb_databases()").fetchall()
        if name.startswith("_psw")
    ] == []
