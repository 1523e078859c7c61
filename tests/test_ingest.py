"""Ingestion (SPEC §3) against a real DuckDB file: upserts, file tracking, every reject reason
and every file-level fault."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import FileRejected, load_entity
from tests.conftest import write_csv, write_parquet

PARTNER_COLS = list(ENTITIES["partners"].column_names)
DEAL_COLS = list(ENTITIES["deals"].column_names)
CERT_COLS = list(ENTITIES["certifications"].column_names)
INCENTIVE_COLS = list(ENTITIES["incentives"].column_names)

PARTNER = {
    "partner_id": "P1",
    "partner_name": "Acme Networks",
    "partner_type": "reseller",
    "tier": "gold",
    "program_status": "enrolled",
    "is_strategic": "false",
    "hq_country": "US",
    "countries_served": "US;CA",
    "segments_served": "smb;mid_market",
    "verticals_served": "retail",
    "applied_on": "2023-01-01",
    "enrolled_on": "2023-02-01",
    "terminated_on": None,
    "updated_at": "2024-01-01 00:00:00",
}
DEAL = {
    "deal_id": "D1",
    "partner_id": "P1",
    "deal_source": "partner_sourced",
    "account_id": "A1",
    "account_country": "US",
    "account_segment": "smb",
    "account_vertical": "retail",
    "product_line": "endpoint",
    "amount": "1000.50",
    "currency": "USD",
    "stage": "won",
    "registered_on": "2024-01-10",
    "closed_on": "2024-02-01",
    "updated_at": "2024-02-01 10:00:00",
}
CERT = {
    "certification_id": "C1",
    "partner_id": "P1",
    "person_id": "U1",
    "track": "endpoint",
    "vertical": None,
    "level": "professional",
    "earned_on": "2023-05-01",
    "expires_on": "2025-05-01",
    "updated_at": "2023-05-01 00:00:00",
}
INCENTIVE = {
    "incentive_id": "I1",
    "partner_id": "P1",
    "program": "mdf",
    "amount": "500",
    "currency": "EUR",
    "status": "paid",
    "approved_on": "2024-03-01",
    "paid_on": "2024-04-01",
    "updated_at": "2024-04-01 00:00:00",
}
BASE = {"partners": PARTNER, "deals": DEAL, "certifications": CERT, "incentives": INCENTIVE}
COLS = {
    "partners": PARTNER_COLS,
    "deals": DEAL_COLS,
    "certifications": CERT_COLS,
    "incentives": INCENTIVE_COLS,
}


def load(con: duckdb.DuckDBPyConnection, entity: str, landing: Path, seeds: Path):
    return load_entity(con, ENTITIES[entity], landing, seeds, run_id="test")


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def with_partner(build_db, landing, seeds_dir):
    """A loaded partner P1 for entities with a partner foreign key."""
    write_csv(landing / "partners" / "partners_000.csv", PARTNER_COLS, [PARTNER])
    load(build_db, "partners", landing, seeds_dir)
    return build_db


# --- upserts and file tracking ---------------------------------------------------------------


def test_later_updated_at_wins_even_from_an_earlier_file(build_db, landing, seeds_dir):
    newer = {**PARTNER, "tier": "platinum", "updated_at": "2024-06-01 00:00:00"}
    stale = {**PARTNER, "tier": "silver", "updated_at": "2024-03-01 00:00:00"}
    write_csv(landing / "partners" / "a.csv", PARTNER_COLS, [newer])
    write_csv(landing / "partners" / "b.csv", PARTNER_COLS, [stale])
    load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select tier, _source_file from raw.partners") == [("platinum", "a.csv")]


def test_tie_on_updated_at_later_file_wins(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "2024-01-01.csv", PARTNER_COLS, [{**PARTNER, "tier": "gold"}])
    load(build_db, "partners", landing, seeds_dir)
    write_parquet(
        landing / "partners" / "2024-01-02.parquet", PARTNER_COLS, [{**PARTNER, "tier": "silver"}]
    )
    load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select tier, _source_file from raw.partners") == [
        ("silver", "2024-01-02.parquet")
    ]


def test_tie_on_updated_at_in_one_batch_later_file_wins(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "a.csv", PARTNER_COLS, [{**PARTNER, "tier": "gold"}])
    write_csv(
        landing / "partners" / "b.csv",
        PARTNER_COLS,
        [
            {**PARTNER, "partner_id": "P2"},
            {**PARTNER, "tier": "silver"},
            {**PARTNER, "tier": "platinum", "updated_at": "2023-06-01 00:00:00"},
        ],
    )
    result = load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select partner_id, tier, _source_file from raw.partners order by 1") == [
        ("P1", "silver", "b.csv"),
        ("P2", "gold", "b.csv"),
    ]
    assert (result.rows_read, result.rows_rejected, result.rows_upserted) == (4, 0, 2)


def test_a_rejected_row_does_not_outrank_a_good_one(with_partner, landing, seeds_dir):
    good = {**DEAL, "stage": "won", "updated_at": "2024-06-01 00:00:00"}
    newer_bad = {**DEAL, "stage": "closed", "updated_at": "2024-07-01 00:00:00"}
    write_csv(landing / "deals" / "d.csv", DEAL_COLS, [good, newer_bad])
    result = load(with_partner, "deals", landing, seeds_dir)
    assert rows(with_partner, "select deal_id, stage from raw.deals") == [(DEAL["deal_id"], "won")]
    assert (result.rows_rejected, result.rows_upserted) == (1, 1)


def test_tie_within_one_file_later_row_wins(build_db, landing, seeds_dir):
    write_csv(
        landing / "partners" / "p.csv",
        PARTNER_COLS,
        [{**PARTNER, "tier": "gold"}, {**PARTNER, "tier": "silver"}],
    )
    load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select tier from raw.partners") == [("silver",)]


def test_stale_row_in_a_later_run_does_not_replace(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "1.csv", PARTNER_COLS, [{**PARTNER, "tier": "gold"}])
    load(build_db, "partners", landing, seeds_dir)
    stale = {**PARTNER, "tier": "silver", "updated_at": "2023-12-31 23:59:59"}
    write_csv(
        landing / "partners" / "2.csv", PARTNER_COLS, [stale, {**PARTNER, "partner_id": "P2"}]
    )
    result = load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select partner_id, tier from raw.partners order by 1") == [
        ("P1", "gold"),
        ("P2", "gold"),
    ]
    assert result.rows_upserted == 1


def test_each_file_is_loaded_once(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "p.csv", PARTNER_COLS, [PARTNER])
    first = load(build_db, "partners", landing, seeds_dir)
    second = load(build_db, "partners", landing, seeds_dir)
    assert [f.file_name for f in first.files] == ["p.csv"]
    assert second.files == [] and second.skipped == ["p.csv"]
    assert rows(build_db, "select file_name, rows_read, rows_loaded from audit.loaded_files") == [
        ("p.csv", 1, 1)
    ]
    assert len(rows(build_db, "select * from raw.partners")) == 1


def test_a_file_whose_content_changed_is_loaded_again(build_db, landing, seeds_dir):
    path = write_csv(landing / "partners" / "p.csv", PARTNER_COLS, [PARTNER])
    load(build_db, "partners", landing, seeds_dir)
    write_csv(path, PARTNER_COLS, [{**PARTNER, "tier": "platinum"}])  # same name, new content
    result = load(build_db, "partners", landing, seeds_dir)
    assert [f.file_name for f in result.files] == ["p.csv"]
    assert rows(build_db, "select tier from raw.partners") == [("platinum",)]
    assert rows(build_db, "select count(*) from audit.loaded_files") == [(2,)]


def test_codes_are_matched_case_insensitively_and_trimmed(build_db, landing, seeds_dir):
    messy = {
        **PARTNER,
        "partner_type": " Value Added Reseller ",
        "tier": " GOLD",
        "program_status": "Enrolled",
        "hq_country": "us",
        "countries_served": " us ; Ca;",
        "segments_served": "SMB; Mid_Market",
        "verticals_served": "Retail",
        "is_strategic": "YES",
    }
    write_csv(landing / "partners" / "p.csv", PARTNER_COLS, [messy])
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.rows_rejected == 0
    assert rows(
        build_db,
        "select partner_type, tier, program_status, hq_country, countries_served, "
        "segments_served, verticals_served, is_strategic from raw.partners",
    ) == [
        (
            "value added reseller",
            "gold",
            "enrolled",
            "US",
            "US;CA",
            "smb;mid_market",
            "retail",
            True,
        )
    ]


def test_is_strategic_may_be_absent_and_defaults_to_false(build_db, landing, seeds_dir):
    cols = [c for c in PARTNER_COLS if c != "is_strategic"]
    write_csv(landing / "partners" / "p.csv", cols, [PARTNER])
    load(build_db, "partners", landing, seeds_dir)
    assert rows(build_db, "select is_strategic from raw.partners") == [(False,)]


def test_header_only_file_is_valid_and_adds_nothing(build_db, landing, seeds_dir):
    write_csv(landing / "partners" / "empty.csv", PARTNER_COLS, [])
    result = load(build_db, "partners", landing, seeds_dir)
    assert [(f.file_name, f.rows_read) for f in result.files] == [("empty.csv", 0)]
    assert rows(build_db, "select count(*) from raw.partners") == [(0,)]


def test_parquet_with_native_types_and_list_columns(build_db, landing, seeds_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = landing / "partners" / "p.parquet"
    path.parent.mkdir(parents=True)
    table = pa.table(
        {
            **{c: pa.array([PARTNER[c]], pa.string()) for c in PARTNER_COLS},
            "is_strategic": pa.array([True]),
            "countries_served": pa.array([["US", "DE"]], pa.list_(pa.string())),
            "applied_on": pa.array([__import__("datetime").date(2023, 1, 1)]),
            "updated_at": pa.array([__import__("datetime").datetime(2024, 1, 1, 8, 30)]),
        }
    )
    pq.write_table(table, path)
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.rows_rejected == 0
    assert rows(
        build_db, "select is_strategic, countries_served, applied_on, updated_at from raw.partners"
    ) == [
        (
            True,
            "US;DE",
            __import__("datetime").date(2023, 1, 1),
            __import__("datetime").datetime(2024, 1, 1, 8, 30),
        )
    ]


# --- row-level rules: the exact reason, the rest of the file loads, nothing lost --------------

# The rule of orchestration/ingest/contract.py, as the reasons spell it.
NOT_A_DATE = "is not a date (YYYY-MM-DD, four-digit year)"
NOT_A_TIMESTAMP = (
    "is not a timestamp (YYYY-MM-DD[THH:MM[:SS[.fraction]]][zone], four-digit year; "
    "zone: Z, +HH, +HHMM, +HH:MM or a name such as Asia/Tokyo)"
)

REJECTS = [
    ("partners", {"partner_name": ""}, "missing required value: partner_name"),
    ("partners", {"partner_type": "Franchise"}, "unknown code: partner_type 'franchise'"),
    ("partners", {"tier": "diamond"}, "unknown code: tier 'diamond'"),
    ("partners", {"program_status": "paused"}, "unknown code: program_status 'paused'"),
    ("partners", {"hq_country": "USA"}, "unknown code: hq_country 'USA'"),
    ("partners", {"countries_served": "US;XX;ZZ"}, "unknown code: countries_served 'XX;ZZ'"),
    ("partners", {"segments_served": "smb;giant"}, "unknown code: segments_served 'giant'"),
    ("partners", {"verticals_served": "mining"}, "unknown code: verticals_served 'mining'"),
    (
        "partners",
        {"is_strategic": "maybe"},
        "wrong type: is_strategic 'maybe' is not a boolean (true/false)",
    ),
    ("partners", {"applied_on": "01/02/2023"}, f"wrong type: applied_on '01/02/2023' {NOT_A_DATE}"),
    # F4: no two-digit years, no day- or month-first forms: loaded as years 0001 and 0026 once
    ("partners", {"applied_on": "1/2/26"}, f"wrong type: applied_on '1/2/26' {NOT_A_DATE}"),
    ("partners", {"applied_on": "26-01-31"}, f"wrong type: applied_on '26-01-31' {NOT_A_DATE}"),
    ("partners", {"applied_on": "2024/01/31"}, f"wrong type: applied_on '2024/01/31' {NOT_A_DATE}"),
    ("partners", {"applied_on": "2024-02-30"}, f"wrong type: applied_on '2024-02-30' {NOT_A_DATE}"),
    (
        "partners",
        {"applied_on": "2024-01-31 10:00"},
        f"wrong type: applied_on '2024-01-31 10:00' {NOT_A_DATE}",
    ),
    (
        "partners",
        {"updated_at": "26-01-31 10:00:00"},
        f"wrong type: updated_at '26-01-31 10:00:00' {NOT_A_TIMESTAMP}",
    ),
    (
        "partners",
        {"updated_at": "2026-01-31 24:00:00"},
        f"wrong type: updated_at '2026-01-31 24:00:00' {NOT_A_TIMESTAMP}",
    ),
    (
        "partners",
        {"updated_at": "2026-01-31 10:00:00 Mars/Olympus"},
        "wrong type: updated_at '2026-01-31 10:00:00 Mars/Olympus' has an unknown time zone "
        "name (use a name such as Asia/Tokyo, Z or +HH:MM)",
    ),
    (
        # an abbreviation: a fixed UTC-5 for Java, America/Panama for recent IANA releases
        "partners",
        {"updated_at": "2026-01-31 10:00:00 EST"},
        "wrong type: updated_at '2026-01-31 10:00:00 EST' has an unknown time zone name (use a "
        "name such as Asia/Tokyo, Z or +HH:MM)",
    ),
    ("partners", {"applied_on": ""}, "missing required value: applied_on"),
    (
        "partners",
        {"updated_at": "yesterday"},
        f"wrong type: updated_at 'yesterday' {NOT_A_TIMESTAMP}",
    ),
    ("deals", {"deal_id": " "}, "missing required value: deal_id"),
    ("deals", {"account_id": ""}, "missing required value: account_id"),
    ("deals", {"product_line": ""}, "missing required value: product_line"),
    ("deals", {"partner_id": "P404"}, "unknown partner: partner_id 'P404'"),
    ("deals", {"deal_source": "marketplace"}, "unknown code: deal_source 'marketplace'"),
    ("deals", {"stage": "closed"}, "unknown code: stage 'closed'"),
    ("deals", {"account_segment": "huge"}, "unknown code: account_segment 'huge'"),
    ("deals", {"account_vertical": "mining"}, "unknown code: account_vertical 'mining'"),
    ("deals", {"account_country": "XX"}, "unknown code: account_country 'XX'"),
    ("deals", {"amount": "-5"}, "negative amount: amount -5.00"),
    ("deals", {"amount": "12,50"}, "wrong type: amount '12,50' is not a number"),
    (
        "deals",
        {"amount": "100", "currency": ""},
        "missing required value: currency (required when amount is set)",
    ),
    (
        "deals",
        {"currency": "XYZ"},
        "no FX rate: currency 'XYZ' has no rate for 2024-02 or any earlier month",
    ),
    (
        "deals",
        {"currency": "EUR", "registered_on": "2018-11-01", "closed_on": "2018-12-15"},
        "no FX rate: currency 'EUR' has no rate for 2018-12 or any earlier month",
    ),
    (
        "deals",
        {"closed_on": "2024-01-01"},
        "closed before registered: closed_on 2024-01-01 is before registered_on 2024-01-10",
    ),
    (
        "deals",
        {"closed_on": ""},
        "missing required value: closed_on (required when stage is won)",
    ),
    (
        "deals",
        {"stage": "lost", "closed_on": ""},
        "missing required value: closed_on (required when stage is lost)",
    ),
    (
        "deals",
        {"registered_on": ""},
        "missing required value: registered_on (required when partner_id is set)",
    ),
    ("certifications", {"partner_id": "P404"}, "unknown partner: partner_id 'P404'"),
    ("certifications", {"partner_id": ""}, "missing required value: partner_id"),
    ("certifications", {"person_id": ""}, "missing required value: person_id"),
    ("certifications", {"level": "guru"}, "unknown code: level 'guru'"),
    ("certifications", {"vertical": "mining"}, "unknown code: vertical 'mining'"),
    ("certifications", {"earned_on": ""}, "missing required value: earned_on"),
    (
        "certifications",
        {"expires_on": "2023-05-01"},
        "expires before earned: expires_on 2023-05-01 is not after earned_on 2023-05-01",
    ),
    ("incentives", {"partner_id": "P404"}, "unknown partner: partner_id 'P404'"),
    ("incentives", {"program": "bonus"}, "unknown code: program 'bonus'"),
    ("incentives", {"status": "pending"}, "unknown code: status 'pending'"),
    ("incentives", {"amount": "-1"}, "negative amount: amount -1.00"),
    ("incentives", {"approved_on": ""}, "missing required value: approved_on"),
    (
        "incentives",
        {"currency": "CHF"},
        "no FX rate: currency 'CHF' has no rate for 2024-03 or any earlier month",
    ),
]


# --- dates and timestamps: one rule, row by row (contract.py) ---------------------------------

UTC_OF = [
    ("2026-11-21 10:00:00", datetime(2026, 11, 21, 10, 0)),
    ("2026-11-21T10:00Z", datetime(2026, 11, 21, 10, 0)),
    ("2026-11-21 10:00:00+02:00", datetime(2026, 11, 21, 8, 0)),
    ("2026-11-21 10:00:00 +0530", datetime(2026, 11, 21, 4, 30)),
    ("2026-11-21 10:00:00-03", datetime(2026, 11, 21, 13, 0)),
    ("2026-11-21 10:00:00.1234567", datetime(2026, 11, 21, 10, 0, 0, 123456)),
    ("2026-07-01 10:00 America/New_York", datetime(2026, 7, 1, 14, 0)),  # EDT, UTC-4
    ("2026-11-21 10:00 america/new_york", datetime(2026, 11, 21, 15, 0)),  # EST, UTC-5
    ("2026-11-21", datetime(2026, 11, 21, 0, 0)),
]


@pytest.mark.parametrize(("text", "utc"), UTC_OF)
def test_a_timestamp_is_converted_to_utc(build_db, landing, seeds_dir, text, utc):
    write_csv(landing / "partners" / "p.csv", PARTNER_COLS, [{**PARTNER, "updated_at": text}])
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.rows_rejected == 0
    assert rows(build_db, "select updated_at from raw.partners") == [(utc,)]


def test_a_named_zone_shifts_its_own_row_only(build_db, landing, seeds_dir):
    """F3: DuckDB's cast to timestamptz carried Asia/Tokyo on to the rows after it (-9 h)."""
    stamps = ["2026-11-21 10:00:00", "2026-11-21 10:00:00 Asia/Tokyo", "2026-11-21 10:00:00"]
    stamps += ["2026-11-21 10:00:00", "2026-11-21T10:00:00"]
    write_csv(
        landing / "partners" / "p.csv",
        PARTNER_COLS,
        [{**PARTNER, "partner_id": f"P{i}", "updated_at": t} for i, t in enumerate(stamps)],
    )
    load(build_db, "partners", landing, seeds_dir)
    ten, one = datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 21, 1, 0)  # JST = UTC+9
    assert rows(build_db, "select partner_id, updated_at from raw.partners order by 1") == [
        ("P0", ten),
        ("P1", one),
        ("P2", ten),
        ("P3", ten),
        ("P4", ten),
    ]


