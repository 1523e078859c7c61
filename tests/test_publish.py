"""Publishing: a publish folder per run, switched in as one by the `current` symlink, beside live
readers; leftovers of killed publishes removed; a warehouse of the older layout adopted."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish.serving import current_publish, publish, published_by
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
    # the public paths are symlinks through `current`, which names this publish's folder
    wh = settings.warehouse_dir
    assert os.readlink(wh / "serving.duckdb") == "current/serving.duckdb"
    assert os.readlink(wh / "exports") == "current/exports"
    assert os.readlink(wh / "current") == f"publishes/{result.publish_id}"
    assert [p.name for p in (wh / "publishes").iterdir()] == [result.publish_id]
    manifest = json.loads((wh / "publishes" / result.publish_id / "publish.json").read_text())
    assert (manifest["run_id"], manifest["as_of_date"], manifest["previous"]) == (
        "r1",
        "2026-01-31",
        None,
    )
    assert manifest["marts"] == {"mart_a": 1, "mart_b": 3}


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
    # the failed publish's folder is gone; only the published one is left
    assert len(list((settings.warehouse_dir / "publishes").iterdir())) == 1


def test_no_marts_is_an_error_not_an_empty_serving_file(settings):
    settings.warehouse_dir.mkdir(parents=True)
    duckdb.connect(str(settings.build_db)).close()
    with pytest.raises(RuntimeError, match="no tables in schema marts"):
        publish(settings)
    assert not settings.serving_db.exists()
    assert list((settings.warehouse_dir / "publishes").iterdir()) == []


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


def test_the_previous_publish_is_kept_and_older_ones_are_deleted(settings):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 1)
    ids = [publish(settings, run_id=f"r{i}").publish_id for i in range(1, 4)]
    folders = settings.warehouse_dir / "publishes"
    assert sorted(p.name for p in folders.iterdir()) == sorted(ids[1:])
    current = current_publish(settings)
    assert current is not None and (current.publish_id, current.previous) == (ids[2], ids[1])
    # the failure alert asks whether a run published: the current and the previous are known
    made_by_r3, made_by_r2 = published_by(settings, "r3"), published_by(settings, "r2")
    assert made_by_r3 is not None and made_by_r3.publish_id == ids[2]
    assert made_by_r2 is not None and made_by_r2.publish_id == ids[1]
    assert published_by(settings, "r1") is None


def test_the_leftovers_of_killed_publishes_are_removed_by_the_next_one(settings):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 1)
    kept = publish(settings, run_id="r1").publish_id
    wh = settings.warehouse_dir
    # what a publish killed at various moments leaves: a folder without manifest, a complete
    # folder that `current` never named, staged symlinks, and staged files of the older layout
    unfinished = wh / "publishes" / "20991231T000000000000Z-unfinished"
    (unfinished / "exports").mkdir(parents=True)
    (unfinished / "serving.duckdb").write_bytes(b"half a file")
    never_switched = wh / "publishes" / "20991231T000001000000Z-neverswitched"
    never_switched.mkdir()
    (never_switched / "publish.json").write_text("{}")
    os.symlink("publishes/x", wh / ".current.0123456789ab.tmp")
    os.symlink("current/serving.duckdb", wh / ".serving.duckdb.0123456789ab.tmp")
    (wh / ".serving.duckdb.abcdef.tmp.wal").write_bytes(b"")
    result = publish(settings, run_id="r2")
    assert sorted(p.name for p in (wh / "publishes").iterdir()) == sorted([kept, result.publish_id])
    assert sorted(p.name for p in wh.iterdir()) == [
        "build.duckdb",
        "current",
        "exports",
        "publishes",
        "serving.duckdb",
    ]


def test_a_warehouse_of_the_older_layout_is_adopted_while_a_reader_holds_it(settings):
    """serving.duckdb a regular file and exports/ a folder (as publishes before publish
    folders left them, with the staged files of one that was killed): a reader holding the old
    file reads on, the next connection sees the new publish, and the old files are gone."""
    wh = settings.warehouse_dir
    (wh / "exports").mkdir(parents=True)
    old = duckdb.connect(str(wh / "serving.duckdb"))
    old.execute("create schema marts; create table marts.mart_a as select 7 as v")
    old.execute("copy marts.mart_a to '" + str(wh / "exports" / "mart_a.parquet") + "'")
    old.close()
    (wh / "exports" / ".mart_a.parquet.0123456789ab.tmp").write_bytes(b"staged")
    (wh / ".serving.duckdb.0123456789ab.tmp").write_bytes(b"staged")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(wh / "serving.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "7"
    make_build(settings.build_db, 2)
    result = publish(settings, run_id="r1")
    reader.stdin.write("go\n")
    reader.stdin.flush()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split() == ["7", "2"]  # the held connection, then a new one
    assert (wh / "serving.duckdb").is_symlink() and (wh / "exports").is_symlink()
    assert sorted(p.name for p in (wh / "exports").iterdir()) == [
        "mart_a.parquet",
        "mart_b.parquet",
    ]
    # the adopted old publish is the previous one, for readers that resolved it a moment ago
    current = current_publish(settings)
    assert current is not None and current.previous is not None
    assert current.publish_id == result.publish_id
    adopted = wh / "publishes" / current.previous
    assert duckdb.sql(
        f"select v from read_parquet('{adopted / 'exports' / 'mart_a.parquet'}')"
    ).fetchall() == [(7,)]
    assert not [p for p in wh.rglob("*.tmp")]


# A BI reader that polls the public paths: the publish id in the serving file, then in every
# export's Parquet metadata, then in the serving file again. When the serving file did not
# change in between, every export must belong to the same publish.
POLLER = textwrap.dedent(
    """
    import os, sys, duckdb
    wh, stop = sys.argv[1], sys.argv[2]
    serving, exports = os.path.join(wh, "serving.duckdb"), os.path.join(wh, "exports")

    def served():
        con = duckdb.connect(serving, read_only=True)
        try:
            return con.execute("select publish_id from audit.publish_log").fetchone()[0]
        finally:
            con.close()

    rounds = mixed = errors = straddled = 0
    seen = set()
    while not os.path.exists(stop):
        try:
            before = served()
            ids = {
                row[0] for row in duckdb.sql(
                    "select decode(value) from parquet_kv_metadata("
                    f"'{exports}/*.parquet') where decode(key) = 'psw_publish_id'"
                ).fetchall()
            }
            after = served()
        except Exception as exc:
            print("ERROR", type(exc).__name__, exc, flush=True)
            errors += 1
            continue
        rounds += 1
        seen.add(before)
        if before != after:
            straddled += 1
        elif ids != {before}:
            print("MIXED", before, sorted(ids), flush=True)
            mixed += 1
    print(f"DONE rounds={rounds} errors={errors} mixed={mixed} publishes={len(seen)}", flush=True)
    """
)


def test_a_polling_reader_sees_one_publish_at_a_time_and_no_error(settings, tmp_path):
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 1)
    publish(settings, run_id="r0")
    stop = tmp_path / "stop"
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, str(settings.warehouse_dir), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    for i in range(1, 16):
        publish(settings, run_id=f"r{i}")
        time.sleep(0.05)
    stop.touch()
    out, err = poller.communicate(timeout=60)
    assert poller.returncode == 0, err
    done = [line for line in out.splitlines() if line.startswith("DONE")]
    assert done, out + err
    figures = dict(item.split("=") for item in done[0].split()[1:])
    assert (figures["errors"], figures["mixed"]) == ("0", "0"), out
    assert int(figures["publishes"]) > 3, out  # it really read across several publishes
    print(done[0])


HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select run_id from audit.publish_log").fetchone()[0], flush=True)
    sys.stdin.readline()  # three publishes meanwhile: this one's folder is deleted
    print(con.execute("select run_id, (select sum(v) from marts.mart_b) from audit.publish_log")
          .fetchone(), flush=True)
    """
)


def test_a_reader_holding_a_deleted_publish_reads_on(settings):
    """Older publish folders are deleted while a dashboard may still hold their file open: the
    open file stays readable until the dashboard reconnects."""
    settings.warehouse_dir.mkdir(parents=True)
    make_build(settings.build_db, 50_000)
    first = publish(settings, run_id="r1")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.serving_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "r1"
    for run in ("r2", "r3", "r4"):
        publish(settings, run_id=run)
    assert not first.folder.exists()
    holder.stdin.write("go\n")
    holder.stdin.flush()
    out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    # sum of 0 .. 49 999
    assert out.strip() == str(("r1", 50_000 * 49_999 // 2))
