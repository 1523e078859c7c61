"""One ingestion asset per landing entity (SPEC §3), each writing `raw.<entity>`."""

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.landing import LandingError
from orchestration.ingest.loader import FileRejected, LoadResult, ensure_tables, load_entity
from orchestration.ingest.settle import mirror_pending
from orchestration.names import (
    BUILD_DATABASE,
    DATA_PLATFORM,
    WRITER_POOL,
    raw_key,
    raw_upstream,
    seeds_dir_of,
)
from orchestration.quality.session import import_gx_in_background
from orchestration.warehouse.build_db import check_build_db
from orchestration.warehouse.resources import Warehouse
from orchestration.warehouse.spark_mirror import mirror_ingested

_DESCRIPTIONS = {
    "partners": "Partner master data from the PRM/CRM extracts, upserted by partner_id.",
    "deals": "Deals and deal registrations (partner and direct), upserted by deal_id.",
    "certifications": "Certified individuals per partner and track, upserted by certification_id.",
    "incentives": "Incentive lines (MDF, rebates, SPIFFs, ...), upserted by incentive_id.",
}


def _schema(entity: Entity) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.sql_type.lower(),
                description=("required" if c.required else None),
            )
            for c in entity.columns
        ]
    )


@dg.asset(
    key=BUILD_DATABASE,
    group_name="ingest",
    kinds={"duckdb"},
    owners=[DATA_PLATFORM],
    pool=WRITER_POOL,
    description=(
        "The build database (`build.duckdb`), checked before anything writes to it: waits for "
        "another writer's lock, and if the file is damaged moves it aside and lets this run "
        "rebuild the warehouse from the landing zone (every landing file is then loaded again)."
    ),
)
def build_database(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    settings = warehouse.settings()
    # the quality gates come right after ingestion: have GX imported by then. Not on Spark:
    # GX imports pyspark too, and the ingestion step importing it at the same time failed with
    # "cannot import name 'SQLContext' from partially initialized module 'pyspark.sql'"; a
    # Spark ingestion takes long enough that the 3 s import does not matter.
    if settings.engine != "spark":
        import_gx_in_background()
    result = check_build_db(settings, log=context.log.warning)
    metadata: dict[str, object] = {
        "path": dg.MetadataValue.path(str(settings.build_db)),
        "rebuilt_from_landing_zone": result.rebuilt,
        "waited_for_lock_seconds": round(result.waited_seconds, 1),
    }
    if result.rebuilt:
        metadata["damage"] = result.reason
        metadata["damaged_file_kept_at"] = dg.MetadataValue.path(str(result.moved_to))
        context.log.warning(
            f"build database was damaged and is being rebuilt from {settings.landing_dir}"
        )
    return dg.MaterializeResult(metadata=metadata)


def ingest_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(entity.name),
        group_name="ingest",
        kinds={"duckdb", "csv", "parquet"},
        owners=[DATA_PLATFORM],
        deps=[BUILD_DATABASE, *raw_upstream(entity)],
        pool=WRITER_POOL,
        description=(
            f"{_DESCRIPTIONS[entity.name]} Loads the new files of `<landing>/{entity.name}/` "
            "(each file once, by name and content hash). Rows that break a rule go to "
            "`audit.rejected_rows`; a file that cannot be loaded fails the run and loads nothing."
        ),
        metadata={
            "dagster/column_schema": _schema(entity),
            "dagster/table_name": f"raw.{entity.name}",
        },
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: Warehouse, dbt: DbtCliResource
    ) -> dg.MaterializeResult:
        settings = warehouse.settings()
        try:
            result = _load(context, warehouse, entity, seeds_dir_of(dbt.project_dir))
        except LandingError as exc:
            raise dg.Failure(
                description=(
                    f"the landing zone cannot be read for {entity.name}; nothing was loaded and "
                    f"raw.{entity.name} is unchanged.\n" + str(exc)
                ),
                metadata={"landing_problems": dg.MetadataValue.json(exc.problems)},
                allow_retries=False,
            ) from None
        except FileRejected as exc:
            raise dg.Failure(
                description=(
                    f"{len(exc.problems)} {entity.name} file(s) rejected; nothing of this "
                    f"batch was loaded and raw.{entity.name} is unchanged.\n" + str(exc)
                ),
                metadata={"rejected_files": dg.MetadataValue.json(exc.problems)},
                allow_retries=False,
            ) from None
        not_loaded = [
            *(f"folder {f} is not an entity" for f in result.unknown_folders),
            *(
                f"{f} is not a supported extract (*.csv, *.parquet)"
                for f in result.unsupported_files
            ),
            *(f"{f} is still being written (skipped)" for f in result.in_progress),
        ]
        for line in not_loaded:
            context.log.warning(f"landing zone {settings.landing_dir}: {line}; not loaded")
        if settings.engine == "spark":
            context.log.info(f"raw.{entity.name} on Spark: {settings.spark_dir / 'raw'}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.table_rows,
                "files_loaded": dg.MetadataValue.json([f.file_name for f in result.files]),
                "files_already_loaded": len(result.skipped),
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "rows_upserted": result.rows_upserted,
                "reject_reasons": dg.MetadataValue.json(result.reject_reasons),
                "landing_unknown_folders": dg.MetadataValue.json(result.unknown_folders),
                "unsupported_files": dg.MetadataValue.json(result.unsupported_files),
                "in_progress_files_skipped": dg.MetadataValue.json(result.in_progress),
            }
        )

    return _ingest


def _load(
    context: dg.AssetExecutionContext, warehouse: Warehouse, entity: Entity, seeds_dir: Path
) -> LoadResult:
    """Load the entity's new files on the configured engine (PSW_ENGINE)."""
    settings = warehouse.settings()
    if settings.engine == "spark":
        # imported here: pyspark is the optional `spark` extra
        from orchestration.ingest.spark_loader import load_entity_spark
        from orchestration.warehouse.spark import get_spark

        result = load_entity_spark(
            get_spark(settings.spark_dir),
            entity,
            settings.landing_dir,
            seeds_dir,
            settings.spark_dir,
            run_id=context.run_id,
            log=context.log.info,
        )
        # the quality gates and publish read raw.* and audit.* from build.duckdb: point them
        # at the Parquet Spark wrote (empty typed tables until Spark has written any)
        with warehouse.connect() as con:
            ensure_tables(con, list(ENTITIES.values()))
            mirror_ingested(con, settings, entity.name)
            mirror_pending(con, settings, entity, context.run_id)
        return result
    with warehouse.connect() as con:
        return load_entity(
            con,
            entity,
            settings.landing_dir,
            seeds_dir,
            run_id=context.run_id,
            log=context.log.info,
        )


ingest_assets = [build_database, *(ingest_asset(entity) for entity in ENTITIES.values())]
