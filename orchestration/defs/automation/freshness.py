"""The alert for the nights that did not run: a missed schedule, a stopped daemon, a machine
that was off. The failure alert cannot see those (there is no failed run), so this sensor looks
at what BI reads: the publish time in the serving file's audit.publish_log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg

from orchestration.alerts import Alert, AlertChannels, now_iso, send_alert, serving_state
from orchestration.names import FRESHNESS_FAIL_WINDOW, NIGHTLY_JOB
from orchestration.warehouse.resources import Warehouse

STALE_KIND = "stale_serving"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


@dg.sensor(
    name="serving_freshness_alert",
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Sends one alert per stale period when the serving file's last publish is older than "
        f"the freshness window ({_hours(FRESHNESS_FAIL_WINDOW.total_seconds())}): through the "
        "same channels as the failure alert (a file under <warehouse>/alerts/ and a log line, "
        "plus the webhook and Slack when set)."
    ),
)
def serving_freshness_alert(
    context: dg.SensorEvaluationContext, alerts: AlertChannels, warehouse: Warehouse
) -> dg.SkipReason:
    settings = warehouse.settings()
    state = serving_state(settings.serving_db)
    if state is None:
        return dg.SkipReason(f"{settings.serving_db} does not exist: nothing published yet")
    if state.error or state.published_at is None:
        # a file BI cannot read is stale for BI; one alert until it changes
        period = f"unreadable:{state.error}"
        message = (
            f"{state.describe()}: BI cannot read the published marts. Run `psw refresh` (or "
            "nightly_refresh in the UI) to publish again, and check the warehouse folder."
        )
    else:
        age = datetime.now(UTC) - state.published_at
        if age <= FRESHNESS_FAIL_WINDOW:
            return dg.SkipReason(f"fresh: published {_hours(age.total_seconds())} ago")
        period = f"{state.run_id}@{state.published_at.isoformat()}"
        message = (
            f"The serving file is {_hours(age.total_seconds())} old, over the "
            f"{_hours(FRESHNESS_FAIL_WINDOW.total_seconds())} freshness window: no refresh has "
            "published since. Check that the Dagster daemon is running, that "
            "nightly_refresh_schedule is on, and the last nightly_refresh runs in the UI."
        )
    alerted = json.loads(context.cursor).get("alerted") if context.cursor else None
    if alerted == period:
        return dg.SkipReason("stale, and already alerted for this publish")
    alert = Alert(
        run_id=state.run_id or "",
        job_name=NIGHTLY_JOB,
        status="STALE",
        message=message,
        failures=[],
        at=now_iso(),
        published="" if state.error else f"BI reads {state.describe()}.",
        kind=STALE_KIND,
    )
    delivered = send_alert(alert, alerts, settings.warehouse_dir / "alerts")
    context.update_cursor(json.dumps({"alerted": period}))
    return dg.SkipReason(f"stale: alert delivered to {', '.join(delivered)}")
