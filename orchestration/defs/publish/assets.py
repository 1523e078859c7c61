"""The publish asset: marts and audit tables to serving.duckdb and Parquet, switched as one."""

import dagster as dg

from orchestration.names import (
    BUILD_DATABASE,
    CHANNEL_STRATEGY,
    NIGHTLY_FRESHNESS,
    RAW_KEYS,
    SERVING_WAREHOUSE,
    STRATEGY_HISTORY,
    WRITER_POOL,
    dbt_asset_keys,
    history_start,
)
from orchestration.publish.serving import publish
from orchestration.warehouse.resources import Warehouse

MART_KEYS = [key for key in dbt_asset_keys() if key.path[0] == "marts"]


@dg.asset(
    key=SERVING_WAREHOUSE,
    group_name="publish",
    kinds={"duckdb", "parquet"},
    owners=[CHANNEL_STRATEGY],
    deps=[*MART_KEYS, BUILD_DATABASE, *RAW_KEYS],
    pool=WRITER_POOL,
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "What BI reads: `serving.duckdb` (schemas `marts` and `audit`) and one Parquet file per "
        "mart under `exports/`. Runs only after every upstream asset and blocking check "
        "succeeded. Writes a new publish folder `publishes/<time>-<token>/` and then switches "
        "the symlink `current` to it in one rename; `serving.duckdb` and `exports/` are "
        "symlinks through `current`, so readers see the whole previous publish or the whole "
        "new one, and a failed run leaves yesterday's files untouched. Then builds the static "
        "strategy report `report/index.html` from the new serving file."
    ),
)
def serving_warehouse(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings()
    result = publish(settings, run_id=context.run_id)
    context.log.info(
        f"published {len(result.marts)} marts to {result.serving_db} and "
        f"{len(result.exports)} Parquet files to {settings.exports_dir} "
        f"(publish {result.publish_id})"
    )
    # From the file just swapped in; a report that cannot be built fails the step (a bug).
    # Imported here: altair and the Vega bundle need not load with the code location.
    from orchestration.report import build_report

    report = build_report(result.serving_db, settings.warehouse_dir / "report")
    context.log.info(f"wrote the strategy report {report}")
    d = settings.as_of_date.isoformat()
    if d >= history_start():
        # dbt computed the history of D with the other models: partition D of the history
        context.log_event(
            dg.AssetMaterialization(
                asset_key=STRATEGY_HISTORY,
                partition=d,
                description=f"the history of {d}, computed and published by the nightly refresh",
                metadata={"publish_id": result.publish_id, "as_of_date": d},
            )
        )
    return dg.MaterializeResult(
        metadata={
            "serving_db": dg.MetadataValue.path(str(result.serving_db)),
            "exports_dir": dg.MetadataValue.path(str(settings.exports_dir)),
            "publish_id": result.publish_id,
            "publish_folder": dg.MetadataValue.path(str(result.folder)),
            "report": dg.MetadataValue.path(str(report)),
            "report_url": dg.MetadataValue.url(report.resolve().as_uri()),
            "as_of_date": settings.as_of_date.isoformat(),
            "mart_rows": dg.MetadataValue.json(result.marts),
            "audit_rows": dg.MetadataValue.json(result.audit),
            "dagster/row_count": sum(result.marts.values()),
        }
    )
