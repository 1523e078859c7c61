"""The landing-zone sensor and the failure alert, evaluated by Dagster against real files, a
real failed run and a real HTTP endpoint."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import duckdb
import pytest

from orchestration.alerts import AlertChannels
from orchestration.defs.automation.freshness import serving_freshness_alert
from orchestration.defs.automation.sensors import failure_alert, landing_zone_sensor
from orchestration.warehouse.resources import Warehouse


def tick(landing: Path, cursor: str | None, instance=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={"warehouse": Warehouse(landing_dir=str(landing))},
    )
    result = landing_zone_sensor(context)
    return result, context.cursor


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_refresh_starts_only_once_new_files_have_settled(tmp_path, monkeypatch):
    monkeypatch.setenv("PSW_LANDING_SETTLE_SECONDS", "30")
    landing = tmp_path / "landing"
    (landing / "deals").mkdir(parents=True)
    result, cursor = tick(landing, None)
    assert isinstance(result, dg.SkipReason)

    extract = landing / "deals" / "deals_2026-01-01.csv"
    extract.write_text("deal_id\n")
    age(extract, 120)
    result, cursor = tick(landing, cursor)  # first sight: it may still be growing
    assert isinstance(result, dg.SkipReason)
    result, cursor = tick(landing, cursor)  # unchanged since the last tick and old enough
    assert isinstance(result, dg.RunRequest)
    assert result.tags["psw/files"] == "1"
    result, cursor = tick(landing, cursor)  # nothing new: no second run
    assert isinstance(result, dg.SkipReason)

    with extract.open("a") as fh:  # a delivery that is still being written
        fh.write("D1\n")
    result, cursor = tick(landing, cursor)
    assert isinstance(result, dg.SkipReason)
    result, cursor = tick(landing, cursor)  # same size and time, but written just now
    assert isinstance(result, dg.SkipReason)
    age(extract, 60)
    result, cursor = tick(landing, cursor)  # its time changed: seen anew
    assert isinstance(result, dg.SkipReason)
    result, cursor = tick(landing, cursor)
    assert isinstance(result, dg.RunRequest)

    (landing / "deals" / "notes.txt").write_text("ignored")
    result, cursor = tick(landing, cursor)
    assert isinstance(result, dg.SkipReason)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


@dg.op
def explode():
    raise dg.Failure(description="data/landing/deals/d.csv: missing required column 'stage'")


@dg.job(name="nightly_refresh")
def failing_job():
    explode()


def _write_serving(path: Path, run_id: str, as_of: str, published_at: datetime) -> None:
    """A serving file as BI sees it: what the alerts read is its audit.publish_log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema audit")
        con.execute(
            "create table audit.publish_log as select cast(? as varchar) as run_id, "
            "cast(? as date) as as_of_date, cast(? as timestamp) as published_at",
            [run_id, as_of, published_at.astimezone(UTC).replace(tzinfo=None)],
        )
    finally:
        con.close()


def _alert_for(instance, run_id: str, url: str, warehouse: Path) -> None:
    """Evaluate the failure sensor for a failed run of `instance`, as the daemon does."""
    run = instance.get_run_by_id(run_id)
    failure = next(
        r.event_log_entry.dagster_event
        for r in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="nightly_refresh_failure_alert",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={
            "alerts": AlertChannels(webhook_url=url),
            "warehouse": Warehouse(warehouse_dir=str(warehouse)),
        },
    ).for_run_failure()
    failure_alert(context)


