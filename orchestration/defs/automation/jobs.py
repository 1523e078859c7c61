"""The nightly refresh job and its schedule."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from orchestration.names import HISTORY_JOB, HISTORY_PARTITIONS, NIGHTLY_JOB, STRATEGY_HISTORY

nightly_refresh = dg.define_asset_job(
    name=NIGHTLY_JOB,
    # the partitioned history is computed by dbt with the other models (its partition D is
    # recorded by publish); the asset itself runs in backfills only
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(STRATEGY_HISTORY),
    description=(
        "Load the new landing files, build and test every dbt model, run the quality gates, "
        "and publish the marts if everything passed."
    ),
    # One process, steps in order: the steps share one DuckDB file that allows one writer, so
    # parallel step processes would only wait for each other and pay 2-6 s start-up each.
    executor_def=dg.in_process_executor,
    tags={
        # deploy/dagster.yaml queues runs with this tag one at a time
        "psw/writer": "build.duckdb",
        # a run retry (dagster.yaml run_retries: a crashed run, once) is the whole refresh
        # again, from its first step: the build database check that recovers what the crash
        # left, as the next night would. Every step is safe to repeat (a file loads once).
        "dagster/retry_strategy": "ALL_STEPS",
    },
)


strategy_history_backfill = dg.define_asset_job(
    name=HISTORY_JOB,
    selection=dg.AssetSelection.assets(STRATEGY_HISTORY),
    partitions_def=HISTORY_PARTITIONS,
    description=(
        "Compute and publish the strategy history of a range of as-of dates in one run "
        "(`psw history --from A --to B`, or a backfill of history/strategy_history in the UI)."
    ),
    executor_def=dg.in_process_executor,
    tags={"psw/writer": "build.duckdb"},
)


def schedule_timezone() -> str:
    name = os.environ.get("PSW_TIMEZONE", "UTC") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"PSW_TIMEZONE={name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from exc
    return name


nightly_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone=schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs nightly_refresh at 02:00 in PSW_TIMEZONE (default UTC).",
)
