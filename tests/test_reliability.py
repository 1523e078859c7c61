"""Unattended nights, with real processes: two refreshes at once, a BI reader during a refresh,
kill -9 at several moments, a damaged build file, and a refresh with nothing new."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.generator import generate
from orchestration.settings import PROJECT_DIR
from tests.conftest import query

AS_OF = "2026-05-31"
MARTS_SQL = (
    "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build_site(tmp_path_factory)


def build_site(tmp_path_factory: pytest.TempPathFactory, scale: float = 0.003):
    """A landing zone, a Dagster instance, and a reference warehouse built by a clean run."""
    root = tmp_path_factory.mktemp("reliability")
    landing = root / "landing"
    generate(landing, scale=scale, seed=5, end_date=date(2026, 5, 31))
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PSW_DAGSTER_DIR": str(home / ".dagster"),
        "PSW_LANDING_DIR": str(landing),
        "PSW_AS_OF_DATE": AS_OF,
    }
    # create the instance's storage once, before processes race to do it
    subprocess.run(
        [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
        env=env,
        check=True,
    )
    reference = root / "reference"
    proc = refresh(env, reference)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, env, home, fingerprint(reference / "serving.duckdb")


PSW_REFRESH = [sys.executable, "-m", "orchestration.cli.main", "refresh", "--log-level", "WARNING"]


def refresh(env: dict, warehouse: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        PSW_REFRESH,
        env={**env, "PSW_WAREHOUSE_DIR": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def published_copy(root: Path, tmp_path: Path) -> Path:
    """A warehouse as a successful refresh of the site's landing zone leaves it: a copy of the
    reference warehouse (saves a refresh per test). Its symlinks (`current`, `serving.duckdb`,
    `exports`) are relative, and copied as symlinks: they lead into the copy's own publish."""
    warehouse = tmp_path / "wh"
    shutil.copytree(root / "reference", warehouse, symlinks=True)
    return warehouse


def fingerprint(db: Path) -> dict[str, str]:
    out = {}
    for (mart,) in query(db, MARTS_SQL):
        rows = query(db, f"select * from marts.{mart}")
        out[mart] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


def loaded_files(db: Path) -> list[tuple]:
    return query(db, "select entity, file_name, count(*) from audit.loaded_files group by 1, 2")


DIRECT_RUN = textwrap.dedent(
    """
    import dagster as dg
    from orchestration.definitions import defs
    with dg.DagsterInstance.get() as instance:
        result = defs().resolve_job_def("nightly_refresh").execute_in_process(
            instance=instance, raise_on_error=False
        )
    print("RUN", result.run_id, result.success, flush=True)
    raise SystemExit(0 if result.success else 1)
    """
)


def _step_windows(home: Path, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of every step of a run, from the instance's event log."""
    starts: dict[str, float] = {}
    windows = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_records_for_run(run_id, limit=100_000).records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                windows.append((starts[entry.step_key], entry.timestamp))
    return windows


def test_two_refreshes_started_together_take_turns_and_both_succeed(site, tmp_path, monkeypatch):
    """One through `psw refresh`, one launched straight into Dagster (as the UI would): only
    the duckdb_writer pool keeps them from writing build.duckdb at the same time."""
    _, env, home, reference = site
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    warehouse = tmp_path / "wh"
    run_env = {**env, "PSW_WAREHOUSE_DIR": str(warehouse)}
    procs = [
        subprocess.Popen(
            cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for cmd in (PSW_REFRESH, [sys.executable, "-c", DIRECT_RUN])
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert fingerprint(warehouse / "serving.duckdb") == reference
    # each file was loaded once, by whichever run came first
    assert all(count == 1 for *_, count in loaded_files(warehouse / "build.duckdb"))
    run_ids = [
        outputs[0].split("run ")[-1].split()[0],
        outputs[1].split("RUN ")[-1].split()[0],
    ]
    first, second = (_step_windows(home, run_id) for run_id in run_ids)
    assert first and second
    for a_start, a_end in first:
        for b_start, b_end in second:
            assert a_end <= b_start or b_end <= a_start, "two writers overlapped"


READER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    held = duckdb.connect(path, read_only=True)  # a dashboard that keeps its connection
    queries = errors = 0
    import os
    expected = held.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts'"
    ).fetchone()[0]
    while not os.path.exists(stop):
        for con in (held, duckdb.connect(path, read_only=True)):
            try:
                marts = con.execute(
                    "select count(*) from information_schema.tables where table_schema = 'marts'"
                ).fetchone()[0]
                card = con.execute(
                    "select count(*) from marts.mart_strategy_scorecard"
                ).fetchone()[0]
                if marts != expected or card != 1:
                    print(f"PARTIAL marts={marts} scorecard={card}", flush=True)
                    errors += 1
            except Exception as exc:
                print(f"ERROR {exc}", flush=True)
                errors += 1
            queries += 1
            if con is not held:
                con.close()
        time.sleep(0.05)
    # DuckDB caches a database per path and process: close the held connection so that the
    # next one opens the file now behind the path
    held.close()
    run = duckdb.connect(path, read_only=True).execute(
        "select run_id from audit.publish_log").fetchone()[0]
    print(f"DONE queries={queries} errors={errors} run={run}", flush=True)
    """
)


def test_a_bi_reader_during_a_refresh_sees_no_error_and_no_partial_state(site, tmp_path):
    root, env, _, reference = site
    warehouse = published_copy(root, tmp_path)
    before = query(warehouse / "serving.duckdb", "select run_id from audit.publish_log")[0][0]
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse / "serving.duckdb"), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2)
    second = refresh(env, warehouse)
    stop.touch()
    out = reader.communicate(timeout=120)[0]
    assert second.returncode == 0, second.stdout + second.stderr
    done = [line for line in out.splitlines() if line.startswith("DONE")]
    assert done and "errors=0" in done[0], out
    queries = int(done[0].split("queries=")[1].split()[0])
    assert queries > 20, out  # the reader really queried throughout the refresh
    # after the refresh, a new connection sees the new publish
    assert f"run={before}" not in done[0]
    assert fingerprint(warehouse / "serving.duckdb") == reference


def test_a_damaged_build_file_is_rebuilt_from_the_landing_zone(site, tmp_path, monkeypatch):
    root, env, home, reference = site
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    warehouse = published_copy(root, tmp_path)
    build = warehouse / "build.duckdb"
    # damage a data block of raw.deals (header: 3 x 4 KiB; blocks of 256 KiB)
    [(block,)] = query(
        build,
        "select min(block_id) from pragma_storage_info('raw.deals') where block_id >= 0",
    )
    with build.open("r+b") as fh:
        fh.seek(3 * 4096 + block * 262144 + 1024)
        fh.write(os.urandom(4096))
    again = refresh(env, warehouse)
    assert again.returncode == 0, again.stdout + again.stderr
    assert fingerprint(warehouse / "serving.duckdb") == reference
    damaged = list(warehouse.glob("build.duckdb.damaged-*"))
    assert len(damaged) == 1
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["ingest", "build_database"]))
        assert event is not None
        metadata = event.asset_materialization.metadata
        assert metadata["rebuilt_from_landing_zone"].value is True
        assert str(damaged[0]) in str(metadata["damaged_file_kept_at"].value)


def test_an_unreadable_build_file_is_rebuilt_too(site, tmp_path):
    _, env, _, reference = site
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    (warehouse / "build.duckdb").write_bytes(b"not a database" * 1000)
    proc = refresh(env, warehouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fingerprint(warehouse / "serving.duckdb") == reference