def test_a_date_may_carry_a_midnight_time(build_db, landing, seeds_dir):
    write_csv(
        landing / "partners" / "p.csv",
        PARTNER_COLS,
        [{**PARTNER, "applied_on": "2023-01-31 00:00:00", "enrolled_on": "2023-02-01T00:00"}],
    )
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.rows_rejected == 0
    assert rows(build_db, "select applied_on, enrolled_on from raw.partners") == [
        (date(2023, 1, 31), date(2023, 2, 1))
    ]


@pytest.mark.parametrize(("entity", "change", "reason"), REJECTS)
def test_row_rule_break_goes_to_rejects_with_its_reason(
    with_partner, landing, seeds_dir, entity, change, reason
):
    con = with_partner
    key = ENTITIES[entity].key
    good = {**BASE[entity], key: "GOOD"}
    bad = {**BASE[entity], key: "BAD", **change}
    write_csv(landing / entity / f"{entity}_1.csv", COLS[entity], [good, bad])
    result = load(con, entity, landing, seeds_dir)

    expected_key = bad[key].strip() or None
    assert rows(
        con,
        f"select record_key, reason, source_file, source_row from audit.rejected_rows "
        f"where entity = '{entity}'",
    ) == [(expected_key, reason, f"{entity}_1.csv", 2)]
    record = json.loads(
        rows(con, f"select record from audit.rejected_rows where entity = '{entity}'")[0][0]
    )
    # the original values are kept (an empty CSV field reads as null)
    assert {k: record[k] for k in change} == {k: v or None for k, v in change.items()}
    assert rows(con, f"select {key} from raw.{entity} where {key} <> 'P1'") == [("GOOD",)]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)


