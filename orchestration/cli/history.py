"""`psw history --from A --to B`: the backfill of history/strategy_history for [A, B] as one
run of the strategy_history_backfill job, recorded in the Dagster instance like a single-run
backfill that the UI launches (the run carries Dagster's partition-range tags)."""

from __future__ import annotations

from datetime import date

import dagster as dg

from orchestration.cli.instance import ensure_dagster_env
from orchestration.cli.recovery import process_tags, recover_dead_runs
from orchestration.cli.refresh import (
    TRIGGER_TAG,
    RefreshOutcome,
    logger_config,
    outcome_from_instance,
)

# Dagster's tags of a run over a range of partitions (a single-run backfill's run carries them)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def history_job() -> dg.JobDefinition:
    ensure_dagster_env()
    from orchestration.definitions import defs
    from orchestration.names import HISTORY_JOB

    return defs().resolve_job_def(HISTORY_JOB)


def run_history(
    first: date,
    last: date,
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    instance: dg.DagsterInstance | None = None,
) -> RefreshOutcome:
    """Execute the backfill of [first, last] in this process, recorded in the instance.
    `resources` overrides the definitions' resources (tests point the warehouse elsewhere)."""
    job = history_job()
    partitions = job.partitions_def
    for day in (first, last):
        if partitions is not None and not partitions.has_partition_key(day.isoformat()):
            raise ValueError(
                f"{day} is not a partition of the history (from PSW_HISTORY_START, default "
                "2020-01-01, to today)"
            )
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    try:
        recovered = recover_dead_runs(instance)
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={
                TRIGGER_TAG: "psw history",
                RANGE_START_TAG: first.isoformat(),
                RANGE_END_TAG: last.isoformat(),
                **process_tags(),
            },
            run_config=logger_config(log_level),
            resources=resources,
        )
        outcome = outcome_from_instance(instance, result.run_id)
        outcome.materialized_unit = "partitions of history/strategy_history"
    finally:
        if owns_instance:
            instance.dispose()
    outcome.recovered_runs = recovered
    return outcome
