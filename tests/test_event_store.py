"""The local instance's event log (orchestration/event_store.py): Dagster's SQLite storage with
its connections kept open. Real instances from the project's dagster.yaml, real runs."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg

from orchestration.event_store import KeptConnectionsEventLogStorage


@dg.asset
def upstream() -> int:
    return 1


@dg.asset
def downstream(upstream: int) -> int:
    return upstream + 1


@dg.asset_check(asset=downstream)
def downstream_is_two() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _materializations(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id, limit=1000).records
    return sorted(
        r.event_log_entry.dagster_event.asset_key.to_user_string()
        for r in records
        if r.event_log_entry.dagster_event
        and r.event_log_entry.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    )


def test_runs_are_recorded_and_visible_to_other_instances(dagster_home):
    defs = dg.Definitions(assets=[upstream, downstream], asset_checks=[downstream_is_two])
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as writer, dg.DagsterInstance.get() as reader:
        assert isinstance(writer.event_log_storage, KeptConnectionsEventLogStorage)
        first = job.execute_in_process(instance=writer).run_id
        second = job.execute_in_process(instance=writer).run_id
        # another instance (as the UI's) reads the runs while the writer's connections are open
        for run_id in (first, second):
            assert _materializations(reader, run_id) == ["downstream", "upstream"]
            assert reader.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        latest = reader.get_latest_materialization_event(dg.AssetKey("downstream"))
        assert latest is not None and latest.run_id == second
        check = reader.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("downstream"), "downstream_is_two")]
        )
        assert check[dg.AssetCheckKey(dg.AssetKey("downstream"), "downstream_is_two")].run_id == (
            second
        )
    runs_dir = dagster_home / ".dagster" / "history" / "runs"
    assert (runs_dir / f"{first}.db").exists()
    # closing the connections checkpointed the write-ahead logs into the databases
    assert list(runs_dir.glob("*.db-wal")) == []


def test_the_ui_log_watcher_sees_a_run_while_it_runs(dagster_home):
    """The UI follows a run's log by watching its .db file; with kept connections the events go
    to the WAL first, so they must still reach the .db file while the run is going on."""
    seen: list[str] = []
    started = threading.Event()

    def on_event(entry: dg.EventLogEntry, _cursor: str) -> None:
        if entry.dagster_event is not None:
            seen.append(entry.dagster_event.event_type_value)
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                started.set()

    @dg.asset
    def slow() -> None:
        # the step waits until the watcher (another instance, as in the UI) has seen its start
        if not started.wait(timeout=20):
            raise AssertionError("the log watcher did not see STEP_START while the step ran")

    job = dg.Definitions(assets=[slow]).resolve_implicit_global_asset_job_def()
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.get() as writer, dg.DagsterInstance.get() as ui:
        ui.watch_event_logs(run_id, None, on_event)
        t0 = time.monotonic()
        result = job.execute_in_process(instance=writer, run_id=run_id, raise_on_error=False)
        assert result.success
        deadline = time.monotonic() + 20
        while "PIPELINE_SUCCESS" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        ui.end_watch_event_logs(run_id, on_event)
    assert "STEP_START" in seen and seen[-1] == "PIPELINE_SUCCESS", seen
    assert time.monotonic() - t0 < 20


def test_only_tables_that_exist_are_remembered(dagster_home):
    """`has_table` keeps a yes (tables are only added) but asks again after a no: a table a
    migration adds later is then found."""
    import sqlite3

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("added_later")
        index = dagster_home / ".dagster" / "history" / "runs" / "index.db"
        with sqlite3.connect(index) as con:
            con.execute("create table added_later (id integer)")
        assert storage.has_table("added_later")
        with sqlite3.connect(index) as con:
            con.execute("drop table added_later")
        assert storage.has_table("added_later")  # remembered: Dagster never drops a table
