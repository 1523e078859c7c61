"""kill -9 of a real `psw refresh` (its whole process group: supervisor, run worker, dbt) at
random moments spread over ingest, the gates, dbt, publish and the report, while a BI reader
polls the published files (issue #23, point 7).

Each round delivers new landing files (so that ingest has work) and then kills one refresh per
stage, in the order of the stages: each killed refresh is the next refresh after the previous
kill, and starts from what that kill left. A last refresh must then succeed and leave:

- marts and Parquet exports identical to a clean run's (content fingerprints);
- every landing file loaded once, and no duplicate key in a raw table;
- one consistent published set and no leftovers (no `*.tmp`, at most the current and the
  previous publish folder).

The BI reader reads the publish id from the serving file, then from every export's Parquet
metadata, then from the serving file again, throughout; it must see no error and never exports
of another publish than the serving file's.

The delivered files repeat current rows of the landing zone (same key, same `updated_at`, a
later file name): each is loaded and replaces rows, and the marts stay those of the clean run,
so one reference run serves every round.

Replay a failure with the seed the test prints: PSW_FAULT_SEED=<seed>. PSW_FAULT_ROUNDS sets the
number of rounds, each of which kills 5 refreshes, one per stage: 4 by default (20 kills).
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import query
from tests.test_reliability import PSW_REFRESH, build_site, fingerprint, refresh

SEED = int(os.environ.get("PSW_FAULT_SEED", "2323"))
ROUNDS = int(os.environ.get("PSW_FAULT_ROUNDS", "4"))
STAGES = ("ingest", "gates", "dbt", "publish", "report")
KEYS = {
    "partners": "partner_id",
    "deals": "deal_id",
    "certifications": "certification_id",
    "incentives": "incentive_id",
}
RAW_STEPS = [f"raw__{entity}" for entity in KEYS]
GATE_STEPS = ["raw_partners_quality_gate", "raw_quality_gate", "warehouse_quality_gate"]


def export_fingerprint(exports: Path) -> dict[str, str]:
    out = {}
    con = duckdb.connect()
    try:
        for path in sorted(exports.glob("*.parquet")):
            rows = con.execute("select * from read_parquet(?)", [str(path)]).fetchall()
            out[path.stem] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    finally:
        con.close()
    return out


def publish_ids(warehouse: Path) -> tuple[str, set[str]]:
    """The publish id in the serving file, and those in the exports' Parquet metadata."""
    [(served,)] = query(warehouse / "serving.duckdb", "select publish_id from audit.publish_log")
    con = duckdb.connect()
    try:
        exported = {
            row[0]
            for row in con.execute(
                "select decode(value) from parquet_kv_metadata(?) "
                "where decode(key) = 'psw_publish_id'",
                [str(warehouse / "exports" / "*.parquet")],
            ).fetchall()
        }
    finally:
        con.close()
    return served, exported


def deliver(landing: Path, reference_build: Path, round_no: int, rng: random.Random) -> None:
    """A new CSV file per entity, with a few rows of the landing zone repeated: rows whose
    current version (in the reference run) comes from the file they are taken from."""
    for entity, key in KEYS.items():
        sources = query(
            reference_build,
            f"select _source_file, list({key} order by {key}) from raw.{entity} "
            "where _source_file like '%.csv' group by 1 order by count(*) desc, 1 limit 1",
        )
        if not sources:
            continue
        [(source, keys)] = sources
        picked = set(rng.sample(keys, min(5, len(keys))))
        with (landing / entity / source).open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = [row for row in reader if row[key] in picked]
        target = landing / entity / f"{entity}_2026-05-31_r{round_no:02d}.csv"
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


