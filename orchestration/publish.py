"""Publish the marts to the serving database and Parquet exports, atomically (SPEC §2).

BI tools hold `serving.duckdb` open while the next refresh runs, and DuckDB does not let a
writer open a file that a reader holds. So the pipeline never writes the serving file in place:
it writes a new file beside it and `os.replace`s it over the old one. A reader keeps the old
inode until it reconnects; a new connection sees the new file. Exports work the same way, one
file at a time.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import AUDIT_SCHEMA, MART_SCHEMA, Settings

AUDIT_TABLES = ("rejected_rows", "loaded_files")


@dataclass
class PublishResult:
    serving_db: Path
    marts: dict[str, int] = field(default_factory=dict)
    audit: dict[str, int] = field(default_factory=dict)
    exports: list[Path] = field(default_factory=list)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def remove_leftovers(settings: Settings) -> list[Path]:
    """Delete the temporary files of a publish that was killed half-way. Only the one writer
    (see the duckdb_writer pool) publishes, so no other publish is using them."""
    found = [
        *settings.warehouse_dir.glob(f".{settings.serving_db.name}.*.tmp*"),
        *settings.exports_dir.glob(".*.parquet.*.tmp"),
    ]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def publish(settings: Settings, run_id: str | None = None) -> PublishResult:
    """Copy every table of schema `marts` and the audit tables from the build database to a
    new serving file and new Parquet files, then swap them in. Raises before swapping anything
    if any step fails; the previous serving file and exports are then untouched."""
    remove_leftovers(settings)
    token = uuid.uuid4().hex[:12]
    serving = settings.serving_db
    new_serving = serving.with_name(f".{serving.name}.{token}.tmp")
    exports_dir = settings.exports_dir
    exports_dir.mkdir(parents=True, exist_ok=True)
    result = PublishResult(serving_db=serving)
    staged_exports: list[tuple[Path, Path]] = []
    con = duckdb.connect(config={"threads": settings.duckdb_threads})
    try:
        con.execute(f"attach {_quote(settings.build_db)} as build (read_only)")
        con.execute(f"attach {_quote(new_serving)} as serving")
        marts = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'build' and table_schema = ? order by table_name",
                [MART_SCHEMA],
            ).fetchall()
        ]
        if not marts:
            raise RuntimeError(
                f"{settings.build_db} has no tables in schema {MART_SCHEMA}: nothing to publish"
            )
        con.execute(f"create schema serving.{MART_SCHEMA}")
        con.execute(f"create schema serving.{AUDIT_SCHEMA}")
        for mart in marts:
            con.execute(
                f"create table serving.{MART_SCHEMA}.{mart} as "
                f"select * from build.{MART_SCHEMA}.{mart}"
            )
            count = con.execute(f"select count(*) from serving.{MART_SCHEMA}.{mart}").fetchone()
            result.marts[mart] = int(count[0]) if count else 0
            target = exports_dir / f"{mart}.parquet"
            staged = exports_dir / f".{mart}.parquet.{token}.tmp"
            con.execute(
                f"copy (select * from serving.{MART_SCHEMA}.{mart}) to {_quote(staged)} "
                "(format parquet, compression zstd)"
            )
            staged_exports.append((staged, target))
        for table in AUDIT_TABLES:
            con.execute(
                f"create table serving.{AUDIT_SCHEMA}.{table} as "
                f"select * from build.{AUDIT_SCHEMA}.{table}"
            )
            count = con.execute(f"select count(*) from serving.{AUDIT_SCHEMA}.{table}").fetchone()
            result.audit[table] = int(count[0]) if count else 0
        con.execute(
            f"create table serving.{AUDIT_SCHEMA}.publish_log as select "
            "cast(? as varchar) as run_id, cast(? as date) as as_of_date, "
            "cast(? as timestamp) as published_at",
            [run_id, settings.as_of_date, datetime.now(UTC).replace(tzinfo=None)],
        )
        con.execute("checkpoint serving")
        con.execute("detach serving")
        con.execute("detach build")
    except BaseException:
        con.close()
        new_serving.unlink(missing_ok=True)
        Path(f"{new_serving}.wal").unlink(missing_ok=True)
        for staged, _ in staged_exports:
            staged.unlink(missing_ok=True)
        raise
    con.close()
    wal = Path(f"{new_serving}.wal")
    if wal.exists():  # detach checkpoints; a WAL left behind would be lost by the rename
        raise RuntimeError(f"{wal} was left after detaching; refusing to publish")
    _fsync(new_serving)
    os.replace(new_serving, serving)
    for staged, target in staged_exports:
        _fsync(staged)
        os.replace(staged, target)
        result.exports.append(target)
    return result
