"""On the Spark engine, the build database holds views over the Parquet tables Spark wrote.

With PSW_ENGINE=spark, ingestion and dbt compute on Spark and write Parquet under
`<warehouse>/spark/`. Everything after them is engine-independent because it reads DuckDB: the
quality gates, the Dagster metadata (row counts, schemas, previews), publish (the serving file
and exports are built from these views, so BI sees the same files as on DuckDB) and the report.
This module points `build.duckdb`'s relations at Spark's Parquet. It imports no pyspark.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from orchestration.settings import AUDIT_SCHEMA, RAW_SCHEMA, Settings

AUDIT_TABLES = ("loaded_files", "rejected_rows")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mirror(con: duckdb.DuckDBPyConnection, schema: str, name: str, directory: Path) -> bool:
    """Make `schema.name` a view over the Parquet files of `directory`; False (and nothing
    changed) when Spark has written no file there yet."""
    files = sorted(directory.glob("*.parquet"))
    if not files:
        return False
    con.execute(f"create schema if not exists {_ident(schema)}")
    existing = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    relation = f"{_ident(schema)}.{_ident(name)}"
    if existing and existing[0] == "BASE TABLE":  # built by the DuckDB engine before
        con.execute(f"drop table {relation}")
    con.execute(
        f"create or replace view {relation} as "
        f"select * from read_parquet({_lit(str(directory / '*.parquet'))})"
    )
    return True


def mirror_ingested(con: duckdb.DuckDBPyConnection, settings: Settings, entity: str) -> None:
    """raw.<entity> and the audit tables, after a Spark ingestion step."""
    mirror(con, RAW_SCHEMA, entity, settings.spark_dir / "raw" / entity)
    for table in AUDIT_TABLES:
        mirror(con, AUDIT_SCHEMA, table, settings.spark_dir / "audit" / table)


def spark_table_dir(settings: Settings, schema: str, name: str) -> Path:
    """Where dbt-spark writes a table (spark.sql.warehouse.dir/<schema>.db/<name>)."""
    return settings.spark_dir / "tables" / f"{schema}.db" / name


def mirror_dbt_relations(
    con: duckdb.DuckDBPyConnection, settings: Settings, relations: Iterable[tuple[str, str]]
) -> list[str]:
    """Views for the (schema, name) relations dbt built as tables; returns those mirrored."""
    done = []
    for schema, name in relations:
        if mirror(con, schema, name, spark_table_dir(settings, schema, name)):
            done.append(f"{schema}.{name}")
    return done
