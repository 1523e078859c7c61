"""The publish asset: marts and audit tables to serving.duckdb and Parquet, atomically."""

import dagster as dg

from orchestration.defs.dbt import CHANNEL_STRATEGY, dbt_models
from orchestration.defs.ingest import WRITER_POOL, ingest_assets
from orchestration.publish import publish
from orchestration.resources import Warehouse

MART_KEYS = sorted(
    (key for key in dbt_models.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
)
RAW_KEYS = [key for asset in ingest_assets for key in asset.keys]


@dg.asset(
    key=["publish", "serving_warehouse"],
    group_name="publish",
    kinds={"duckdb", "parquet"},
    owners=[CHANNEL_STRATEGY],
    deps=[*MART_KEYS, *RAW_KEYS],
    pool=WRITER_POOL,
    description=(
        "What BI reads: `serving.duckdb` (schemas `marts` and `audit`) and one Parquet file per "
        "mart under `exports/`. Runs only after every upstream asset and blocking check "
        "succeeded; replaces the files atomically (new file, then rename), so readers never "
        "see a partial state and a failed run leaves yesterday's files untouched."
    ),
)
def serving_warehouse(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings()
    result = publish(settings, run_id=context.run_id)
    context.log.info(
        f"published {len(result.marts)} marts to {result.serving_db} and "
        f"{len(result.exports)} Parquet files to {settings.exports_dir}"
    )
    return dg.MaterializeResult(
        metadata={
            "serving_db": dg.MetadataValue.path(str(result.serving_db)),
            "exports_dir": dg.MetadataValue.path(str(settings.exports_dir)),
            "as_of_date": settings.as_of_date.isoformat(),
            "mart_rows": dg.MetadataValue.json(result.marts),
            "audit_rows": dg.MetadataValue.json(result.audit),
            "dagster/row_count": sum(result.marts.values()),
        }
    )