def test_a_failed_run_sends_an_alert_to_the_webhook_and_writes_a_file(tmp_path, webhook):
    url, received = webhook
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        _alert_for(instance, result.run_id, url, tmp_path / "wh")
    assert len(received) == 1
    body = received[0]
    assert body["run_id"] == result.run_id
    assert body["status"] == "FAILURE"
    assert any("missing required column 'stage'" in f for f in body["failures"])
    serving = tmp_path / "wh" / "serving.duckdb"
    assert (
        "This run did not publish, and nothing has been published yet: "
        f"there is no serving file at {serving}."
    ) in body["text"]
    files = list((tmp_path / "wh" / "alerts").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["run_id"] == result.run_id


def test_the_alert_of_a_run_that_did_not_publish_names_the_publish_bi_still_reads(
    tmp_path, webhook
):
    url, received = webhook
    published = datetime(2026, 6, 30, 2, 10, 59, tzinfo=UTC)
    _write_serving(tmp_path / "wh" / "serving.duckdb", "run-of-yesterday", "2026-06-29", published)
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        _alert_for(instance, result.run_id, url, tmp_path / "wh")
    assert received[0]["published"] == (
        "This run did not publish: BI still reads the serving file and exports of the publish "
        "of run run-of-yesterday (as of 2026-06-29, published 2026-06-30 02:10 UTC)."
    )


def test_the_alert_of_a_run_that_failed_after_publishing_says_bi_reads_this_run(tmp_path, webhook):
    url, received = webhook
    serving = tmp_path / "wh" / "serving.duckdb"
    _write_serving(serving, "run-of-yesterday", "2026-06-29", datetime(2026, 6, 30, tzinfo=UTC))

    @dg.asset(key=["publish", "serving_warehouse"])
    def publish(context) -> None:
        _write_serving(
            serving, context.run_id, "2026-06-30", datetime(2026, 7, 1, 2, 5, tzinfo=UTC)
        )

    @dg.asset(deps=[publish])
    def report() -> None:
        raise dg.Failure(description="the report could not be built")

    with dg.instance_for_test() as instance:
        result = dg.materialize([publish, report], instance=instance, raise_on_error=False)
        assert not result.success
        _alert_for(instance, result.run_id, url, tmp_path / "wh")
    assert received[0]["published"] == (
        "This run published before it failed: BI reads this run's serving file and exports, "
        f"the publish of run {result.run_id} (as of 2026-06-30, published 2026-07-01 02:05 UTC)."
    )
    assert "not replaced" not in received[0]["text"]


@dg.op
def swap_then_die(context) -> None:
    _write_serving(
        Path(os.environ["PSW_TEST_SERVING"]),
        context.run_id,
        "2026-06-30",
        datetime(2026, 7, 1, 2, 5, tzinfo=UTC),
    )
    raise dg.Failure(description="killed between the swap and recording it")


@dg.job(name="nightly_refresh")
def swapping_job():
    swap_then_die()


def test_the_alert_of_a_run_that_swapped_the_file_without_recording_it_says_so(
    tmp_path, webhook, monkeypatch
):
    url, received = webhook
    serving = tmp_path / "wh" / "serving.duckdb"
    monkeypatch.setenv("PSW_TEST_SERVING", str(serving))
    with dg.instance_for_test() as instance:
        result = swapping_job.execute_in_process(instance=instance, raise_on_error=False)
        _alert_for(instance, result.run_id, url, tmp_path / "wh")
    assert received[0]["published"] == (
        "This run replaced the serving file before it stopped, but did not record the publish: "
        f"BI reads this run's data, the publish of run {result.run_id} (as of 2026-06-30, "
        "published 2026-07-01 02:05 UTC)."
    )


def test_the_alert_of_a_crashed_run_says_dagster_retries_it(tmp_path, webhook, dagster_home):
    """On the project's instance (run retries on): a run whose worker died is retried once."""
    url, received = webhook
    with dg.DagsterInstance.get() as instance:
        run = instance.create_run_for_job(failing_job, status=dg.DagsterRunStatus.STARTED)
        instance.report_run_failed(run, "Run execution process for the run was killed")
        _alert_for(instance, run.run_id, url, tmp_path / "wh")
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        _alert_for(instance, result.run_id, url, tmp_path / "wh")
    crashed, data = received
    assert crashed["message"] == (
        "Run execution process for the run was killed. It did not fail in a step (a crash, not "
        "the data): Dagster retries it once."
    )
    assert "retries" not in data["message"]


# --- the freshness alert -------------------------------------------------------------------


def freshness_tick(warehouse: Path, url: str, cursor: str | None, instance):
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={
            "alerts": AlertChannels(webhook_url=url),
            "warehouse": Warehouse(warehouse_dir=str(warehouse)),
        },
    )
    result = serving_freshness_alert(context)
    return result, context.cursor


