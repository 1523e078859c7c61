"""dbt models, seeds and tests as Dagster assets and asset checks."""

import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.names import (
    CHANNEL_STRATEGY,
    DATA_PLATFORM,
    NIGHTLY_FRESHNESS,
    WRITER_POOL,
    dbt_asset_key,
)
from orchestration.settings import environment
from orchestration.warehouse.dbt_project import manifest_path
from orchestration.warehouse.history_changes import (
    HISTORY_MARTS,
    Rows,
    compare,
    stored_history,
    stored_rows,
)
from orchestration.warehouse.resources import Warehouse
from orchestration.warehouse.spark_mirror import mirror_dbt_relations

# `make docs` serves dbt docs here; the UI links every dbt asset to its page.
DBT_DOCS_URL = "http://127.0.0.1:8080"
PREVIEW_ROWS = 5


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys `<layer>/<name>`, groups by layer, owners and kinds for the UI."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        kind = props["resource_type"]
        if kind == "source":
            return spec  # raw/<entity>: the ingestion assets
        key = dbt_asset_key(kind, props["fqn"], props["name"])
        layer = key.path[0]
        owner = CHANNEL_STRATEGY if layer in ("reference", "marts") else DATA_PLATFORM
        spec = spec.replace_attributes(
            key=key,
            group_name=layer,
            owners=[owner],
            kinds={"dbt", "duckdb"},
        )
        spec = spec.merge_attributes(
            metadata={"dbt docs": dg.MetadataValue.url(dbt_docs_url(unique_id))}
        )
        if layer == "marts":
            spec = spec.replace_attributes(freshness_policy=NIGHTLY_FRESHNESS)
        return spec


def dbt_docs_url(unique_id: str) -> str:
    """Where `make docs` serves a node's page (PSW_DBT_DOCS_URL overrides the base)."""
    base = os.environ.get("PSW_DBT_DOCS_URL", DBT_DOCS_URL).rstrip("/")
    kind = unique_id.split(".", 1)[0]
    return f"{base}/#!/{kind}/{unique_id}"


def with_table_metadata(
    events: Iterator[Any],
    manifest: Path,
    settings: Any,
    history_before: dict[str, Rows] | None = None,
) -> Iterator[Any]:
    """dbt's events, each model's and seed's Output with row count, column schema and docs link.

    The dbt process holds the build database for writing until it exits (DuckDB allows one
    writer and no reader beside it), so the Outputs are held back and enriched once dbt is done;
    the tests' results, dbt's log and the run's progress still stream as they come. A failing
    dbt build still records what it did build before the error is raised. `history_before`:
    each history mart's rows of the dates this refresh computes, as they were before dbt (the
    mart's output then says which dates were added and which changed).
    """
    held: list[dg.Output] = []
    failure: BaseException | None = None
    try:
        for event in events:
            if isinstance(event, dg.Output):
                held.append(event)
            else:
                yield event
    except Exception as exc:  # re-raised below, after the models that were built
        failure = exc
    if held and settings.engine == "spark":
        mirror_spark_outputs(held, manifest, settings)
    if held:
        yield from describe_outputs(held, manifest, settings, history_before)
    if failure is not None:
        raise failure


