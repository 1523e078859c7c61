"""The Spark loader (PSW_ENGINE=spark) against the DuckDB loader, on real files with real Spark.

Both load the same generated landing zone (plus a few hand-written files with messy values)
and must agree on every raw row, every rejected row and reason, and every file's counts.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("pyspark")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from orchestration.generator import generate
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import FileRejected, load_entity
from orchestration.ingest.spark_loader import load_entity_spark
from orchestration.settings import SEEDS_DIR
from tests.conftest import write_csv

ORDER = ["partners", "deals", "certifications", "incentives"]  # partners first: the FK
PARTNER_COLS = list(ENTITIES["partners"].column_names)

# Messy but plausible values: both engines must read them the same way.
EDGE_PARTNERS_HEADER = [
    "Updated_At",
    " PARTNER_ID ",
    "partner_name",
    "partner_type",
    "tier",
    "program_status",
    "hq_country",
    "countries_served",
    "segments_served",
    "verticals_served",
    "applied_on",
    "enrolled_on",
    "terminated_on",
    "notes",
]
EDGE_PARTNERS = [
    # alias, cases, spaces, lists with blanks, a date with a time, ISO 'T' and 'Z'
    {
        "Updated_At": "2024-01-01T10:00:00Z",
        " PARTNER_ID ": "PX1",
        "partner_name": " Acme, Inc. ",
        "partner_type": "Value Added Reseller",
        "tier": " Gold ",
        "program_status": "ENROLLED",
        "hq_country": "us",
        "countries_served": " us ; ca ;; ",
        "segments_served": "SMB;Mid_Market",
        "verticals_served": "Retail",
        "applied_on": "2023/1/5",
        "enrolled_on": "2023-02-01 10:00",
        "notes": "first",
    },
    # the same key and updated_at, later in the file: this row wins
    {
        "Updated_At": "2024-01-01 10:00:00",
        " PARTNER_ID ": "PX1",
        "partner_name": "Acme Inc (row 2)",
        "partner_type": "VAR",
        "applied_on": "2023-01-05",
        "notes": "tie, later row",
    },
    # an offset, an unknown tier, a date followed by text (DuckDB reads the date)
    {
        "Updated_At": "2024-01-01 10:00:00+02:00",
        " PARTNER_ID ": "PX2",
        "partner_name": "Beta",
        "partner_type": "msp",
        "tier": "diamond",
        "applied_on": "2023-01-05x",
    },
    # several reasons at once, in contract order
    {
        "Updated_At": "2024-13-01 00:00:00",
        " PARTNER_ID ": "PX3",
        "partner_name": "",
        "partner_type": "Wizard",
        "countries_served": "US;XX;YY",
        "segments_served": "smb;tiny",
        "verticals_served": "retail;space",
        "enrolled_on": "2024",
    },
    # a quoted line break, 24:00:00, a day that does not exist
    {
        "Updated_At": "2024-02-29 24:00:00",
        " PARTNER_ID ": "PX4",
        "partner_name": "Line one\nline two",
        "partner_type": "isv",
        "applied_on": "2024-02-30",
    },
    # no-break spaces around the key, seven fraction digits, a date with a midnight time
    {
        "Updated_At": "2024-01-01 10:00:00.1234567",
        " PARTNER_ID ": "\u00a0PX5\u00a0",
        "partner_name": "Gamma \u201cquoted\u201d",
        "partner_type": "oem",
        "applied_on": "2024-01-05",
        "terminated_on": "2024-06-01T00:00:00",
    },
]
EDGE_DEALS = [
    {
        "deal_id": "DX1",
        "partner_id": "PX1",
        "deal_source": "Partner_Sourced",
        "account_id": "A1",
        "account_country": "de",
        "product_line": "endpoint",
        "amount": "1_000.505",
        "currency": "eur",
        "stage": "WON",
        "registered_on": "2024-01-05",
        "closed_on": "2024-02-01",
        "updated_at": "2024-02-01 10:00:00",
    },
    {
        "deal_id": "DX2",
        "partner_id": "PNOPE",
        "account_id": "A2",
        "product_line": "endpoint",
        "amount": "1,000",
        "currency": "XYZ",
        "stage": "won",
        "registered_on": "2024-01-05",
        "updated_at": "2024-02-01 10:00:00",
    },
    {
        "deal_id": "DX3",
        "account_id": "A3",
        "product_line": "endpoint",
        "amount": " 12.345e1 ",
        "currency": "EUR",
        "stage": "lost",
        "registered_on": "2018-03-05",
        "closed_on": "2018-03-01",
        "updated_at": "2018-03-01 00:00:00",
    },
    {
        "deal_id": "DX4",
        "partner_id": "PX3",
        "account_id": "A4",
        "product_line": "endpoint",
        "amount": "-0.004",
        "currency": "usd",
        "updated_at": "2024-02-01 10:00:00-05:30",
    },
    {
        "deal_id": "DX5",
        "account_id": "A5",
        "product_line": "endpoint",
        "amount": "-5",
        "updated_at": "2024/02/01 1:2:3",
    },
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """One Spark session (one JVM) for the module, as orchestration.warehouse.spark sets it up."""
    from orchestration.warehouse.spark import get_spark

    session = get_spark(tmp_path_factory.mktemp("spark_session"))
    yield session
    session.stop()


def _landing(out: Path) -> Path:
    """A small generated landing zone (with a dirty row of every kind) plus the messy files."""
    generate(out, scale=0.003, seed=7, end_date=date(2025, 6, 30), dirty_rate=0.02)
    write_csv(out / "partners" / "partners_9999_edge.csv", EDGE_PARTNERS_HEADER, EDGE_PARTNERS)
    write_csv(
        out / "deals" / "deals_9999_edge.csv", list(ENTITIES["deals"].column_names), EDGE_DEALS
    )
    _write_typed_parquet(out / "partners" / "partners_9999_typed.parquet")
    return out


def _write_typed_parquet(path: Path) -> None:
    """Parquet extracts with typed columns: lists, a boolean, dates, timestamps with and without
    a time zone, in microseconds and in nanoseconds (which Spark reads only as integers).

    PX7 and PX9 are rejected (an unknown tier): their original values are kept as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def partners(ids: list[str], tiers: list[str | None], stamps: pa.Array) -> pa.Table:
        return pa.table(
            {
                "partner_id": ids,
                "partner_name": [f"Partner {i}" for i in ids],
                "partner_type": ["reseller", "distributor"],
                "is_strategic": pa.array([True, None]),
                "tier": tiers,
                "program_status": ["enrolled", "applied"],
                "hq_country": ["FR", "DE"],
                "countries_served": pa.array([["FR", None, "be"], []], pa.list_(pa.string())),
                "segments_served": pa.array([["smb"], None], pa.list_(pa.string())),
                "verticals_served": pa.array(
                    [None, ["retail", "healthcare"]], pa.list_(pa.string())
                ),
                "applied_on": pa.array([date(2023, 3, 1), date(2023, 4, 1)]),
                "enrolled_on": pa.array([date(2023, 3, 2), None]),
                "terminated_on": pa.array([None, None], pa.date32()),
                "updated_at": stamps,
            }
        )

    micros = pa.array(
        [datetime(2024, 5, 1, 12, 30, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    pq.write_table(partners(["PX6", "PX7"], ["Gold", "Platinum+"], micros), path)
    nanos = [1714566600123456789, 1714566600100000000]
    pq.write_table(
        partners(["PX8", "PX9"], [None, "Platinum+"], pa.array(nanos, pa.timestamp("ns"))),
        path.with_name(path.stem + "_ns.parquet"),
    )
    pq.write_table(
        partners(["PX10", "PX11"], [None, None], pa.array(nanos, pa.timestamp("ns", tz="UTC"))),
        path.with_name(path.stem + "_ns_utc.parquet"),
    )


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory: pytest.TempPathFactory):
    """The same landing zone loaded by both loaders: (landing, DuckDB file, Spark dir, results)."""
    base = tmp_path_factory.mktemp("parity")
    landing = _landing(base / "landing")
    spark_dir = base / "spark"
    db = base / "build.duckdb"
    results = {}
    with duckdb.connect(str(db)) as con:
        for name in ORDER:
            duck = load_entity(con, ENTITIES[name], landing, SEEDS_DIR, run_id="run-1")
            sprk = load_entity_spark(
                spark, ENTITIES[name], landing, SEEDS_DIR, spark_dir, run_id="run-1"
            )
            results[name] = (duck, sprk)
    return landing, db, spark_dir, results


def _parquet(folder: Path) -> str:
    return f"read_parquet('{folder}/*.parquet')"


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _describe(db: Path, source: str) -> list[tuple[str, str]]:
    return [(name, dtype) for name, dtype, *_ in _rows(db, f"describe select * from {source}")]


def test_load_results_agree(loaded):
    _landing_dir, _db, _spark_dir, results = loaded
    for name in ORDER:
        duck, sprk = results[name]
        assert sprk.files == duck.files, name
        assert sprk.skipped == duck.skipped == [], name
        assert (sprk.rows_upserted, sprk.table_rows) == (duck.rows_upserted, duck.table_rows)
        assert sprk.reject_reasons == duck.reject_reasons, name
    # the landing zone exercises the rules: rejects of every kind the generator makes
    reasons = {r for _duck, sprk in results.values() for r in sprk.reject_reasons}
    rules = {r.split(": ")[0] for r in reasons}
    assert {"unknown code", "missing required value", "wrong type", "unknown partner"} <= rules
    assert {"negative amount", "no FX rate", "closed before registered"} <= rules
    assert "expires before earned" in rules
    # counted by rule and column, without the rows' values (those are in audit.rejected_rows)
    assert {"unknown partner: partner_id", "wrong type: updated_at"} <= reasons
    assert all(len(r.split(" ")) <= 4 and "'" not in r for r in reasons), reasons


def test_tables_have_the_duckdb_columns_and_types(loaded):
    _landing_dir, db, spark_dir, _results = loaded
    for name in ORDER:
        for table in (name, f"{name}_history"):
            spark_table = _parquet(spark_dir / "raw" / table)
            assert _describe(db, spark_table) == _describe(db, f"raw.{table}")
    for table in ("loaded_files", "rejected_rows"):
        expected = [
            (col, "VARCHAR" if dtype == "JSON" else dtype)
            for col, dtype in _describe(db, f"audit.{table}")
        ]
        assert _describe(db, _parquet(spark_dir / "audit" / table)) == expected


def test_raw_tables_are_identical(loaded):
    _landing_dir, db, spark_dir, _results = loaded
    for name in ORDER:
        key = ENTITIES[name].key
        # every column but _loaded_at (the load's own clock)
        cols = "* exclude (_loaded_at)"
        duck = _rows(db, f"select {cols} from raw.{name} order by {key}")
        sprk = _rows(db, f"select {cols} from {_parquet(spark_dir / 'raw' / name)} order by {key}")
        assert len(sprk) == len(duck) > 0, name
        assert sprk == duck, name
        # every version, with the same intervals
        order = f"{key}, updated_at, _source_file, _source_row"
        duck = _rows(db, f"select {cols} from raw.{name}_history order by {order}")
        history = _parquet(spark_dir / "raw" / f"{name}_history")
        sprk = _rows(db, f"select {cols} from {history} order by {order}")
        assert len(sprk) == len(duck) > 0, name
        assert sprk == duck, name
    # the messy rows typed as DuckDB types them
    partners = {
        r[0]: r[1:]
        for r in _rows(
            db,
            "select partner_id, partner_name, partner_type, tier, countries_served, applied_on, "
            f"enrolled_on, updated_at from {_parquet(spark_dir / 'raw' / 'partners')} "
            "where partner_id like 'PX%'",
        )
    }
    assert partners["PX1"] == (
        "Acme Inc (row 2)",
        "var",
        None,
        None,
        date(2023, 1, 5),
        None,
        datetime(2024, 1, 1, 10, 0),
    )
    assert partners["PX5"][-1] == datetime(2024, 1, 1, 10, 0, 0, 123456)
    assert partners["PX6"][3:5] == ("FR;BE", date(2023, 3, 1))
    assert partners["PX8"][-1] == datetime(2024, 5, 1, 12, 30, 0, 123456)
    assert partners["PX11"][-1] == datetime(2024, 5, 1, 12, 30, 0, 100000)
    assert set(partners) == {"PX1", "PX5", "PX6", "PX8", "PX10", "PX11"}


def test_rejected_rows_are_identical(loaded):
    _landing_dir, db, spark_dir, _results = loaded
    cols = "entity, source_file, source_row, record_key, reason, load_id, run_id"
    duck = _rows(db, f"select {cols}, record::varchar from audit.rejected_rows order by all")
    rejected = _parquet(spark_dir / "audit" / "rejected_rows")
    sprk = _rows(db, f"select {cols}, record from {rejected} order by all")
    assert len(sprk) == len(duck) > 0
    assert [r[:-1] for r in sprk] == [r[:-1] for r in duck]
    # the original values: the same JSON text
    assert [r[-1] for r in sprk] == [r[-1] for r in duck]
    px3 = next(r for r in sprk if r[3] == "PX3")
    assert px3[4] == (
        "missing required value: partner_name; unknown code: partner_type 'wizard'; "
        "unknown code: countries_served 'XX;YY'; unknown code: segments_served 'tiny'; "
        "unknown code: verticals_served 'space'; missing required value: applied_on; "
        "wrong type: enrolled_on '2024' is not a date (YYYY-MM-DD, four-digit year); "
        "wrong type: updated_at '2024-13-01 00:00:00' is not a timestamp "
        "(YYYY-MM-DD[THH:MM[:SS[.fraction]]][zone], four-digit year; "
        "zone: Z, +HH, +HHMM, +HH:MM or a name such as Asia/Tokyo)"
    )
    assert json.loads(px3[-1])["terminated_on"] is None
    # a typed Parquet row: its values as DuckDB casts them to text
    px7 = json.loads(next(r for r in sprk if r[3] == "PX7")[-1])
    assert px7["updated_at"] == "2024-05-02 00:00:00+00"
    assert (px7["countries_served"], px7["verticals_served"]) == ("", "retail;healthcare")
    assert (px7["applied_on"], px7["is_strategic"], px7["tier"]) == (
        "2023-04-01",
        None,
        "Platinum+",
    )


def test_loaded_files_agree(loaded):
    landing, db, spark_dir, _results = loaded
    cols = (
        "entity, file_name, content_sha256, file_bytes, load_id, rows_read, rows_loaded, "
        "rows_rejected, run_id"
    )
    duck = _rows(db, f"select {cols} from audit.loaded_files order by all")
    sprk = _rows(
        db, f"select {cols} from {_parquet(spark_dir / 'audit' / 'loaded_files')} order by all"
    )
    files = sum(len(list((landing / name).iterdir())) for name in ORDER)
    assert len(sprk) == len(duck) == files
    assert sprk == duck


def test_a_second_load_of_the_same_files_loads_nothing(spark, loaded):
    landing, db, spark_dir, _results = loaded

    def state() -> list[list[tuple]]:
        return [
            _rows(db, f"select * from {_parquet(spark_dir / table)} order by all")
            for table in ("raw/partners", "raw/deals", "audit/loaded_files", "audit/rejected_rows")
        ]

    before = state()
    for name in ("partners", "deals"):
        result = load_entity_spark(spark, ENTITIES[name], landing, SEEDS_DIR, spark_dir)
        assert result.files == []
        assert result.skipped == sorted(p.name for p in (landing / name).iterdir())
        assert result.table_rows == len(before[ORDER.index(name)])
    assert state() == before


def _partner(pid: str, tier: str, updated_at: str) -> dict[str, str]:
    return {
        "partner_id": pid,
        "partner_name": f"Partner {pid}",
        "partner_type": "reseller",
        "tier": tier,
        "applied_on": "2023-01-01",
        "updated_at": updated_at,
    }


def test_a_later_file_with_a_newer_updated_at_replaces_the_row(spark, tmp_path):
    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    raw = _parquet(spark_dir / "raw" / "partners")
    write_csv(
        landing / "partners" / "p_2024-01-01.csv",
        PARTNER_COLS,
        [_partner("P1", "gold", "2024-01-01 00:00:00"), _partner("P2", "gold", "2024-01-01")],
    )
    load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    write_csv(
        landing / "partners" / "p_2024-02-01.csv",
        PARTNER_COLS,
        [_partner("P1", "platinum", "2024-02-01 00:00:00"), _partner("P2", "silver", "2023-12-31")],
    )
    result = load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    assert [f.file_name for f in result.files] == ["p_2024-02-01.csv"]
    assert (result.rows_upserted, result.table_rows) == (1, 2)
    with duckdb.connect() as con:
        rows = con.execute(
            f"select partner_id, tier, _source_file, _load_id from {raw} order by 1"
        ).fetchall()
    # P1: the newer row replaced it; P2: the older row from the later file did not
    assert rows == [
        ("P1", "platinum", "p_2024-02-01.csv", 2),
        ("P2", "gold", "p_2024-01-01.csv", 1),
    ]


def test_a_file_without_a_required_column_rejects_the_whole_batch(spark, tmp_path):
    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    write_csv(
        landing / "partners" / "p_1.csv", PARTNER_COLS, [_partner("P1", "gold", "2024-01-01")]
    )
    load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    tables = ["raw/partners", "raw/partners_history", "audit/loaded_files", "audit/rejected_rows"]
    with duckdb.connect() as con:
        before = [
            con.execute(f"select * from {_parquet(spark_dir / t)} order by all").fetchall()
            for t in tables
        ]
    # a good file and one without updated_at, in the same batch
    write_csv(
        landing / "partners" / "p_2.csv", PARTNER_COLS, [_partner("P2", "gold", "2024-01-01")]
    )
    no_updated_at = [c for c in PARTNER_COLS if c != "updated_at"]
    bad = write_csv(
        landing / "partners" / "p_3.csv", no_updated_at, [_partner("P3", "gold", "2024-01-01")]
    )
    with pytest.raises(FileRejected) as rejected:
        load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    assert len(rejected.value.problems) == 1
    assert str(bad) in rejected.value.problems[0]
    assert "missing required column 'updated_at'" in rejected.value.problems[0]
    with duckdb.connect() as con:
        after = [
            con.execute(f"select * from {_parquet(spark_dir / t)} order by all").fetchall()
            for t in tables
        ]
        # the DuckDB loader rejects the same batch with the same words
        con.execute("set TimeZone = 'UTC'")
        with pytest.raises(FileRejected) as duck:
            load_entity(con, ENTITIES["partners"], landing, SEEDS_DIR)
    assert after == before
    assert duck.value.problems == rejected.value.problems
    assert not (spark_dir / "raw" / "partners.next").exists()


def test_a_malformed_csv_file_is_rejected(spark, tmp_path):
    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    good = write_csv(
        landing / "partners" / "p_1.csv", PARTNER_COLS, [_partner("P1", "gold", "2024-01-01")]
    )
    bad = landing / "partners" / "p_2.csv"
    shutil.copy(good, bad)
    with bad.open("a", encoding="utf-8") as fh:
        fh.write("P9,too,many,fields,in,this,row,for,the,header,,,,,,,,,\n")
    empty = landing / "partners" / "p_3.csv"
    empty.touch()
    with pytest.raises(FileRejected) as rejected:
        load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    problems = rejected.value.problems
    # 10 values and 9 more commas: 19 fields against the header's 14
    assert problems == [
        f"{bad}: could not be parsed as CSV: line 3, column 15: the row has 19 fields, the "
        "header 14; quote a field that contains a comma",
        f"{empty}: file is empty (0 bytes); an extract needs at least a header row",
    ]
    with duckdb.connect() as con:
        assert con.execute(
            f"select count(*) from {_parquet(spark_dir / 'raw' / 'partners')}"
        ).fetchone() == (0,)


# --- the SQL of both dialects, value by value --------------------------------------------------

DATES = ["2024-01-05", "2024-1-5", "2024/01/05", "2024 1 05", "24-01-05", "0099-01-01"]
DATES += ["2024-02-29", "2023-02-29", "2024-13-01", "2024-001-05", "2024", "2024-01", "20240105"]
DATES += ["2024-01-05x", "2024-01-055", "2024.01.05", "2024-01/05", "9999-12-31", "not-a-date"]
TIMES = ["", " 10:00", "T10:00:00", "T 1:2:3", "  10:00:00.5", " 10:00:00.1234567", " 24:00:00"]
TIMES += [" 24:00:01", " 23:59:60", " 10:60", " 10", "t10:00", " 10:00:00.", "\t10:00"]
ZONES = ["", "Z", "+02", "-05:30", "+0200", "+02:30:15", "+023015", "+02:", "+2", " UTC", " gmt"]
ZONES += [" +02:00", "UTC", "  UTC", " Etc/UTC", "Z ", "z", "+99"]
ZONES += [" Asia/Tokyo", "Asia/Tokyo", " america/new_york", " Mars/Base", " Etc/GMT+5", " EST"]
NUMBERS = ["1", " 12.5 ", "1.005", "-1.005", "1e3", "1E-2", "+5", ".5", "5.", "1_000", "1__0"]
NUMBERS += ["_1", "1,000", "0x10", "NaN", "inf", "9999999999999999.99", "9999999999999999.995"]
NUMBERS += ["١٢", "-0.004", "1.2.3", "", " ", "abc"]


def _corpus() -> list[str]:
    stamps = [d + t + z for d in DATES[:8] for t in TIMES for z in (ZONES if t else [""])]
    return stamps + [d + t for d in DATES for t in TIMES[:4]]


def test_both_dialects_type_and_reject_alike(spark, tmp_path):
    """typed_select on DuckDB and on Spark: the same typed values, reasons and JSON, per row."""
    from orchestration.ingest import sql
    from orchestration.ingest.loader import ensure_tables
    from orchestration.ingest.reference import register_reference
    from orchestration.ingest.spark_loader import register_reference as register_on_spark

    stamps = _corpus()
    cycle = lambda values, i: values[i % len(values)]  # noqa: E731
    deals = [
        {
            "deal_id": f" D{i} ",
            "partner_id": cycle([None, "P1", "P404", " P1 "], i),
            "deal_source": cycle(["Direct", " partner_sourced ", "other", None], i),
            "account_id": cycle(["A1", None, "\u00a0A2\u3000", ""], i),
            "account_country": cycle(["us", " DE ", "xx", None], i),
            "account_segment": cycle(["SMB", "tiny", None], i),
            "account_vertical": cycle(["Retail", "space", None], i),
            "product_line": cycle(["edr", None], i),
            "amount": cycle(NUMBERS, i),
            "currency": cycle(["EUR", " usd ", "XYZ", None, "gbp"], i),
            "stage": cycle(["WON", "lost", "open", None, "approved"], i),
            "registered_on": cycle(DATES, i * 7),
            "closed_on": cycle([*DATES, None], i * 3),
            "updated_at": stamps[i],
            "_source_file": "f.csv",
            "_source_row": i + 1,
        }
        for i in range(len(stamps))
    ]
    entity = ENTITIES["deals"]
    cols = ["_source_file", "_source_row", *(f"t_{n}" for n in entity.column_names)]
    cols += [*entity.column_names, "_reason", "_record"]

    import pyarrow as pa

    source = pa.Table.from_pylist(deals)  # noqa: F841 (read by DuckDB's replacement scan)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        ensure_tables(con, list(ENTITIES.values()))
        con.execute(
            "insert into raw.partners (partner_id, partner_name, partner_type, "
            "applied_on, updated_at, _source_file, _source_row, _load_id, _loaded_at) "
            "values ('P1', 'x', 'isv', date '2020-01-01', now()::timestamp, 'f', 1, 1, "
            "now()::timestamp)"
        )
        register_reference(con, SEEDS_DIR)
        duck = con.execute(
            f"select {', '.join(cols)} from ({sql.typed_select(entity, 'source')}) "
            "order by _source_row"
        ).fetchall()

    register_on_spark(spark, SEEDS_DIR)
    spark.sql("select 'P1' as partner_id").createOrReplaceTempView(sql.PARTNERS_TABLE["spark"])
    schema = ", ".join(f"{n} string" for n in entity.column_names)
    spark.createDataFrame(
        [(*(d[n] for n in entity.column_names), "f.csv", d["_source_row"]) for d in deals],
        f"{schema}, _source_file string, _source_row bigint",
    ).createOrReplaceTempView("_psw_test_source")
    sprk = [
        tuple(r)
        for r in spark.sql(
            f"select {', '.join(cols)} from "
            f"({sql.typed_select(entity, '_psw_test_source', dialect='spark')}) "
            "order by _source_row"
        ).collect()
    ]
    assert len(sprk) == len(duck) == len(stamps)
    for s_row, d_row in zip(sprk, duck, strict=True):
        assert s_row == d_row
    # the corpus has both kinds of timestamps
    typed = [r[cols.index("updated_at")] for r in duck]
    assert sum(t is None for t in typed) > 50 and sum(t is not None for t in typed) > 50


# --- dates and timestamps: one rule on both engines (orchestration/ingest/contract.py) -------


def _both(spark, tmp_path, rows: list[dict]) -> tuple[list[tuple], list[tuple]]:
    """Load one partners file with each loader: (raw rows, rejects) of DuckDB, then Spark."""
    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    write_csv(landing / "partners" / "p.csv", PARTNER_COLS, rows)
    out = []
    with duckdb.connect() as con:
        load_entity(con, ENTITIES["partners"], landing, SEEDS_DIR)
        out.append(
            (
                con.execute(
                    "select partner_id, applied_on, updated_at from raw.partners order by 1"
                ).fetchall(),
                con.execute(
                    "select record_key, reason from audit.rejected_rows order by 1"
                ).fetchall(),
            )
        )
        load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
        raw = _parquet(spark_dir / "raw" / "partners")
        rejected = _parquet(spark_dir / "audit" / "rejected_rows")
        out.append(
            (
                con.execute(
                    f"select partner_id, applied_on, updated_at from {raw} order by 1"
                ).fetchall(),
                con.execute(f"select record_key, reason from {rejected} order by 1").fetchall(),
            )
        )
    return out[0], out[1]


def test_a_named_zone_shifts_its_own_row_only_on_both_engines(spark, tmp_path):
    """F3: '10:00 Asia/Tokyo' is 01:00 UTC; the plain rows after it stay at 10:00."""
    stamps = ["2026-11-21 10:00:00", "2026-11-21 10:00:00 Asia/Tokyo", "2026-11-21 10:00:00"]
    stamps += ["2026-11-21 10:00:00+02:00", "2026-11-21 10:00:00"]
    rows = [_partner(f"P{i}", "gold", t) for i, t in enumerate(stamps)]
    duck, sprk = _both(spark, tmp_path, rows)
    applied = date(2023, 1, 1)
    hour = lambda h: datetime(2026, 11, 21, h, 0)  # noqa: E731
    expected = [
        ("P0", applied, hour(10)),
        ("P1", applied, hour(1)),
        ("P2", applied, hour(10)),
        ("P3", applied, hour(8)),
        ("P4", applied, hour(10)),
    ]
    assert duck == (expected, [])
    assert sprk == duck


def test_two_digit_years_and_slashed_dates_are_rejected_on_both_engines(spark, tmp_path):
    """F4: loaded as the years 0001 and 0026 once."""
    rows = [
        {**_partner("P1", "gold", "2026-01-31 10:00:00"), "applied_on": "1/2/26"},
        {**_partner("P2", "gold", "2026-01-31 10:00:00"), "applied_on": "26-01-31"},
        _partner("P3", "gold", "26-01-31 10:00:00"),
        _partner("P4", "gold", "2026-01-31 10:00 Mars/Base"),
        _partner("P5", "gold", "2026-01-31 10:00:00"),
    ]
    duck, sprk = _both(spark, tmp_path, rows)
    not_a_date = "is not a date (YYYY-MM-DD, four-digit year)"
    not_a_timestamp = (
        "is not a timestamp (YYYY-MM-DD[THH:MM[:SS[.fraction]]][zone], four-digit year; "
        "zone: Z, +HH, +HHMM, +HH:MM or a name such as Asia/Tokyo)"
    )
    assert duck == (
        [("P5", date(2023, 1, 1), datetime(2026, 1, 31, 10, 0))],
        [
            ("P1", f"wrong type: applied_on '1/2/26' {not_a_date}"),
            ("P2", f"wrong type: applied_on '26-01-31' {not_a_date}"),
            ("P3", f"wrong type: updated_at '26-01-31 10:00:00' {not_a_timestamp}"),
            (
                "P4",
                "wrong type: updated_at '2026-01-31 10:00 Mars/Base' has an unknown time zone "
                "name (use a name such as Asia/Tokyo, Z or +HH:MM)",
            ),
        ],
    )
    assert sprk == duck


def test_every_time_zone_name_converts_on_spark(spark):
    """The names a timestamp may carry come from Python's and DuckDB's time zone databases;
    Spark's (Java's) must know each of them too, or a row would fail the whole load."""
    from orchestration.ingest.reference import time_zone_names
    from orchestration.ingest.spark_loader import register_reference

    register_reference(spark, SEEDS_DIR)
    converted = spark.sql(
        "select count(to_utc_timestamp(timestamp'2026-01-01 00:00:00', name)) as n "
        "from ref_time_zones"
    ).first()
    assert converted is not None and converted.n == len(time_zone_names()) > 400


def test_a_cr_only_csv_loads_on_both_engines(spark, tmp_path):
    """F5: Excel's "CSV (Macintosh)" ends its lines with CR alone."""
    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    path = landing / "partners" / "p.csv"
    path.parent.mkdir(parents=True)
    lines = [",".join(PARTNER_COLS)]
    for pid in ("P1", "P2"):
        row = _partner(pid, "gold", "2024-01-01 00:00:00")
        lines.append(",".join(row.get(c, "") for c in PARTNER_COLS))
    path.write_bytes(("\r".join(lines) + "\r").encode())
    result = load_entity_spark(spark, ENTITIES["partners"], landing, SEEDS_DIR, spark_dir)
    assert (result.rows_read, result.rows_rejected) == (2, 0)
    with duckdb.connect() as con:
        raw = _parquet(spark_dir / "raw" / "partners")
        rows = con.execute(f"select partner_id, _source_row from {raw} order by 1").fetchall()
    assert rows == [("P1", 1), ("P2", 2)]


# --- pending loads on Spark (as orchestration/ingest/pending.py) -----------------------------


def test_a_pending_spark_load_rolls_back_to_the_accepted_state(spark, tmp_path):
    from orchestration.ingest.spark_loader import (
        accept_spark,
        pending_load_ids_spark,
        roll_back_spark,
    )

    landing, spark_dir = tmp_path / "landing", tmp_path / "spark"
    partners = ENTITIES["partners"]
    write_csv(
        landing / "partners" / "p_1.csv", PARTNER_COLS, [_partner("P1", "gold", "2024-01-01")]
    )
    load_entity_spark(spark, partners, landing, SEEDS_DIR, spark_dir)
    assert accept_spark(spark_dir, partners) == [1]
    tables = ["raw/partners", "raw/partners_history", "audit/loaded_files", "audit/rejected_rows"]

    def state() -> list[list[tuple]]:
        with duckdb.connect() as con:
            return [
                con.execute(
                    f"select * exclude (_loaded_at) from {_parquet(spark_dir / t)} order by all"
                    if t.startswith("raw")
                    else f"select * exclude (loaded_at) from {_parquet(spark_dir / t)} order by all"
                ).fetchall()
                for t in tables
            ]

    before = state()
    # two pending loads: the second replaces a row of the first; one reject
    write_csv(
        landing / "partners" / "p_2.csv",
        PARTNER_COLS,
        [_partner("P1", "platinum", "2024-02-01"), _partner("P2", "diamond", "2024-02-01")],
    )
    load_entity_spark(spark, partners, landing, SEEDS_DIR, spark_dir)
    write_csv(
        landing / "partners" / "p_3.csv", PARTNER_COLS, [_partner("P1", "silver", "2024-03-01")]
    )
    load_entity_spark(spark, partners, landing, SEEDS_DIR, spark_dir)
    assert pending_load_ids_spark(spark_dir, partners) == [2, 3]
    assert state() != before

    assert roll_back_spark(spark, spark_dir, partners) == [2, 3]
    assert state() == before
    assert pending_load_ids_spark(spark_dir, partners) == []
    # the files count as not loaded: the next load reads them again
    again = load_entity_spark(spark, partners, landing, SEEDS_DIR, spark_dir)
    assert [f.file_name for f in again.files] == ["p_2.csv", "p_3.csv"]
    assert again.rows_rejected == 1
    assert accept_spark(spark_dir, partners) == [2]
    assert not (spark_dir / "pending" / "partners").exists()
