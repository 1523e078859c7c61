"""The local Spark engine (PSW_ENGINE=spark): one session configuration for ingestion and dbt.

Spark keeps no catalog between processes here (`in-memory` catalog, no Hive metastore): every
table is Parquet under `<warehouse>/spark/`, at a path that the ingestion writes and dbt
registers in its `on-run-start` hook (macros/spark.sql). The same paths work on a cluster's
shared storage. dbt_project/profiles.yml repeats these settings for dbt's own session (YAML
cannot import them); tests/test_spark_parity.py checks that the two agree.

pyspark is the optional `spark` extra: import this module only when the engine is Spark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def spark_conf(spark_dir: Path) -> dict[str, str]:
    """Spark settings of both sessions (ingestion and dbt's `method: session`)."""
    return {
        "spark.master": os.environ.get("PSW_SPARK_MASTER", "local[2]"),
        "spark.driver.memory": os.environ.get("PSW_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(spark_dir / "tables"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("PSW_SPARK_SHUFFLE_PARTITIONS", "4"),
        # Timestamps without a time zone, as microseconds: DuckDB reads them as TIMESTAMP.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": str(spark_dir / "tmp"),
    }


def get_spark(spark_dir: Path) -> SparkSession:
    """The process's Spark session with `spark_conf` (started on first use)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("psw")
    for key, value in spark_conf(spark_dir).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