def stop_ingestion_spark() -> None:
    """Stop this process's Spark session (the ingestion's), if any: dbt starts its own, and two
    JVMs would share the machine's cores and memory for nothing."""
    if "pyspark.sql" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def _node_of(output: dg.Output, nodes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    unique_id = output.metadata.get("unique_id")
    return nodes.get(getattr(unique_id, "text", unique_id))


def mirror_spark_outputs(outputs: list[dg.Output], manifest_file: Path, settings: Any) -> None:
    """On Spark, views in build.duckdb over the Parquet of every table dbt built."""
    nodes = json.loads(manifest_file.read_text())["nodes"]
    relations = [
        (node["schema"], node["alias"])
        for node in (_node_of(output, nodes) for output in outputs)
        if node is not None
    ]
    with duckdb.connect(str(settings.build_db), config=settings.duckdb_config()) as con:
        mirror_dbt_relations(con, settings, relations)


def describe_outputs(
    outputs: list[dg.Output],
    manifest_file: Path,
    settings: Any,
    history_before: dict[str, Rows] | None = None,
) -> Iterator[dg.Output]:
    nodes = json.loads(manifest_file.read_text())["nodes"]
    described = [(output, _node_of(output, nodes)) for output in outputs]
    relations = [(node["schema"], node["alias"]) for _, node in described if node is not None]
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        # two queries for every table at once (one per table costs ≈ 1 s for 54 tables)
        columns = table_columns(con, relations)
        counts = row_counts(con, [r for r in relations if r in columns])
        for output, node in described:
            relation = None if node is None else (node["schema"], node["alias"])
            if relation not in columns:
                # (on Spark, staging views live only in dbt's session)
                yield output
                continue
            metadata = table_metadata(con, node, columns[relation], counts[relation])
            if node["name"] in HISTORY_MARTS and history_before is not None:
                after = stored_rows(con, node["name"], *settings.history_range)
                before = history_before.get(node["name"], {})
                metadata.update(compare(before, after).metadata())
            yield output.with_metadata({**output.metadata, **metadata})


def table_columns(
    con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(column, type) of each relation that exists, in order."""
    if not relations:
        return {}
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns "
        "where (table_schema, table_name) in (select unnest(?), unnest(?)) "
        "order by table_schema, table_name, ordinal_position",
        [[s for s, _ in relations], [n for _, n in relations]],
    ).fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, name, column, data_type in rows:
        out.setdefault((schema, name), []).append((column, data_type))
    return out


def row_counts(
    con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    if not relations:
        return {}
    union = " union all ".join(
        f"select {i} as i, count(*) as n from {_quoted(schema, name)}"
        for i, (schema, name) in enumerate(relations)
    )
    return {relations[i]: int(n) for i, n in con.execute(union).fetchall()}


def _quoted(schema: str, name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    node: Mapping[str, Any],
    columns: list[tuple[str, str]],
    row_count: int,
) -> dict[str, Any]:
    """Row count, column schema (types from DuckDB, descriptions from dbt) and, for marts, a
    Markdown preview of the first rows."""
    schema, name = node["schema"], node["alias"]
    documented = node.get("columns", {})
    metadata: dict[str, Any] = {
        "dagster/row_count": row_count,
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=column,
                    type=data_type,
                    description=documented.get(column, {}).get("description") or None,
                )
                for column, data_type in columns
            ]
        ),
        "dagster/relation_identifier": f"{schema}.{name}",
        "dbt docs": dg.MetadataValue.url(dbt_docs_url(node["unique_id"])),
    }
    if schema == "marts":
        preview = con.execute(f"select * from {_quoted(schema, name)} limit {PREVIEW_ROWS}").df()
        metadata["preview"] = dg.MetadataValue.md(preview.to_markdown(index=False))
    return metadata


def dbt_args(command: str, dbt_vars: Mapping[str, object]) -> list[str]:
    """The dbt command line of a refresh (a pure function, tested on its own)."""
    return [command, "--vars", json.dumps(dict(dbt_vars), sort_keys=True)]


@dbt_assets(
    manifest=manifest_path(),
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WRITER_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """Seeds, staging, intermediate and mart models with their dbt tests (`dbt build`)."""
    settings = warehouse.settings()
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    context.log.info(f"dbt build as of {settings.as_of_date} on {settings.build_db}")
    if settings.engine == "spark":
        # Spark's catalog lives only as long as dbt's session: each build writes its tables
        # afresh (the raw tables are registered from the ingestion's Parquet, macros/spark.sql)
        shutil.rmtree(settings.spark_dir / "tables", ignore_errors=True)
        stop_ingestion_spark()
        context.log.info(f"dbt build on Spark into {settings.spark_dir / 'tables'}")
    # A stable target path per warehouse lets dbt reuse its partial-parse state from one night
    # to the next (a new folder per invocation costs a full parse each time). It lives beside
    # the build database it describes: one dbt writes it at a time (the duckdb_writer pool),
    # and refreshes of other warehouses (tests, a second vendor) never share it. The manifest
    # the definitions load stays in dbt_project/target, prepared once by `make install`.
    target = settings.warehouse_dir / "dbt_target"
    # D and W reach dbt through the environment (see macros/dates.sql): unchanged command-line
    # vars keep dbt's partial parse valid from one night to the next.
    # The dbt unit tests (models/**/_unit_tests.yml) test the SQL, not the night's data: they
    # run in `make test-fast` / `make test` (orchestration/warehouse/dbt_unit.py), not in every
    # refresh.
    args = ["build", "--exclude-resource-type", "unit_test"]
    args += ["--log-path", str(settings.warehouse_dir / "dbt_logs")]
    args += ["--log-level-file", settings.dbt_log_file_level]
    # dagster-dbt hands the dbt subprocess a copy of this process's environment, where
    # profiles.yml reads the build database and DuckDB limits
    history_before = None
    if settings.engine == "duckdb" and settings.build_db.exists():
        with duckdb.connect(str(settings.build_db), read_only=True) as con:
            history_before = stored_history(con, *settings.history_range)
    with environment(settings.dbt_env()):
        invocation = dbt.cli(args, context=context, target_path=target)
        yield from with_table_metadata(
            invocation.stream(), target / "manifest.json", settings, history_before
        )