def test_a_row_with_several_faults_lists_every_reason(with_partner, landing, seeds_dir):
    bad = {**DEAL, "stage": "closed", "amount": "-3", "partner_id": "P9"}
    write_csv(landing / "deals" / "d.csv", DEAL_COLS, [bad])
    load(with_partner, "deals", landing, seeds_dir)
    assert rows(with_partner, "select reason from audit.rejected_rows") == [
        (
            "unknown code: stage 'closed'; negative amount: amount -3.00; "
            "unknown partner: partner_id 'P9'",
        )
    ]


def test_direct_deal_needs_no_partner_nor_registration(with_partner, landing, seeds_dir):
    direct = {**DEAL, "partner_id": "", "deal_source": "direct", "registered_on": ""}
    open_direct = {**direct, "deal_id": "D2", "stage": "approved", "closed_on": ""}
    write_csv(landing / "deals" / "d.csv", DEAL_COLS, [direct, open_direct])
    result = load(with_partner, "deals", landing, seeds_dir)
    assert result.rows_rejected == 0 and result.table_rows == 2


def test_fx_month_missing_uses_an_earlier_month_and_is_not_rejected(
    with_partner, landing, seeds_dir
):
    fx = seeds_dir / "fx_rates.csv"
    kept = [line for line in fx.read_text().splitlines() if not line.startswith("EUR,2024-02")]
    fx.write_text("\n".join(kept) + "\n")
    write_csv(landing / "deals" / "d.csv", DEAL_COLS, [{**DEAL, "currency": "EUR"}])
    result = load(with_partner, "deals", landing, seeds_dir)
    assert result.rows_rejected == 0


