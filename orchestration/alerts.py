"""Telling people that a refresh failed or that the published data went stale: a file and a log
line always, plus a webhook and/or Slack when configured. Credentials come from the environment
through dg.EnvVar, never from code or config files, and are never logged.

Every alert says what BI reads now: the publish recorded in the serving file itself
(`audit.publish_log`), read through its public path `Settings.serving_db`."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

log = logging.getLogger("psw.alerts")

WEBHOOK_ENV = "PSW_ALERT_WEBHOOK_URL"
SLACK_TOKEN_ENV = "PSW_SLACK_BOT_TOKEN"
SLACK_CHANNEL_ENV = "PSW_SLACK_CHANNEL"

# The publish asset (orchestration/defs/publish/assets.py); tests/test_sensors.py checks they agree.
PUBLISH_ASSET_KEY = dg.AssetKey(["publish", "serving_warehouse"])


@dataclass
class Alert:
    run_id: str
    job_name: str
    status: str
    message: str
    failures: list[str]
    at: str
    # what this run published, and which publish BI reads now (publish_statement)
    published: str = ""
    kind: str = "run_failure"

    def text(self) -> str:
        title = f"Partner Strategy Warehouse: {self.job_name} {self.status}"
        lines = [f"{title} (run {self.run_id})" if self.run_id else title]
        lines.append(self.message)
        lines += [f"- {f}" for f in self.failures[:10]]
        if self.published:
            lines.append(self.published)
        return "\n".join(lines)


@dataclass(frozen=True)
class ServingState:
    """The publish that BI reads: the last row of the serving file's audit.publish_log."""

    path: Path
    run_id: str | None = None
    as_of_date: str | None = None
    published_at: datetime | None = None  # UTC
    error: str | None = None  # why the file could not be read (an exception class, no values)

    def describe(self) -> str:
        if self.error:
            return f"the serving file {self.path} could not be read ({self.error})"
        stamp = self.published_at.strftime("%Y-%m-%d %H:%M") if self.published_at else "?"
        return f"the publish of run {self.run_id} (as of {self.as_of_date}, published {stamp} UTC)"


def serving_state(serving_db: Path) -> ServingState | None:
    """What the serving file at `serving_db` holds; None when nothing was published yet."""
    if not serving_db.exists():
        return None
    try:
        con = duckdb.connect(str(serving_db), read_only=True)
        try:
            row = con.execute(
                "select run_id, cast(as_of_date as varchar), published_at "
                "from audit.publish_log order by published_at desc limit 1"
            ).fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        return ServingState(serving_db, error=exc.__class__.__name__)
    if row is None:
        return ServingState(serving_db, error="audit.publish_log is empty")
    published_at = row[2].replace(tzinfo=UTC) if row[2] is not None else None
    return ServingState(serving_db, run_id=row[0], as_of_date=row[1], published_at=published_at)


def run_published(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run recorded a materialization of the publish asset."""
    cursor = None
    while True:
        page = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=500
        )
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.asset_key == PUBLISH_ASSET_KEY:
                return True
        if not page.has_more:
            return False
        cursor = page.cursor


def publish_statement(instance: dg.DagsterInstance, run_id: str, serving_db: Path) -> str:
    """One sentence for a failed run: did it publish, and which publish does BI read now."""
    published = run_published(instance, run_id)
    state = serving_state(serving_db)
    if state is None:
        return (
            "This run did not publish, and nothing has been published yet: "
            f"there is no serving file at {serving_db}."
        )
    now = state.describe()
    if state.error:
        did = "published" if published else "did not publish"
        return f"This run {did}; {now}: check it before BI reads it."
    if state.run_id == run_id:
        if published:
            return (
                "This run published before it failed: BI reads this run's serving file and "
                f"exports, {now}."
            )
        return (
            "This run replaced the serving file before it stopped, but did not record the "
            f"publish: BI reads this run's data, {now}."
        )
    if published:
        return f"This run published, but BI now reads {now}."
    return f"This run did not publish: BI still reads the serving file and exports of {now}."


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go besides the alert file. Empty means not configured."""

    webhook_url: str = ""
    slack_token: str = ""
    slack_channel: str = ""


def alert_channels() -> AlertChannels:
    """Channels from the environment: each set variable is passed as a dg.EnvVar, so the UI shows
    its name, not its value."""
    return AlertChannels(
        webhook_url=dg.EnvVar(WEBHOOK_ENV) if os.environ.get(WEBHOOK_ENV) else "",
        slack_token=dg.EnvVar(SLACK_TOKEN_ENV) if os.environ.get(SLACK_TOKEN_ENV) else "",
        slack_channel=os.environ.get(SLACK_CHANNEL_ENV, ""),
    )


def send_alert(alert: Alert, channels: AlertChannels, alerts_dir: Path) -> list[str]:
    """Deliver `alert`; returns where it went. A channel that fails is logged, not raised:
    the alert file is always written first."""
    alerts_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = alert.run_id if alert.kind == "run_failure" else f"{alert.kind}_{alert.run_id}"
    path = alerts_dir / f"{stamp}_{name}.json"
    path.write_text(json.dumps(asdict(alert), indent=2))
    delivered = [str(path)]
    log.error(alert.text())
    if channels.webhook_url:
        body = json.dumps({"text": alert.text(), **asdict(alert)}).encode()
        request = urllib.request.Request(
            channels.webhook_url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            delivered.append("webhook")
        except OSError as exc:
            log.warning(f"alert webhook failed: {exc.__class__.__name__}")
    if channels.slack_token and channels.slack_channel:
        from dagster_slack import SlackResource

        try:
            client = SlackResource(token=channels.slack_token).get_client()
            client.chat_postMessage(channel=channels.slack_channel, text=alert.text())
            delivered.append("slack")
        except Exception as exc:  # any Slack error must not hide the alert
            log.warning(f"alert to Slack failed: {exc.__class__.__name__}")
    return delivered


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