# The BI reader: the publish id of the serving file, of every export, of the serving file again.
# When the serving file did not change in between, every export must be of the same publish.
POLLER = textwrap.dedent(
    """
    import os, sys, time, duckdb
    wh, stop = sys.argv[1], sys.argv[2]
    serving = os.path.join(wh, "serving.duckdb")
    pattern = os.path.join(wh, "exports", "*.parquet")

    def served():
        con = duckdb.connect(serving, read_only=True)
        try:
            con.execute("select count(*) from marts.mart_strategy_scorecard").fetchone()
            return con.execute("select publish_id from audit.publish_log").fetchone()[0]
        finally:
            con.close()

    rounds = errors = mixed = 0
    seen = set()
    while not os.path.exists(stop):
        try:
            before = served()
            con = duckdb.connect()
            ids = {
                row[0] for row in con.execute(
                    "select decode(value) from parquet_kv_metadata(?) "
                    "where decode(key) = 'psw_publish_id'", [pattern]
                ).fetchall()
            }
            con.close()
            after = served()
        except Exception as exc:
            print("ERROR", type(exc).__name__, exc, flush=True)
            errors += 1
            time.sleep(0.05)
            continue
        rounds += 1
        seen.add(before)
        if before == after and ids != {before}:
            print("MIXED", before, sorted(ids), flush=True)
            mixed += 1
        time.sleep(0.1)
    print(f"DONE rounds={rounds} errors={errors} mixed={mixed} publishes={len(seen)}", flush=True)
    """
)


class Watcher:
    """Finds the moment to kill a refresh: a step's start in the run's event log, or a change
    of the published files."""

    def __init__(self, home: Path, warehouse: Path):
        self.instance = dg.DagsterInstance.from_config(str(home))
        self.warehouse = warehouse

    def latest_run(self) -> str | None:
        records = self.instance.get_run_records(limit=1)
        return records[0].dagster_run.run_id if records else None

    def started_steps(self, run_id: str) -> set[str]:
        records = self.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_START, limit=1000
        ).records
        return {r.event_log_entry.step_key for r in records if r.event_log_entry.step_key}

    def current(self) -> str | None:
        link = self.warehouse / "current"
        return os.readlink(link) if link.is_symlink() else None

    def publish_folders(self) -> set[str]:
        folder = self.warehouse / "publishes"
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def close(self) -> None:
        self.instance.dispose()


def moment(
    stage: str, rng: random.Random, watcher: Watcher, before: dict
) -> tuple[Callable[[str | None], bool], float, str]:
    """(condition on the new run, delay after it holds, description) for a kill in `stage`."""
    if stage == "ingest":
        step = rng.choice(RAW_STEPS)
        delay = rng.uniform(0, 0.4)
        return (lambda run: run is not None and step in watcher.started_steps(run)), delay, step
    if stage == "gates":
        step = rng.choice(GATE_STEPS)
        delay = rng.uniform(0, 1.0)
        return (lambda run: run is not None and step in watcher.started_steps(run)), delay, step
    if stage == "dbt":
        delay = rng.uniform(0, 6.0)
        return (
            (lambda run: run is not None and "dbt_models" in watcher.started_steps(run)),
            delay,
            "dbt_models",
        )
    if stage == "publish":  # a new publish folder appears: the serving file is being written
        delay = rng.uniform(0, 0.3)
        return (
            lambda _run: bool(watcher.publish_folders() - before["folders"]),
            delay,
            "publish folder written",
        )
    delay = rng.uniform(0, 0.5)  # report: `current` switched, the report is being built
    return (lambda _run: watcher.current() != before["current"]), delay, "current switched"


def kill_at(
    stage: str, rng: random.Random, env: dict, warehouse: Path, watcher: Watcher
) -> tuple[str | None, str, float]:
    before = {"run": watcher.latest_run(), "folders": watcher.publish_folders()}
    before["current"] = watcher.current()
    condition, delay, what = moment(stage, rng, watcher, before)
    proc = subprocess.Popen(
        PSW_REFRESH,
        env={**env, "PSW_WAREHOUSE_DIR": str(warehouse)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: supervisor, worker, dbt
    )
    deadline = time.monotonic() + 300
    run_id = None
    while time.monotonic() < deadline and proc.poll() is None:
        latest = watcher.latest_run()
        run_id = latest if latest != before["run"] else None
        if condition(run_id):
            break
        time.sleep(0.01 if stage in ("publish", "report") else 0.05)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0].decode(errors="replace")
    assert alive, f"the refresh ended before the kill at {stage} ({what}):\n{out}"
    return run_id, what, delay


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build_site(tmp_path_factory, scale=0.001)