# --- file-level faults: the run fails, the message names file and column, nothing loads ------


def _previous_state(con: duckdb.DuckDBPyConnection) -> tuple:
    return (
        rows(con, "select * from raw.partners order by partner_id"),
        rows(con, "select file_name from audit.loaded_files order by 1"),
        rows(con, "select count(*) from audit.rejected_rows"),
    )


def test_missing_required_column_rejects_the_file(with_partner, landing, seeds_dir):
    before = _previous_state(with_partner)
    cols = [c for c in PARTNER_COLS if c != "partner_type"]
    path = write_csv(landing / "partners" / "p_2.csv", cols, [{**PARTNER, "partner_id": "P2"}])
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    message = str(err.value)
    assert str(path) in message
    assert "missing required column 'partner_type'" in message
    assert _previous_state(with_partner) == before


def test_zero_byte_file_is_rejected(with_partner, landing, seeds_dir):
    before = _previous_state(with_partner)
    path = landing / "partners" / "p_2.csv"
    path.write_bytes(b"")
    with pytest.raises(FileRejected, match="file is empty \\(0 bytes\\)") as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert str(path) in str(err.value)
    assert _previous_state(with_partner) == before


def test_unparseable_csv_is_rejected_with_the_line(with_partner, landing, seeds_dir):
    before = _previous_state(with_partner)
    path = write_csv(
        landing / "partners" / "p_2.csv", PARTNER_COLS, [{**PARTNER, "partner_id": "P2"}]
    )
    with path.open("a") as fh:
        fh.write(",".join(["P3"] + ["x"] * len(PARTNER_COLS)) + "\n")  # one field too many
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    # the header has 14 columns; line 3 has 15 fields, the 15th is the first too many
    assert err.value.problems == [
        f"{path}: could not be parsed as CSV: line 3, column 15: the row has 15 fields, the "
        "header 14; quote a field that contains a comma"
    ]
    assert _previous_state(with_partner) == before