def test_a_stale_serving_file_alerts_once_per_stale_period(tmp_path, webhook):
    url, received = webhook
    warehouse = tmp_path / "wh"
    serving = warehouse / "serving.duckdb"
    now = datetime.now(UTC)
    with dg.instance_for_test() as instance:
        result, cursor = freshness_tick(warehouse, url, None, instance)
        assert isinstance(result, dg.SkipReason)  # nothing published yet: nothing to watch
        assert received == []

        _write_serving(serving, "r1", "2026-06-29", now - timedelta(hours=2))
        result, cursor = freshness_tick(warehouse, url, cursor, instance)
        assert received == []

        # a missed night: 30 h since the last publish, over the 26 h window
        _write_serving(serving, "r1", "2026-06-29", now - timedelta(hours=30))
        result, cursor = freshness_tick(warehouse, url, cursor, instance)
        assert len(received) == 1
        alert = received[0]
        assert alert["status"] == "STALE" and alert["run_id"] == "r1"
        assert alert["message"].startswith(
            "The serving file is 30.0 h old, over the 26.0 h freshness window"
        )
        assert "BI reads the publish of run r1 (as of 2026-06-29" in alert["text"]
        assert len(list((warehouse / "alerts").glob("*_stale_serving_r1.json"))) == 1

        for _ in range(3):  # still stale: no second alert for the same period
            result, cursor = freshness_tick(warehouse, url, cursor, instance)
        assert len(received) == 1

        _write_serving(serving, "r2", "2026-07-01", now - timedelta(hours=1))
        result, cursor = freshness_tick(warehouse, url, cursor, instance)
        assert len(received) == 1

        # the next stale period is a new alert
        _write_serving(serving, "r2", "2026-07-01", now - timedelta(hours=27))
        result, cursor = freshness_tick(warehouse, url, cursor, instance)
        assert len(received) == 2 and received[1]["run_id"] == "r2"


def test_an_unreadable_serving_file_alerts_once(tmp_path, webhook):
    url, received = webhook
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    (warehouse / "serving.duckdb").write_bytes(b"not a database")
    with dg.instance_for_test() as instance:
        _, cursor = freshness_tick(warehouse, url, None, instance)
        freshness_tick(warehouse, url, cursor, instance)
    assert len(received) == 1
    assert (
        f"the serving file {warehouse / 'serving.duckdb'} could not be read"
        in (received[0]["message"])
    )


def test_the_sensors_are_registered_and_watch_the_publish_asset():
    from orchestration.alerts import PUBLISH_ASSET_KEY
    from orchestration.definitions import defs
    from orchestration.defs.publish.assets import serving_warehouse

    assert serving_warehouse.key == PUBLISH_ASSET_KEY
    names = {sensor.name for sensor in defs().sensors or []}
    assert {"serving_freshness_alert", "nightly_refresh_failure_alert"} <= names


def test_without_a_channel_the_alert_is_a_file_and_a_log_line(tmp_path, caplog):
    from orchestration.alerts import Alert, send_alert

    alert = Alert("r1", "nightly_refresh", "FAILURE", "boom", ["step: bad"], "now")
    with caplog.at_level("ERROR", logger="psw.alerts"):
        delivered = send_alert(alert, AlertChannels(), tmp_path)
    assert len(delivered) == 1 and Path(delivered[0]).exists()
    assert "nightly_refresh FAILURE (run r1)" in caplog.text


def test_an_unreachable_webhook_does_not_lose_the_alert(tmp_path):
    from orchestration.alerts import Alert, send_alert

    alert = Alert("r2", "nightly_refresh", "FAILURE", "boom", [], "now")
    delivered = send_alert(alert, AlertChannels(webhook_url="http://127.0.0.1:9/none"), tmp_path)
    assert delivered == [str(next(tmp_path.glob("*_r2.json")))]


def test_sensors_are_registered_and_on_by_default():
    from orchestration.definitions import defs

    for name in ("landing_zone_sensor", "nightly_refresh_failure_alert"):
        sensor = defs().resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
