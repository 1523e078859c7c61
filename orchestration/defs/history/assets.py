"""The strategy history as an asset partitioned by as-of date (docs/contract.md §10).

Partition P holds the rows of `mart_strategy_history` and `mart_partner_type_history` for P,
computed from the source versions current at the end of P. The nightly refresh computes its D
with every other model and publishes it; its publish step records partition D of this asset.
A backfill of any range of partitions, from the UI or `psw history --from A --to B`, is one run
(a single-run backfill policy): one `dbt build` of the history models with the range as
`history_from`/`history_to` (one set-based pass over the range), the history marts' Great
Expectations suites as blocking checks, then a publish of the two history marts, every other
mart staying as the last publish has it.
"""

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.names import (
    BUILD_DATABASE,
    CHANNEL_STRATEGY,
    HISTORY_PARTITIONS,
    RAW_KEYS,
    STRATEGY_HISTORY,
    WRITER_POOL,
    seeds_dir_of,
)
from orchestration.publish.serving import publish
from orchestration.quality.check_results import check_result
from orchestration.quality.gate import Target, run_gate
from orchestration.quality.parameters import gate_parameters
from orchestration.quality.suites import load_suites
from orchestration.settings import EXPECTATIONS_DIR, Settings, environment
from orchestration.warehouse.dbt_project import manifest_path
from orchestration.warehouse.history_changes import HISTORY_MARTS, compare, stored_history
from orchestration.warehouse.resources import Warehouse

# the dbt models of the history (config tags in dbt_project/models)
HISTORY_TAG = "history"
HISTORY_TARGETS = [
    Target(suite, guard_key)
    for suite in load_suites(EXPECTATIONS_DIR)
    for guard_key in ("/".join(guard) for guard in suite.guards)
    if guard_key in {f"marts/{mart}" for mart in HISTORY_MARTS}
]
# the dbt log lines that say a node finished, shown as the run's progress
_PROGRESS_EVENTS = {"LogModelResult", "LogTestResult", "LogNodeResult"}


def backfill_settings(settings: Settings, first: date, last: date) -> Settings:
    """The settings of a backfill of [first, last]: refused past the warehouse's as-of date
    (the sources of a later date are not known yet)."""
    if first > last:
        raise ValueError(f"history range: {first} is after {last}")
    if last > settings.as_of_date:
        raise ValueError(
            f"history range ends on {last}, after the as-of date {settings.as_of_date}: the "
            "sources are not known yet on a later date (set PSW_AS_OF_DATE to compute it)"
        )
    return dataclasses.replace(settings, history_from=first, history_to=last)


def _range(context: dg.AssetExecutionContext) -> tuple[date, date]:
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: Settings) -> None:
    """`dbt build` of the history models and their tests, its progress in the run's log."""
    args = ["build", "--select", f"tag:{HISTORY_TAG}", "--exclude-resource-type", "unit_test"]
    args += ["--log-path", str(settings.warehouse_dir / "dbt_logs")]
    args += ["--log-level-file", settings.dbt_log_file_level]
    with environment(settings.dbt_env()):
        invocation = dbt.cli(
            args,
            raise_on_error=False,
            manifest=manifest_path(),
            target_path=settings.warehouse_dir / "dbt_target",
        )
        for event in invocation.stream_raw_events():
            info = event.raw_event.get("info", {})
            if info.get("name") in _PROGRESS_EVENTS:
                context.log.info(info.get("msg", ""))
        invocation.wait()
    if not invocation.is_successful():
        error = invocation.get_error()
        raise dg.Failure(
            description=f"dbt build of the history failed: {error}",
            allow_retries=False,
        )


@dg.asset(
    key=STRATEGY_HISTORY,
    partitions_def=HISTORY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="history",
    kinds={"dbt", "duckdb", "parquet"},
    owners=[CHANNEL_STRATEGY],
    deps=[BUILD_DATABASE, *RAW_KEYS],
    pool=WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            name=target.suite.check_name,
            asset=STRATEGY_HISTORY,
            blocking=True,
            description=(target.suite.notes or "")
            + f" Great Expectations suite {target.suite.path.name}; critical expectations "
            "block the backfill's publish.",
        )
        for target in HISTORY_TARGETS
    ],
    description=(
        "The strategy history, one partition per as-of date P: the rows of "
        "`mart_strategy_history` and `mart_partner_type_history` for P, from the source "
        "versions current at the end of P. The nightly refresh adds its D. A backfill of a "
        "range is one run: dbt computes the range in one pass, the history suites gate it, "
        "and only the two history marts are published again (every other mart as the last "
        "publish has it)."
    ),
)
def strategy_history(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    first, last = _range(context)
    try:
        settings = backfill_settings(warehouse.settings(), first, last)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    if settings.engine != "duckdb":
        raise dg.Failure(
            description="a backfill of the history needs the DuckDB engine: on Spark the "
            "history marts hold the dates of the last nightly run only",
            allow_retries=False,
        )
    if not settings.build_db.exists():
        raise dg.Failure(
            description=f"{settings.build_db} does not exist: run the nightly refresh first",
            allow_retries=False,
        )
    days = (last - first).days + 1
    context.log.info(f"history of {first} to {last} ({days} dates) on {settings.build_db}")
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        before = stored_history(con, first, last)
    _run_dbt(context, dbt, settings)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        after = stored_history(con, first, last)
    changes = {mart: compare(before.get(mart, {}), after[mart]) for mart in HISTORY_MARTS}

    report = run_gate(
        settings.build_db,
        HISTORY_TARGETS,
        gate_parameters(settings, context.run.run_id, seeds_dir_of(dbt.project_dir)),
        settings.warehouse_dir,
        run_name=context.run.run_id,
        duckdb_config=settings.duckdb_config(),
    )
    for outcome in report.outcomes:
        yield check_result(outcome, report, asset_key=STRATEGY_HISTORY)
    if report.blocking:
        raise dg.Failure(
            description=report.failure_message("history quality gate"),
            allow_retries=False,
        )

    result = publish(settings, run_id=context.run.run_id, only=list(HISTORY_MARTS))
    context.log.info(
        f"published {', '.join(HISTORY_MARTS)} to {result.serving_db} (publish "
        f"{result.publish_id}); every other mart as the previous publish had it"
    )
    # imported here, as in the publish asset: altair need not load with the code location
    from orchestration.report import build_report

    report_path = build_report(result.serving_db, settings.warehouse_dir / "report")
    metadata: dict[str, Any] = {
        "history_from": first.isoformat(),
        "history_to": last.isoformat(),
        "publish_id": result.publish_id,
        "report": dg.MetadataValue.path(str(report_path)),
        "dagster/row_count": sum(result.marts[mart] for mart in HISTORY_MARTS),
    }
    for mart, change in changes.items():
        metadata.update({f"{mart}/{k}": v for k, v in change.metadata().items()})
    changed = sorted({d for change in changes.values() for d in change.changed})
    metadata["history_dates_changed"] = [d.isoformat() for d in changed]
    yield dg.MaterializeResult(asset_key=STRATEGY_HISTORY, metadata=metadata)
