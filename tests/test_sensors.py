"""The landing-zone sensor and the failure alert, evaluated by Dagster against real files, a
real failed run and a real HTTP endpoint."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest

from orchestration.alerts import AlertChannels
from orchestration.defs.sensors import failure_alert, landing_zone_sensor
from orchestration.resources import Warehouse


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


def test_a_failed_run_sends_an_alert_to_the_webhook_and_writes_a_file(tmp_path, webhook):
    url, received = webhook
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="nightly_refresh_failure_alert",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources={
                "alerts": AlertChannels(webhook_url=url),
                "warehouse": Warehouse(warehouse_dir=str(tmp_path / "wh")),
            },
        ).for_run_failure()
        failure_alert(context)
    assert len(received) == 1
    body = received[0]
    assert body["run_id"] == result.run_id
    assert body["status"] == "FAILURE"
    assert any("missing required column 'stage'" in f for f in body["failures"])
    assert "BI still shows the last good refresh" in body["text"]
    files = list((tmp_path / "wh" / "alerts").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["run_id"] == result.run_id


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
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