def test_kill_9_at_random_moments_of_every_stage_then_a_refresh_publishes_a_clean_result(
    site, tmp_path, monkeypatch
):
    root, env, home, reference = site
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    print(f"\nfault injection: PSW_FAULT_SEED={SEED} PSW_FAULT_ROUNDS={ROUNDS}")
    rng = random.Random(SEED)
    landing = Path(env["PSW_LANDING_DIR"])
    reference_exports = export_fingerprint(root / "reference" / "exports")
    assert sorted(reference_exports) == sorted(reference)
    warehouse = tmp_path / "wh"
    shutil.copytree(root / "reference", warehouse, symlinks=True)
    stop = tmp_path / "stop"
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, str(warehouse), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watcher = Watcher(home, warehouse)
    started = time.monotonic()
    kills = []
    try:
        for round_no in range(1, ROUNDS + 1):
            deliver(landing, root / "reference" / "build.duckdb", round_no, rng)
            for stage in STAGES:
                t0 = time.monotonic()
                run_id, what, delay = kill_at(stage, rng, env, warehouse, watcher)
                kills.append((round_no, stage, what, round(delay, 2), run_id))
                print(
                    f"round {round_no}: killed at {stage} ({what} + {delay:.2f} s) "
                    f"after {time.monotonic() - t0:.0f} s"
                )
            t0 = time.monotonic()
            again = refresh(env, warehouse)
            print(f"round {round_no}: the next refresh succeeded in {time.monotonic() - t0:.0f} s")
            context = f"seed {SEED}, round {round_no}, kills {kills[-len(STAGES) :]}"
            assert again.returncode == 0, context + "\n" + again.stdout + again.stderr
            last_run = kills[-1][-1]
            assert f"marked run {last_run} failed: its process had died" in again.stdout, context
            assert fingerprint(warehouse / "serving.duckdb") == reference, context
            assert export_fingerprint(warehouse / "exports") == reference_exports, context
            served, exported = publish_ids(warehouse)
            assert exported == {served}, context
            files = query(
                warehouse / "build.duckdb",
                "select entity, file_name, count(*) from audit.loaded_files group by 1, 2",
            )
            landed = {(e, p.name) for e in KEYS for p in (landing / e).iterdir()}
            assert {(e, f) for e, f, _ in files} == landed, context
            assert all(n == 1 for *_, n in files), context
            for entity, key in KEYS.items():
                dupes = query(
                    warehouse / "build.duckdb",
                    f"select count(*) from (select {key} from raw.{entity} "
                    f"group by 1 having count(*) > 1)",
                )
                assert dupes == [(0,)], f"{context}: duplicate keys in raw.{entity}"
            assert not list(warehouse.rglob("*.tmp")), context
            assert len(list((warehouse / "publishes").iterdir())) <= 2, context
    finally:
        watcher.close()
        stop.touch()
        out = poller.communicate(timeout=120)[0]
    elapsed = time.monotonic() - started
    print(f"{len(kills)} kills and {ROUNDS} recoveries in {elapsed:.0f} s")
    done = [line for line in out.splitlines() if line.startswith("DONE")]
    assert done, out
    figures = dict(item.split("=") for item in done[0].split()[1:])
    print(f"BI reader: {done[0]}")
    assert (figures["errors"], figures["mixed"]) == ("0", "0"), out
    assert int(figures["publishes"]) > ROUNDS, out  # it read across the publishes
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for *_, run_id in kills:
            if run_id is not None:
                run = instance.get_run_by_id(run_id)
                assert run is not None and run.status == dg.DagsterRunStatus.FAILURE, run_id
