"""The landing zone's rules (orchestration/ingest/landing.py), as the loader, the landing sensor,
`psw status` and a real nightly run apply them (issue 23, point 8 and F7)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from orchestration.cli.status import print_status
from orchestration.defs.automation.sensors import scan
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.landing import LandingError
from orchestration.ingest.loader import load_entity
from orchestration.settings import load_settings
from tests.conftest import write_csv
from tests.fixtures import metrics
from tests.fixtures.quality import copy_warehouse, fingerprint

PARTNER_COLS = list(ENTITIES["partners"].column_names)
PARTNER = {
    "partner_id": "P1",
    "partner_name": "Acme",
    "partner_type": "reseller",
    "applied_on": "2023-01-01",
    "updated_at": "2024-01-01 00:00:00",
}
EMPTY_FOLDERS = ("deals", "certifications", "incentives")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A landing zone with every entity folder, and one partners extract."""
    root = tmp_path / "landing"
    write_csv(root / "partners" / "partners_1.csv", PARTNER_COLS, [PARTNER])
    for name in EMPTY_FOLDERS:
        (root / name).mkdir()
    return root


def load(con, landing: Path, seeds: Path, entity: str = "partners"):
    return load_entity(con, ENTITIES[entity], landing, seeds, run_id="t")


def test_a_missing_landing_folder_fails_naming_it(build_db, tmp_path, seeds_dir):
    missing = tmp_path / "unmounted"
    with pytest.raises(LandingError) as err:
        load(build_db, missing, seeds_dir)
    assert err.value.problems == [
        f"landing folder {missing}: does not exist (PSW_LANDING_DIR). Mount or create it, with "
        "one folder per entity: partners, deals, certifications, incentives"
    ]


def test_a_missing_entity_folder_fails_naming_it(build_db, landing, seeds_dir):
    (landing / "deals").rmdir()
    with pytest.raises(LandingError) as err:
        load(build_db, landing, seeds_dir, "deals")
    assert err.value.problems == [
        f"{landing / 'deals'}: the folder of the deals extracts is missing. Create it (it may "
        "stay empty) or check PSW_LANDING_DIR"
    ]
    # the other entities are not stopped by it
    assert [f.file_name for f in load(build_db, landing, seeds_dir).files] == ["partners_1.csv"]


def test_unknown_folders_and_unsupported_files_are_reported_not_loaded(
    build_db, landing, seeds_dir
):
    (landing / "Partners").mkdir()
    write_csv(landing / "Partners" / "p.csv", PARTNER_COLS, [{**PARTNER, "partner_id": "PX"}])
    (landing / "misc").mkdir()
    (landing / "notes.txt").write_text("x")
    (landing / "partners" / "partners_2.csv.gz").write_bytes(b"\x1f\x8b")
    (landing / "partners" / "partners_3.xlsx").write_bytes(b"PK")
    (landing / "partners" / "old").mkdir()
    result = load(build_db, landing, seeds_dir)
    assert [f.file_name for f in result.files] == ["partners_1.csv"]
    assert result.unknown_folders == ["Partners/", "misc/"]
    assert result.unsupported_files == [
        "partners/old/",
        "partners/partners_2.csv.gz",
        "partners/partners_3.xlsx",
    ]
    assert build_db.execute("select partner_id from raw.partners").fetchall() == [("P1",)]


def test_files_still_being_written_are_skipped_and_reported(build_db, landing, seeds_dir):
    for name in ("partners_2.csv.tmp", "partners_3.csv.partial", ".partners_4.csv"):
        write_csv(landing / "partners" / name, PARTNER_COLS, [{**PARTNER, "partner_id": "PX"}])
    result = load(build_db, landing, seeds_dir)
    assert [f.file_name for f in result.files] == ["partners_1.csv"]
    assert result.in_progress == [
        "partners/.partners_4.csv",
        "partners/partners_2.csv.tmp",
        "partners/partners_3.csv.partial",
    ]
    assert result.unsupported_files == []


def test_a_symlink_leading_outside_the_landing_zone_is_refused(
    build_db, landing, seeds_dir, tmp_path
):
    outside = write_csv(tmp_path / "elsewhere" / "x.csv", PARTNER_COLS, [PARTNER])
    link = landing / "partners" / "partners_2.csv"
    link.symlink_to(outside)
    with pytest.raises(LandingError) as err:
        load(build_db, landing, seeds_dir)
    assert err.value.problems == [
        f"{link}: a symbolic link to {outside}, which is outside the landing zone or does not "
        "exist; refused. Copy the extract into the landing zone instead"
    ]
    assert build_db.execute("select count(*) from audit.loaded_files").fetchone() == (0,)


