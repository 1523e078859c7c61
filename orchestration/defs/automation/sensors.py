"""Sensors: start a refresh when new landing files have settled; alert when a refresh fails
(the alert when no refresh happened at all is in freshness.py)."""

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg

from orchestration.alerts import Alert, AlertChannels, now_iso, publish_statement, send_alert
from orchestration.cli.refresh import WILL_RETRY_TAG
from orchestration.cli.run_errors import root_message
from orchestration.defs.automation.jobs import nightly_refresh
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.landing import scan_landing
from orchestration.warehouse.resources import Warehouse

SETTLE_ENV = "PSW_LANDING_SETTLE_SECONDS"


def scan(landing_dir: Path) -> dict[str, list[int]]:
    """Every extract file that a load would read (relative path; the loaders' discovery rules,
    orchestration/ingest/landing.py) with its size and modification time (ns)."""
    found: dict[str, list[int]] = {}
    result = scan_landing(landing_dir, ENTITIES)
    for files in result.files.values():
        for path in files:
            stat = path.stat()
            found[str(path.relative_to(landing_dir))] = [stat.st_size, stat.st_mtime_ns]
    return found


def settled_new_files(
    cursor: dict, snapshot: dict[str, list[int]], now_ns: int, settle_seconds: float
) -> dict[str, list[int]]:
    """Files that are the same as at the previous tick and older than `settle_seconds` (so no
    one is still writing them), and that no run was requested for in this state yet."""
    seen = cursor.get("seen", {})
    requested = cursor.get("requested", {})
    settle_ns = int(settle_seconds * 1e9)
    return {
        name: sig
        for name, sig in snapshot.items()
        if seen.get(name) == sig and now_ns - sig[1] >= settle_ns and requested.get(name) != sig
    }


@dg.sensor(
    job=nightly_refresh,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts nightly_refresh when new or changed files in the landing zone have stopped "
        f"changing (same size and time on two ticks and older than {SETTLE_ENV}, default 60 s). "
        "Files already loaded are never loaded twice, so an extra run is harmless."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    settings = warehouse.settings()
    cursor = json.loads(context.cursor) if context.cursor else {}
    snapshot = scan(settings.landing_dir)
    settle = float(os.environ.get(SETTLE_ENV, "60"))
    new = settled_new_files(cursor, snapshot, time.time_ns(), settle)
    requested = {**cursor.get("requested", {}), **new}
    context.update_cursor(json.dumps({"seen": snapshot, "requested": requested}))
    if not new:
        return dg.SkipReason(f"no settled new files in {settings.landing_dir}")
    key = hashlib.sha256(json.dumps(sorted(new.items())).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"landing-{key}",
        tags={"psw/trigger": "landing files", "psw/files": str(len(new))},
    )


def _failures(context: dg.RunFailureSensorContext) -> list[str]:
    out = []
    for event in context.get_step_failure_events():
        out.append(f"{event.step_key}: {root_message(event.step_failure_data.error)}")
    return out


@dg.run_failure_sensor(
    name="nightly_refresh_failure_alert",
    monitored_jobs=[nightly_refresh],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Sends an alert when nightly_refresh fails or is blocked by a quality gate: a file under "
        "<warehouse>/alerts/ and a log line always, plus PSW_ALERT_WEBHOOK_URL (JSON POST) and "
        "Slack (PSW_SLACK_BOT_TOKEN, PSW_SLACK_CHANNEL) when set."
    ),
)
def failure_alert(
    context: dg.RunFailureSensorContext, alerts: AlertChannels, warehouse: Warehouse
) -> None:
    # read again: Dagster tags the failed run with its retry decision after the failure event
    run = context.instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run
    settings = warehouse.settings()
    message = (context.failure_event.message or "The run failed.").strip()
    if run.tags.get(WILL_RETRY_TAG) == "true":
        message = message.rstrip(".") + (
            ". It did not fail in a step (a crash, not the data): Dagster retries it once."
        )
    alert = Alert(
        run_id=run.run_id,
        job_name=run.job_name,
        status=run.status.value,
        message=message,
        failures=_failures(context),
        at=now_iso(),
        published=publish_statement(context.instance, run.run_id, settings.serving_db),
    )
    delivered = send_alert(alert, alerts, settings.warehouse_dir / "alerts")
    context.log.info(f"alert for run {run.run_id} delivered to: {', '.join(delivered)}")
