"""Publishing: a new serving file and exports swapped in atomically, beside a live reader."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish
from orchestration.settings import load_settings


def make_build(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema audit")
    con.execute(f"create table marts.mart_a as select {value} as v, 'x' as k")
    con.execute(f"create table marts.mart_b as select range as v from range({value})")
    con.execute("create table audit.rejected_rows as select 'deals' as entity, 'r' as reason")
    con.execute("create table audit.loaded_files as select 'f.csv' as file_name")
    con.close()


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(
        {"PSW_WAREHOUSE_DIR": str(tmp_path / "wh"), "PSW_AS_OF_DATE": "2026-01-31"}
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_writes_marts_audit_and_exports(settings):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 3)
    result = publish(settings, run_id="r1")
    assert result.marts == {"mart_a": 1, "mart_b": 3}
    assert result.audit == {"rejected_rows": 1, "loaded_files": 1}
    con = duckdb.connect(str(settings.serving_db), read_only=True)
    assert con.execute("select v from marts.mart_a").fetchall() == [(3,)]
    assert con.execute(
        "select run_id, cast(as_of_date as varchar) from audit.publish_log"
    ).fetchall() == [("r1", "2026-01-31")]
    con.close()
    assert sorted(p.name for p in settings.exports_dir.iterdir()) == [
        "mart_a.parquet",
        "mart_b.parquet",
    ]
    assert not Path(f"{settings.serving_db}.wal").exists()


def test_a_failed_publish_leaves_the_previous_files_byte_for_byte(settings):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 3)
    publish(settings)
    before = digest(settings.serving_db)
    exports = {p.name: digest(p) for p in settings.exports_dir.iterdir()}
    con = duckdb.connect(str(settings.build_db))
    con.execute("drop table audit.loaded_files")  # the publish fails half-way
    con.close()
    with pytest.raises(duckdb.CatalogException):
        publish(settings)
    assert digest(settings.serving_db) == before
    assert {p.name: digest(p) for p in settings.exports_dir.iterdir()} == exports
    leftovers = [p.name for p in settings.warehouse_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_no_marts_is_an_error_not_an_empty_serving_file(settings):
    settings.warehouse_dir.mkdir(parents=True)
    duckdb.connect(str(settings.build_db)).close()
    with pytest.raises(RuntimeError, match="no tables in schema marts"):
        publish(settings)
    assert not settings.serving_db.exists()


READER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select v from marts.mart_a").fetchone()[0], flush=True)
    sys.stdin.readline()  # the writer published meanwhile
    print(con.execute("select v from marts.mart_a").fetchone()[0], flush=True)
    con.close()
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select v from marts.mart_a").fetchone()[0], flush=True)
    """
)


def test_a_reader_holding_the_serving_file_sees_no_error_and_then_the_new_marts(settings):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 1)
    publish(settings)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.serving_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "1"
    settings.build_db.unlink()
    make_build(settings.build_db, 2)
    started = time.monotonic()
    publish(settings)  # would fail on the reader's lock if it wrote the file in place
    assert time.monotonic() - started < 30
    reader.stdin.write("go\n")
    reader.stdin.flush()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    # the open connection keeps the old file; a new connection sees the new one
    assert out.split() == ["1", "2"]