def _partner_line(**values: str) -> str:
    return ",".join(values.get(c, PARTNER.get(c) or "") for c in PARTNER_COLS)


# Faults a file can have; each message names the file, the line and the column (the field's
# position and its header name), never a value of the row (SECRET stands for personal data).
PARSE_FAULTS = [
    (
        # a carriage return in an unquoted field of a file whose lines end with LF
        _partner_line(partner_name="SECRET\rname"),
        "line 2, column 2 (partner_name): a line break inside a field that is not quoted (mixed "
        "line endings?); save the file with one kind of line ending",
    ),
    (
        _partner_line(partner_name='"SECRET" name'),
        "line 2, column 2 (partner_name): text follows the closing quote of a quoted field; "
        "double a quote inside a quoted field",
    ),
    (
        _partner_line(partner_name='"SECRET'),
        "line 2, column 2 (partner_name): a quoted field is not closed before the end of the file",
    ),
    (
        ",".join(["P2", "SECRET", "reseller"]),
        "line 2, column 4 (tier): the row has 3 fields, the header 14",
    ),
]


@pytest.mark.parametrize(("line", "where"), PARSE_FAULTS)
def test_a_parse_error_names_file_line_and_column_and_no_value(
    with_partner, landing, seeds_dir, line, where
):
    path = landing / "partners" / "p_2.csv"
    path.write_text(",".join(PARTNER_COLS) + "\n" + line + "\n")
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert err.value.problems == [f"{path}: could not be parsed as CSV: {where}"]
    assert "SECRET" not in str(err.value)


