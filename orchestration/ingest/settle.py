"""After a raw gate: accept the pending loads of the entities whose checks passed, roll back
those of the entities whose checks blocked (pending.py). The raw gate (defs/quality) calls
`settle_pending_loads`; the ingestion (defs/ingest) calls `mirror_pending` on Spark."""

from collections.abc import Iterable, Iterator

import dagster as dg
import duckdb

from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.loader import ensure_tables
from orchestration.ingest.pending import accept, mark_pending, roll_back
from orchestration.settings import Settings
from orchestration.warehouse.resources import Warehouse


def settle_pending_loads(
    context: dg.AssetCheckExecutionContext,
    warehouse: Warehouse,
    entities: list[str],
    results: Iterable[dg.AssetCheckResult],
) -> Iterator[dg.AssetCheckResult]:
    """Pass on a raw gate's check results; then accept the pending loads of the entities whose
    checks did not block, and roll back those of the entities whose checks blocked (see
    pending.py). A gate that fails otherwise (an error before any result) leaves them pending:
    the next run's gate judges them."""
    seen: list[dg.AssetCheckResult] = []
    try:
        for result in results:
            seen.append(result)
            yield result
    except dg.Failure:
        _settle(context, warehouse, entities, seen)
        raise
    _settle(context, warehouse, entities, seen)


def _settle(
    context: dg.AssetCheckExecutionContext,
    warehouse: Warehouse,
    entities: list[str],
    results: list[dg.AssetCheckResult],
) -> None:
    settings = warehouse.settings()
    judged = {r.asset_key.path[-1] for r in results}
    blocked = {
        r.asset_key.path[-1]
        for r in results
        if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR
    }
    with warehouse.connect() as con:
        for name in entities:
            entity = ENTITIES[name]
            if settings.engine == "spark":
                _settle_spark(context, settings, con, entity, name in blocked, name in judged)
            elif name in blocked:
                files = roll_back(con, entity)
                if files:
                    context.log.warning(
                        f"raw gate blocked {name}: its pending loads were rolled back; the next "
                        f"run loads and judges these files again: {', '.join(files)}"
                    )
            elif name in judged:
                accept(con, entity)


def _settle_spark(
    context: dg.AssetCheckExecutionContext,
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    blocked: bool,
    judged: bool,
) -> None:
    """_settle on the Spark loader's Parquet tables; build.duckdb's audit.pending_loads (which
    the gate reads) follows them."""
    from orchestration.ingest.spark_loader import accept_spark, roll_back_spark

    if blocked:
        from orchestration.warehouse.spark import get_spark

        ids = roll_back_spark(get_spark(settings.spark_dir), settings.spark_dir, entity)
        if ids:
            context.log.warning(
                f"raw gate blocked {entity.name}: its pending loads were rolled back; the next "
                "run loads and judges their files again"
            )
    elif judged:
        accept_spark(settings.spark_dir, entity)
    else:
        return
    mirror_pending(con, settings, entity)


def mirror_pending(
    con: duckdb.DuckDBPyConnection, settings: Settings, entity: Entity, run_id: str | None = None
) -> None:
    """audit.pending_loads in build.duckdb for an entity that Spark loads."""
    from orchestration.ingest.spark_loader import pending_load_ids_spark

    ensure_tables(con, list(ENTITIES.values()))
    con.execute("delete from audit.pending_loads where entity = ?", [entity.name])
    for load_id in pending_load_ids_spark(settings.spark_dir, entity):
        mark_pending(con, entity, load_id, run_id)