def test_an_entity_folder_linked_outside_is_refused(build_db, landing, seeds_dir, tmp_path):
    outside = tmp_path / "share" / "deals"
    outside.mkdir(parents=True)
    (landing / "deals").rmdir()
    (landing / "deals").symlink_to(outside)
    with pytest.raises(LandingError) as err:
        load(build_db, landing, seeds_dir, "deals")
    assert err.value.problems == [
        f"{landing / 'deals'}: a symbolic link to {outside}, which is outside the landing zone "
        "or does not exist; refused. Copy the extract into the landing zone instead"
    ]


def test_a_symlink_inside_the_landing_zone_is_followed(build_db, landing, seeds_dir):
    (landing / "archive").mkdir()
    target = write_csv(
        landing / "archive" / "p.csv", PARTNER_COLS, [{**PARTNER, "partner_id": "P2"}]
    )
    os.symlink(target, landing / "partners" / "partners_2.csv")
    result = load(build_db, landing, seeds_dir)
    assert [f.file_name for f in result.files] == ["partners_1.csv", "partners_2.csv"]
    assert result.unknown_folders == ["archive/"]


def test_the_sensor_sees_the_files_a_load_reads(landing):
    write_csv(landing / "partners" / "partners_2.csv.tmp", PARTNER_COLS, [PARTNER])
    (landing / "partners" / "partners_3.xlsx").write_bytes(b"PK")
    (landing / "misc").mkdir()
    write_csv(landing / "misc" / "m.csv", PARTNER_COLS, [PARTNER])
    assert list(scan(landing)) == ["partners/partners_1.csv"]
    assert scan(landing.parent / "unmounted") == {}


def test_psw_status_reports_the_landing_zone(landing, tmp_path, dagster_home):
    (landing / "deals").rmdir()
    (landing / "misc").mkdir()
    (landing / "partners" / "p.csv.gz").write_bytes(b"\x1f\x8b")
    (landing / "partners" / "p.csv.tmp").write_text("")
    settings = load_settings(
        {"PSW_LANDING_DIR": str(landing), "PSW_WAREHOUSE_DIR": str(tmp_path / "w")}
    )
    out = io.StringIO()
    print_status(settings, out)
    lines = out.getvalue().splitlines()
    start = lines.index(f"landing zone: {landing}")
    assert lines[start:] == [
        f"landing zone: {landing}",
        "  partners        1 extract file(s)",
        "  certifications  0 extract file(s)",
        "  incentives      0 extract file(s)",
        f"  PROBLEM {landing / 'deals'}: the folder of the deals extracts is missing. Create it "
        "(it may stay empty) or check PSW_LANDING_DIR",
        "  unknown folder (not an entity, not loaded): misc/",
        "  unsupported file (not loaded): partners/p.csv.gz",
        "  in progress (skipped): partners/p.csv.tmp",
    ]


def test_a_refresh_with_no_landing_folder_fails_and_publishes_nothing(
    metrics_warehouse, job_runner, tmp_path
):
    """F7: PSW_LANDING_DIR pointing nowhere ended with exit 0 and a republished serving file."""
    warehouse = copy_warehouse(metrics_warehouse, tmp_path / "warehouse")
    before = fingerprint(warehouse)
    missing = tmp_path / "unmounted"
    seeds = metrics.write_seeds(tmp_path / "seeds")
    outcome = job_runner.run(missing, warehouse, seeds, as_of=metrics.AS_OF)
    assert not outcome.success
    (failure,) = outcome.failures
    assert failure.startswith("raw__partners: "), failure
    assert (
        f"landing folder {missing}: does not exist (PSW_LANDING_DIR). Mount or create it" in failure
    ), failure
    assert fingerprint(warehouse) == before


def test_a_refresh_reports_what_it_did_not_load_in_the_assets_metadata(
    metrics_warehouse, job_runner, tmp_path
):
    import dagster as dg

    from tests.fixtures.quality import instance_of

    warehouse = copy_warehouse(metrics_warehouse, tmp_path / "warehouse")
    landing = metrics.write_landing(tmp_path / "landing")
    (landing / "misc").mkdir()
    (landing / "deals" / "deals_2025-06-09.csv.gz").write_bytes(b"\x1f\x8b")
    write_csv(landing / "deals" / "deals_2025-06-10.csv.partial", PARTNER_COLS, [PARTNER])
    seeds = metrics.write_seeds(tmp_path / "seeds")
    outcome = job_runner.run(landing, warehouse, seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    with instance_of(job_runner) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "deals"]))
        assert event is not None and event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
    assert metadata["landing_unknown_folders"].value == ["misc/"]
    assert metadata["unsupported_files"].value == ["deals/deals_2025-06-09.csv.gz"]
    assert metadata["in_progress_files_skipped"].value == ["deals/deals_2025-06-10.csv.partial"]