def test_non_utf8_csv_is_rejected(with_partner, landing, seeds_dir):
    before = _previous_state(with_partner)
    path = landing / "partners" / "p_2.csv"
    path.write_bytes(",".join(PARTNER_COLS).encode() + b"\nP2,Caf\xe9,reseller\n")
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert err.value.problems == [
        f"{path}: could not be parsed as CSV: line 2, column 2 (partner_name): the text is not "
        "UTF-8 (invalid continuation byte); save the file as UTF-8"
    ]
    assert _previous_state(with_partner) == before


def test_a_csv_with_cr_only_line_endings_loads(build_db, landing, seeds_dir):
    """F5: Excel's "CSV (Macintosh)" ends lines with CR alone."""
    path = landing / "partners" / "p.csv"
    path.parent.mkdir(parents=True)
    lines = [",".join(PARTNER_COLS), _partner_line(), _partner_line(partner_id="P2")]
    path.write_bytes(("\r".join(lines) + "\r").encode())
    result = load(build_db, "partners", landing, seeds_dir)
    assert (result.rows_read, result.rows_rejected) == (2, 0)
    assert rows(build_db, "select partner_id, _source_row from raw.partners order by 1") == [
        ("P1", 1),
        ("P2", 2),
    ]


def test_reject_counts_are_by_rule_and_column_without_values(with_partner, landing, seeds_dir):
    bad = [
        {**DEAL, "deal_id": "D2", "partner_id": "SECRET1"},
        {**DEAL, "deal_id": "D3", "partner_id": "SECRET2", "stage": "SECRET3"},
        {**DEAL, "deal_id": "D4", "closed_on": "2024-01-01"},
    ]
    write_csv(landing / "deals" / "d.csv", DEAL_COLS, [DEAL, *bad])
    result = load(with_partner, "deals", landing, seeds_dir)
    assert result.reject_reasons == {
        "unknown partner: partner_id": 2,
        "closed before registered: closed_on": 1,
        "unknown code: stage": 1,
    }


