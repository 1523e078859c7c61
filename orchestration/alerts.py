"""Telling people that a refresh failed: a file and a log line always, plus a webhook and/or
Slack when configured. Credentials come from the environment through dg.EnvVar, never from
code or config files, and are never logged."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

log = logging.getLogger("psw.alerts")

WEBHOOK_ENV = "PSW_ALERT_WEBHOOK_URL"
SLACK_TOKEN_ENV = "PSW_SLACK_BOT_TOKEN"
SLACK_CHANNEL_ENV = "PSW_SLACK_CHANNEL"


@dataclass
class Alert:
    run_id: str
    job_name: str
    status: str
    message: str
    failures: list[str]
    at: str

    def text(self) -> str:
        lines = [f"Partner Strategy Warehouse: {self.job_name} {self.status} (run {self.run_id})"]
        lines.append(self.message)
        lines += [f"- {f}" for f in self.failures[:10]]
        lines.append(
            "The serving file and exports were not replaced: BI still shows the last good refresh."
        )
        return "\n".join(lines)


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
    path = alerts_dir / f"{stamp}_{alert.run_id}.json"
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
