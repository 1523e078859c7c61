"""`psw status`: the last refresh, its checks, the freshness of each mart, the rejects, and what
the landing zone holds that a load would not read (orchestration/ingest/landing.py)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO

import dagster as dg

from orchestration.cli.run_errors import root_message
from orchestration.cli.serving_file import open_serving
from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.landing import scan_landing
from orchestration.names import NIGHTLY_JOB
from orchestration.settings import Settings

STALE_AFTER_HOURS = 26  # the marts' freshness policy fails after 26 hours


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def last_run_lines(instance: dg.DagsterInstance) -> list[str]:
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=NIGHTLY_JOB), limit=1, order_by="create_timestamp"
    )
    if not records:
        return ["last run: none recorded in this Dagster instance"]
    record = records[0]
    run = record.dagster_run
    lines = [
        f"last run: {run.run_id}  {run.status.value}  started {_when(record.start_time)}  "
        f"ended {_when(record.end_time)}"
        + (
            f"  ({record.end_time - record.start_time:.0f} s)"
            if record.end_time and record.start_time
            else ""
        )
    ]
    failed, passed = [], 0
    for entry in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records:
        event = entry.event_log_entry.dagster_event
        if event is None:
            continue
        evaluation = event.event_specific_data
        if evaluation.passed:
            passed += 1
        else:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    lines.append(f"checks: {passed} passed, {len(failed)} failed")
    lines += [f"  FAILED {name}" for name in failed[:20]]
    for step in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE, limit=100
    ).records:
        event = step.event_log_entry.dagster_event
        message = root_message(event.step_failure_data.error if event else None)
        message = message.splitlines()[0]
        lines.append(f"  step {step.event_log_entry.step_key} failed: {message}")
    return lines


def freshness_lines(instance: dg.DagsterInstance, marts: list[str]) -> list[str]:
    now = time.time()
    lines = ["marts (last materialized, age):"]
    for mart in marts:
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", mart]))
        if event is None:
            lines.append(f"  {mart:<32} never")
            continue
        age = now - event.timestamp
        flag = "  STALE" if age > STALE_AFTER_HOURS * 3600 else ""
        lines.append(f"  {mart:<32} {_when(event.timestamp)}  {_age(age)}{flag}")
    return lines


def serving_lines(settings: Settings) -> tuple[list[str], list[str]]:
    """Published marts and reject counts from the serving file (as BI sees them)."""
    if not settings.serving_db.exists():
        return [], [f"serving file: {settings.serving_db} (not published yet)"]
    with open_serving(settings) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        published = con.execute(
            "select run_id, as_of_date, published_at from audit.publish_log"
        ).fetchone()
        rejects = con.execute(
            "select entity, split_part(reason, ':', 1) as rule, count(*) "
            "from audit.rejected_rows group by all order by 1, 3 desc"
        ).fetchall()
    lines = [f"serving file: {settings.serving_db}"]
    if published:
        lines.append(
            f"  published by run {published[0]} as of {published[1]} at {published[2]} UTC"
        )
    lines.append(f"rejected rows (published): {sum(r[2] for r in rejects):,}")
    lines += [f"  {entity:<15} {rule:<28} {count:>10,}" for entity, rule, count in rejects]
    return marts, lines


def print_status(settings: Settings, stream: TextIO = sys.stdout) -> int:
    marts, serving = serving_lines(settings)
    with dg.DagsterInstance.get() as instance:
        lines = last_run_lines(instance)
        if marts:
            lines += freshness_lines(instance, marts)
    landing = scan_landing(settings.landing_dir, ENTITIES).lines()
    for line in [*lines, *serving, *landing]:
        print(line, file=stream)
    return 0