def test_corrupt_parquet_is_rejected(with_partner, landing, seeds_dir):
    before = _previous_state(with_partner)
    path = landing / "partners" / "p_2.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert err.value.problems == [
        f"{path}: could not be parsed as Parquet: the file is damaged or not a Parquet file"
    ]
    assert _previous_state(with_partner) == before


def test_parquet_missing_a_column_names_it(with_partner, landing, seeds_dir):
    cols = [c for c in PARTNER_COLS if c != "updated_at"]
    path = write_parquet(landing / "partners" / "p_2.parquet", cols, [PARTNER])
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert f"{path}: missing required column 'updated_at'" in str(err.value)


def test_one_bad_file_loads_nothing_of_the_batch_and_names_every_bad_file(
    with_partner, landing, seeds_dir
):
    before = _previous_state(with_partner)
    write_csv(landing / "partners" / "p_2.csv", PARTNER_COLS, [{**PARTNER, "partner_id": "P2"}])
    bad1 = landing / "partners" / "p_3.csv"
    bad1.write_bytes(b"")
    bad2 = write_csv(landing / "partners" / "p_4.csv", ["partner_id"], [{"partner_id": "P4"}])
    with pytest.raises(FileRejected) as err:
        load(with_partner, "partners", landing, seeds_dir)
    assert len(err.value.problems) == 2
    assert str(bad1) in err.value.problems[0] and str(bad2) in err.value.problems[1]
    assert _previous_state(with_partner) == before
    # Once the bad files are fixed, the whole batch loads.
    bad1.unlink()
    bad2.unlink()
    result = load(with_partner, "partners", landing, seeds_dir)
    assert [f.file_name for f in result.files] == ["p_2.csv"]


def test_other_files_in_the_landing_folder_are_ignored(build_db, landing, seeds_dir):
    (landing / "partners").mkdir(parents=True)
    (landing / "partners" / "README.txt").write_text("not an extract")
    result = load(build_db, "partners", landing, seeds_dir)
    assert result.files == [] and result.skipped == []
