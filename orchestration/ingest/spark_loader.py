"""Load landing files with Spark (PSW_ENGINE=spark): the same rules as `loader.py` (SPEC §3).

Same semantics as the DuckDB loader, which stays the reference: a file (name and SHA-256) is
loaded once; all new files of an entity form one batch; a batch with a file that is empty,
unreadable or lacks a required column raises `FileRejected` naming every such file and column,
and nothing of it is written; rows that break a rule go to `audit/rejected_rows` with the same
reasons, word for word (`sql.typed_select(..., dialect="spark")`); the rest are upserted by key
(a later `updated_at` wins; on a tie, the later file, then the later row).

Storage: Parquet directories under `spark_dir`, written by Spark and readable by DuckDB with
`read_parquet('<dir>/*.parquet')` as the same columns and types as the DuckDB loader's tables:
`raw/<entity>/` (the current table), `raw/<entity>_history/` (every version, as
history.py), `audit/loaded_files/` and `audit/rejected_rows/`.

What is atomic, and what is not (there is no Delta Lake or other table format here): the
DuckDB loader applies a batch in one transaction; this one writes the whole new table to
`raw/<entity>.next` and the whole new history to `raw/<entity>_history.next`, swaps
directories (current -> `.old`, `.next` -> current, delete `.old`; the table, then its
history), then appends the rejected rows and, last, the batch's `loaded_files` rows. So:
- a crash before the swap leaves the previous table and audit as they were (the next load
  removes the stray `.next`); a crash between the two renames is settled by the next load,
  which puts the complete `.next` in place;
- a crash between the table's swap and its history's leaves the history without the batch's
  versions; the batch's files are not recorded either, so the next load loads them again and
  adds them;
- a crash after the swap and before the audit appends leaves the new rows in `raw/` without
  their files recorded: the next load loads those files again, which the upsert makes harmless
  (an equal `updated_at` from a file that is not earlier replaces the row with itself);
- a crash between the two appends also leaves the files unrecorded: the next load appends their
  rejected rows a second time (with the same `load_id`, so they can be told apart);
- readers that list `raw/<entity>/` during the swap can miss it for a moment, and two loads
  must not run at once (the refresh lock sees to that).

Pending loads, as the DuckDB loader's (pending.py): a load is recorded in
`pending/<entity>/loads.json` before its table swap, and the first pending load keeps the table
and the history it replaced as `pending/<entity>/raw/` and `pending/<entity>/history/` instead
of deleting them. `roll_back_spark` puts them back and removes the pending loads' rows from both
audit tables; `accept_spark` deletes them.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.ingest import sql
from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.csv_file import newline_of, read_header
from orchestration.ingest.history import VERSION_ORDER
from orchestration.ingest.loader import (
    REASON_RULE,
    FileRejected,
    LoadResult,
    _source_columns,
    file_loads,
    new_files,
    unparseable,
)
from orchestration.ingest.reference import _SEEDS, ReferenceError, _read_seed, time_zone_names

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

# The DuckDB loader's column types (contract.Column.sql_type) in Spark.
SPARK_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp_ntz",
    "DECIMAL(18,2)": "decimal(18,2)",
    "BOOLEAN": "boolean",
}
# loader.AUDIT_DDL in Spark (`record` is the JSON text; DuckDB's JSON type is VARCHAR too).
AUDIT_SCHEMAS = {
    "loaded_files": (
        "entity string, file_name string, content_sha256 string, file_bytes bigint, "
        "load_id bigint, rows_read bigint, rows_loaded bigint, rows_rejected bigint, "
        "loaded_at timestamp_ntz, run_id string"
    ),
    "rejected_rows": (
        "entity string, source_file string, record_key string, reason string, "
        "loaded_at timestamp_ntz, source_row bigint, record string, load_id bigint, "
        "run_id string"
    ),
}
_SPARK_SQL = sql._ENGINES["spark"]


def raw_schema(entity: Entity) -> str:
    """loader.raw_table_ddl in Spark: the contract columns, then the load's own columns."""
    cols = [f"{c.name} {SPARK_TYPES[c.sql_type]}" for c in entity.columns]
    cols += [
        "_source_file string",
        "_source_row bigint",
        "_load_id bigint",
        "_loaded_at timestamp_ntz",
    ]
    return ", ".join(cols)


def history_schema(entity: Entity) -> str:
    """history.history_ddl in Spark: raw_schema, then the version's interval."""
    return raw_schema(entity) + ", valid_from timestamp_ntz, valid_to timestamp_ntz"


def raw_dir(spark_dir: Path, entity: str) -> Path:
    return Path(spark_dir) / "raw" / entity


def history_dir(spark_dir: Path, entity: str) -> Path:
    return Path(spark_dir) / "raw" / f"{entity}_history"


def audit_dir(spark_dir: Path, table: str) -> Path:
    return Path(spark_dir) / "audit" / table


def _hadoop_path(path: Path) -> str:
    """A local path as Spark reads it: Hadoop expands glob characters, so escape them.

    (Only for reading: Spark writes to the path as it is.)
    """
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", str(path))


def _read(spark: SparkSession, folder: Path, schema: str) -> DataFrame:
    return spark.read.schema(schema).parquet(_hadoop_path(folder))


# --- directory swap --------------------------------------------------------------------------


def _sibling(folder: Path, suffix: str) -> Path:
    return folder.with_name(folder.name + suffix)


def _settle(folder: Path) -> None:
    """Finish or undo a swap that a crash interrupted (see the module docstring)."""
    nxt, old = _sibling(folder, ".next"), _sibling(folder, ".old")
    if not folder.exists() and old.exists():
        if (nxt / "_SUCCESS").exists():
            nxt.rename(folder)
        else:
            old.rename(folder)
    for stray in (nxt, old):
        if stray.exists():
            shutil.rmtree(stray)


def _swap(folder: Path, keep: Path | None = None) -> None:
    """Put `.next` in place of `folder`; the replaced table moves to `keep` when given (and
    not there yet), else it is deleted."""
    nxt, old = _sibling(folder, ".next"), _sibling(folder, ".old")
    if folder.exists():
        folder.rename(old)
    nxt.rename(folder)
    if keep is not None and old.exists() and not keep.exists():
        keep.parent.mkdir(parents=True, exist_ok=True)
        old.rename(keep)
    shutil.rmtree(old, ignore_errors=True)


# --- pending loads (pending.py, on Parquet) --------------------------------------------------


def _pending_dir(spark_dir: Path, entity: Entity) -> Path:
    return Path(spark_dir) / "pending" / entity.name


def pending_load_ids_spark(spark_dir: Path, entity: Entity) -> list[int]:
    path = _pending_dir(spark_dir, entity) / "loads.json"
    return sorted(json.loads(path.read_text())) if path.exists() else []


def _write_pending(spark_dir: Path, entity: Entity, ids: list[int]) -> None:
    folder = _pending_dir(spark_dir, entity)
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / "loads.json.next"
    staged.write_text(json.dumps(sorted(ids)))
    staged.replace(folder / "loads.json")


def accept_spark(spark_dir: Path, entity: Entity) -> list[int]:
    """The gate passed: the pending loads stay; the table they replaced is deleted."""
    ids = pending_load_ids_spark(spark_dir, entity)
    shutil.rmtree(_pending_dir(spark_dir, entity), ignore_errors=True)
    return ids


def roll_back_spark(spark: SparkSession, spark_dir: Path, entity: Entity) -> list[int]:
    """The gate blocked: the table before the first pending load is put back, and the pending
    loads' rows are removed from audit/loaded_files and audit/rejected_rows."""
    ids = pending_load_ids_spark(spark_dir, entity)
    if not ids:
        return []
    tables = [
        (_pending_dir(spark_dir, entity) / "raw", raw_dir(spark_dir, entity.name)),
        (_pending_dir(spark_dir, entity) / "history", history_dir(spark_dir, entity.name)),
    ]
    for kept, table in tables:
        if kept.exists():
            shutil.rmtree(_sibling(table, ".next"), ignore_errors=True)
            kept.rename(_sibling(table, ".next"))
            _swap(table)
        spark.catalog.refreshByPath(str(table))
    listed = ", ".join(str(int(i)) for i in ids)
    for name, schema in AUDIT_SCHEMAS.items():
        folder = audit_dir(spark_dir, name)
        nxt = _sibling(folder, ".next")
        shutil.rmtree(nxt, ignore_errors=True)
        _read(spark, folder, schema).where(
            f"not (entity = {_SPARK_SQL.lit(entity.name)} and load_id in ({listed}))"
        ).coalesce(1).write.parquet(str(nxt))
        _swap(folder)
        spark.catalog.refreshByPath(str(folder))
    shutil.rmtree(_pending_dir(spark_dir, entity), ignore_errors=True)
    return ids


def ensure_tables(spark: SparkSession, spark_dir: Path, entities: list[Entity]) -> None:
    """Create the empty raw and audit tables that do not exist yet (as loader.ensure_tables);
    a history that does not exist yet starts from the current rows (history.ensure_history)."""
    tables = [(raw_dir(spark_dir, e.name), raw_schema(e)) for e in entities]
    tables += [(audit_dir(spark_dir, name), schema) for name, schema in AUDIT_SCHEMAS.items()]
    for folder, schema in tables:
        _settle(folder)
        if not folder.exists():
            nxt = _sibling(folder, ".next")
            spark.createDataFrame([], schema).coalesce(1).write.parquet(str(nxt))
            _swap(folder)
    for entity in entities:
        folder = history_dir(spark_dir, entity.name)
        _settle(folder)
        if not folder.exists():
            current = _read(spark, raw_dir(spark_dir, entity.name), raw_schema(entity))
            _intervals(entity, current.selectExpr("*", "updated_at as valid_from")).write.parquet(
                str(_sibling(folder, ".next"))
            )
            _swap(folder)


def _intervals(entity: Entity, versions: DataFrame) -> DataFrame:
    """`versions` (raw columns and valid_from) with valid_to: the next version's valid_from,
    in history.VERSION_ORDER."""
    return versions.selectExpr(
        "*",
        f"lead(valid_from) over (partition by {entity.key} order by {VERSION_ORDER}) as valid_to",
    )


# --- reference data (as reference.register_reference) ----------------------------------------


def _spark_trim(expr: str) -> str:
    """reference._SEEDS's DuckDB expressions in Spark: only trim() is spelled differently."""
    return re.sub(r"\btrim\((\w+)\)", lambda m: _SPARK_SQL.trim(m.group(1)), expr)


def _seed(spark: SparkSession, seeds_dir: Path, file_name: str) -> DataFrame:
    _read_seed(seeds_dir, file_name)  # raises ReferenceError when the seed is missing
    return spark.read.csv(
        _hadoop_path(seeds_dir / file_name),
        header=True,
        inferSchema=False,
        quote='"',
        escape='"',
        multiLine=True,
    )


# The seeds whose code sets a session holds (application id -> seeds and their versions).
_REGISTERED: dict[str, tuple[object, ...]] = {}


def register_reference(spark: SparkSession, seeds_dir: Path) -> None:
    """Temporary views ref_* with the code sets and FX coverage (small, held by the driver).

    A session keeps them until the seed files change.
    """
    paths = [seeds_dir / name for name, _expr in _SEEDS.values()] + [seeds_dir / "fx_rates.csv"]
    version = tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None for p in paths
    )
    app = spark.sparkContext.applicationId
    if _REGISTERED.get(app) == version and spark.catalog.tableExists("ref_fx_first_month"):
        return
    _REGISTERED.pop(app, None)
    _register_reference(spark, seeds_dir)
    _REGISTERED[app] = version


def _register_reference(spark: SparkSession, seeds_dir: Path) -> None:
    from pyspark.errors import AnalysisException

    codes: dict[str, set[str]] = {}
    for table, (file_name, expr) in _SEEDS.items():
        seed = _seed(spark, seeds_dir, file_name)
        seed.createOrReplaceTempView("_psw_seed")
        spark_expr = _spark_trim(expr)
        try:
            rows = spark.sql(
                f"select distinct {spark_expr} as code from _psw_seed as seed "
                f"where {spark_expr} <> ''"
            ).collect()
        except AnalysisException as exc:
            raise ReferenceError(f"seed {seeds_dir / file_name}: {exc}") from exc
        codes[table] = {r.code for r in rows}
    codes["ref_partner_types"] = codes["ref_partner_type_names"] | codes["ref_partner_type_aliases"]
    for table, values in codes.items():
        _values(
            spark, "code string", [(_SPARK_SQL.lit(v),) for v in sorted(values)]
        ).createOrReplaceTempView(table)
    zones = [(_SPARK_SQL.lit(z.lower()), _SPARK_SQL.lit(z)) for z in time_zone_names()]
    _values(spark, "code string, name string", zones).createOrReplaceTempView(sql.TIME_ZONES)

    fx_path = seeds_dir / "fx_rates.csv"
    _seed(spark, seeds_dir, "fx_rates.csv").createOrReplaceTempView("_psw_seed")
    currency = _spark_trim("upper(trim(currency))")
    month = _SPARK_SQL.date("month")
    try:
        rows = spark.sql(
            f"select {currency} as currency, month as month_text, {month} as month "
            "from _psw_seed as seed "
            f"where try_cast(usd_per_unit as double) > 0 and {currency} <> 'USD'"
        ).collect()
    except AnalysisException as exc:
        raise ReferenceError(f"seed {fx_path}: {exc}") from exc
    spark.catalog.dropTempView("_psw_seed")
    first: dict[str, date] = {}
    for r in rows:
        if r.month is None and r.month_text is not None:  # DuckDB's cast fails the same way
            raise ReferenceError(f"seed {fx_path}: month '{r.month_text}' is not a date")
        if r.month is not None:
            start = r.month.replace(day=1)
            first[r.currency] = min(start, first.get(r.currency, start))
    first["USD"] = date(1, 1, 1)
    fx = [(_SPARK_SQL.lit(c), f"date'{m.isoformat()}'") for c, m in sorted(first.items())]
    _values(spark, "currency string, first_month date", fx).createOrReplaceTempView(
        "ref_fx_first_month"
    )


def _values(spark: SparkSession, schema: str, rows: list[tuple[str, ...]]) -> DataFrame:
    """A small table of SQL literals, held in the plan (Spark broadcasts it in joins)."""
    names = [part.split()[0] for part in schema.split(",")]
    types = [part.split()[1] for part in schema.split(",")]
    if not rows:
        cols = ", ".join(f"cast(null as {t}) as {n}" for n, t in zip(names, types, strict=True))
        return spark.sql(f"select {cols} where false")
    values = ", ".join("(" + ", ".join(row) + ")" for row in rows)
    cols = ", ".join(f"cast({n} as {t}) as {n}" for n, t in zip(names, types, strict=True))
    return spark.sql(f"select {cols} from values {values} as t({', '.join(names)})")


# --- staging: one file as text columns -------------------------------------------------------


class _Unparseable(Exception):
    """The file is not valid CSV or Parquet (the message says why)."""


def _check_utf8(path: Path) -> None:
    """DuckDB refuses a CSV file that is not UTF-8; Spark would read U+FFFD instead."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise _Unparseable(
                    f"invalid UTF-8 ({exc.reason}) at byte {offset + exc.start}"
                ) from exc
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _Unparseable(f"invalid UTF-8 ({exc.reason}) at the end") from exc


def _stage_csv(spark: SparkSession, entity: Entity, path: Path, held: list[DataFrame]) -> DataFrame:
    from pyspark.sql import functions as F

    newline = newline_of(path)
    header = read_header(path, newline)
    positions = _source_columns(entity, header, path)
    _check_utf8(path)
    # LF and CRLF: Spark's default; a CR-only file needs its line ending named
    line_sep = {"lineSep": "\r"} if newline == "\r" else {}
    # as DuckDB's read_csv(..., strict_mode = true): RFC 4180 quoting, every row as wide as
    # the header; multiLine keeps quoted line breaks (and the file in one partition)
    full = spark.read.csv(
        _hadoop_path(path),
        schema=", ".join(f"c{i} string" for i in range(len(header))),
        header=True,
        mode="FAILFAST",
        sep=",",
        quote='"',
        escape='"',
        multiLine=True,
        encoding="UTF-8",
        unescapedQuoteHandling="RAISE_ERROR",
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
        **line_sep,
    ).withColumn("_row_id", F.monotonically_increasing_id())
    # Cache every column and parse the whole file now: a malformed row fails here, in the
    # staging step (Spark parses only the columns a query uses, and would not see it).
    full = full.persist()
    held.append(full)
    full.count()
    # one partition (multiLine does not split a file): the row ids are 0, 1, 2, ... in order
    if full.rdd.getNumPartitions() > 1:
        raise RuntimeError(f"{path}: Spark split the file; its rows cannot be numbered")
    row = F.col("_row_id") + 1
    cols = [
        F.col(f"c{positions[c.name]}").alias(c.name)
        if c.name in positions
        else F.lit(None).cast("string").alias(c.name)
        for c in entity.columns
    ]
    return full.select(*cols, row.cast("bigint").alias("_source_row"))


def _as_text(name: str, data_type: object, nanos: bool | None = None) -> Column:
    """A Parquet column as DuckDB's cast to VARCHAR writes it (lists: ';'-joined).

    `nanos`: the column holds nanosecond timestamps, read as integers (True: with a time zone).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    column = F.col(_quoted(name))
    if nanos is not None:
        return F.expr(_nanos_text(_quoted(name), with_zone=nanos))
    if isinstance(data_type, T.ArrayType):
        return F.array_join(column.cast("array<string>"), ";")
    if isinstance(data_type, T.TimestampType):  # with time zone: DuckDB adds the UTC offset
        return F.concat(column.cast("string"), F.lit("+00"))
    return column.cast("string")


def _nanos_text(n: str, with_zone: bool) -> str:
    """Nanoseconds since 1970 as DuckDB prints them (a time zone: truncated to microseconds)."""
    if with_zone:
        return f"concat(cast(timestamp_micros({n} div 1000) as string), '+00')"
    second = f"({n} - pmod({n}, 1000000000)) div 1000000000"
    fraction = f"trim(TRAILING '0' FROM lpad(cast(pmod({n}, 1000000000) as string), 9, '0'))"
    return (
        f"concat(date_format(timestamp_seconds({second}), 'yyyy-MM-dd HH:mm:ss'), "
        f"case when pmod({n}, 1000000000) = 0 then '' else concat('.', {fraction}) end)"
    )


def _stage_parquet(
    spark: SparkSession, entity: Entity, path: Path, held: list[DataFrame]
) -> DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    try:
        schema = pq.read_schema(path)  # the file's own names, as DuckDB's describe
    except Exception as exc:
        raise _Unparseable(str(exc)) from exc
    _source_columns(entity, schema.names, path)
    # Spark reads nanosecond timestamps only as integers; DuckDB reads them as timestamps
    nanos = {
        f.name: f.type.tz is not None
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"
    }
    setting = "spark.sql.legacy.parquet.nanosAsLong"
    before = spark.conf.get(setting, "false")
    if nanos:
        spark.conf.set(setting, "true")
    try:
        data = spark.read.parquet(_hadoop_path(path))
        fields = {f.name.strip().lower(): f for f in data.schema.fields}
        cols = [
            _as_text(
                fields[c.name].name, fields[c.name].dataType, nanos.get(fields[c.name].name)
            ).alias(c.name)
            if c.name in fields
            else F.lit(None).cast("string").alias(c.name)
            for c in entity.columns
        ]
        row = (F.col("_metadata.row_index") + 1).cast("bigint").alias("_source_row")
        staged = data.select(*cols, row).persist()
        held.append(staged)
        staged.count()  # read it now (and cache it): a broken file fails in the staging step
    finally:
        if nanos:
            spark.conf.set(setting, before)
    return staged


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _spark_error(exc: Exception) -> str:
    """The useful line of a Spark error: the deepest cause, without the Java stack."""
    text = str(exc)
    causes = re.findall(r"Caused by: [\w.$]+: (.+)", text)
    lines = causes[-1:] or [line for line in text.splitlines() if line.strip()][:1]
    detail = " | ".join(line.strip() for line in lines)
    return re.sub(r"\s*SQLSTATE: \w+", "", detail)[:600]


def _stage(
    spark: SparkSession, entity: Entity, path: Path, held: list[DataFrame]
) -> tuple[DataFrame | None, str | None]:
    """Read one file (cached; the cached frames go to `held`); return a problem, not raise."""
    if path.stat().st_size == 0:
        return None, f"{path}: file is empty (0 bytes); an extract needs at least a header row"
    kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
    try:
        if kind == "CSV":
            return _stage_csv(spark, entity, path, held), None
        return _stage_parquet(spark, entity, path, held), None
    except ValueError as exc:
        return None, f"{path}: {exc}"
    except Exception as exc:  # _Unparseable, or Spark's own errors (Py4J, analysis, runtime)
        return None, unparseable(path, kind, _spark_error(exc))


# --- the load --------------------------------------------------------------------------------


def _next_load_id(spark: SparkSession, spark_dir: Path) -> int:
    files = _read(spark, audit_dir(spark_dir, "loaded_files"), AUDIT_SCHEMAS["loaded_files"])
    row = files.selectExpr("coalesce(max(load_id), 0) + 1 as n").first()
    assert row is not None
    return int(row.n)


def load_entity_spark(
    spark: SparkSession,
    entity: Entity,
    landing_dir: Path,
    seeds_dir: Path,
    spark_dir: Path,
    run_id: str | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> LoadResult:
    """Load the entity's new landing files into `raw/<entity>`; see the module docstring."""
    spark_dir = Path(spark_dir)
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # as the DuckDB loader's TimeZone
    ensure_tables(spark, spark_dir, list(ENTITIES.values()))
    register_reference(spark, Path(seeds_dir))
    result = LoadResult(entity=entity.name)

    files = _read(spark, audit_dir(spark_dir, "loaded_files"), AUDIT_SCHEMAS["loaded_files"])
    loaded = {
        (r.file_name, r.content_sha256)
        for r in files.where(files.entity == entity.name)
        .select("file_name", "content_sha256")
        .collect()
    }
    pending = new_files(Path(landing_dir), entity, loaded, result, log)

    problems: list[str] = []
    staged: list[DataFrame] = []
    held: list[DataFrame] = []  # the cached frames, released at the end
    try:
        for path, _digest in pending:
            frame, problem = _stage(spark, entity, path, held)
            if problem:
                problems.append(problem)
            else:
                assert frame is not None
                staged.append(frame)
        if problems:
            raise FileRejected(problems)
        if pending:
            _apply(spark, entity, spark_dir, pending, staged, run_id, result, log)
    finally:
        for frame in held:
            frame.unpersist()
    if not pending:
        table = _read(spark, raw_dir(spark_dir, entity.name), raw_schema(entity))
        result.table_rows = table.count()
    return result


def _apply(
    spark: SparkSession,
    entity: Entity,
    spark_dir: Path,
    pending: list[tuple[Path, str]],
    staged: list[DataFrame],
    run_id: str | None,
    result: LoadResult,
    log: Callable[[str], None],
) -> None:
    from pyspark.sql import functions as F

    prefix = f"_psw_{entity.name}"
    key = entity.key
    table = raw_dir(spark_dir, entity.name)
    schema = raw_schema(entity)
    sources = [
        frame.withColumn("_source_file", F.lit(path.name))
        for (path, _), frame in zip(pending, staged, strict=True)
    ]
    reduce(lambda a, b: a.unionByName(b), sources).createOrReplaceTempView(f"{prefix}_source")
    if entity.partner_fk:
        partners = _read(spark, raw_dir(spark_dir, "partners"), raw_schema(ENTITIES["partners"]))
        partners.createOrReplaceTempView(sql.PARTNERS_TABLE["spark"])
    # Typed rows with their reject reasons; among the good rows, _rank 1 is the one that
    # counts for its key (a later updated_at, then a later file, then a later row). Written
    # once to Parquet: every step below reads it, and none computes it again.
    batch_dir = Path(spark_dir) / "staging" / entity.name
    shutil.rmtree(batch_dir, ignore_errors=True)
    spark.sql(
        f"""select *, row_number() over (
          partition by (_reason is null), {key}
          order by updated_at desc, _source_file desc, _source_row desc
        ) as _rank
        from ({sql.typed_select(entity, f"{prefix}_source", dialect="spark")}) as typed"""
    ).write.parquet(str(batch_dir))
    try:
        spark.read.parquet(_hadoop_path(batch_dir)).createOrReplaceTempView(f"{prefix}_batch")
        _read(spark, table, schema).createOrReplaceTempView(f"{prefix}_old")
        load_id = _next_load_id(spark, spark_dir)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        stamp = f"timestamp_ntz'{loaded_at.isoformat(sep=' ')}'"
        counts = {
            r[0]: (int(r[1]), int(r[2]))
            for r in spark.sql(
                f"select _source_file, count(*), count(_reason) from {prefix}_batch group by 1"
            ).collect()
        }
        result.reject_reasons = {
            r.rule: int(r.n)
            for r in spark.sql(
                f"select regexp_extract(r, {_SPARK_SQL.lit(REASON_RULE)}, 0) as rule, "
                "count(*) as n from "
                f"(select explode(split(_reason, '; ')) as r from {prefix}_batch "
                "where _reason is not null) group by 1 order by 2 desc, 1"
            ).collect()
        }

        # The new table: the old rows that no winner of the batch replaces (a winner replaces
        # a row with an earlier updated_at, or the same updated_at in a file that is not
        # later: the same file delivered again with new content), and the winners whose key
        # is not left in it.
        typed_cols = ", ".join(
            f"cast({c.name} as {SPARK_TYPES[c.sql_type]}) as {c.name}" for c in entity.columns
        )
        new_table = spark.sql(
            f"""with new as (select * from {prefix}_batch where _reason is null and _rank = 1),
            kept as (
              select * from {prefix}_old as old where not exists (
                select 1 from new where new.{key} = old.{key}
                  and (old.updated_at < new.updated_at
                       or (old.updated_at = new.updated_at
                           and old._source_file <= new._source_file)))
            )
            select * from kept
            union all
            select {typed_cols}, _source_file, _source_row,
              cast({load_id} as bigint) as _load_id, {stamp} as _loaded_at
            from new where not exists (select 1 from kept where kept.{key} = new.{key})"""
        )
        nxt = _sibling(table, ".next")
        shutil.rmtree(nxt, ignore_errors=True)
        new_table.write.parquet(str(nxt))
        # the new history: every version so far and the batch's good rows, intervals anew
        history = history_dir(spark_dir, entity.name)
        versions = _read(spark, history, history_schema(entity)).drop("valid_to")
        added = spark.sql(
            f"""select {typed_cols}, _source_file, _source_row,
              cast({load_id} as bigint) as _load_id, {stamp} as _loaded_at,
              cast(updated_at as timestamp_ntz) as valid_from
            from {prefix}_batch where _reason is null"""
        )
        history_next = _sibling(history, ".next")
        shutil.rmtree(history_next, ignore_errors=True)
        _intervals(entity, versions.unionByName(added)).write.parquet(str(history_next))
        # pending from here on: recorded before the swap, so that a crash after it is undone
        _write_pending(spark_dir, entity, [*pending_load_ids_spark(spark_dir, entity), load_id])
        _swap(table, keep=_pending_dir(spark_dir, entity) / "raw")
        _swap(history, keep=_pending_dir(spark_dir, entity) / "history")
        for folder in (table, history):
            spark.catalog.refreshByPath(str(folder))  # any cached listing of the old files

        totals = (
            _read(spark, table, schema)
            .selectExpr(
                "count(*) as n",
                f"count_if(_load_id = {load_id} and _loaded_at = {stamp}) as upserted",
            )
            .first()
        )
        assert totals is not None
        result.table_rows, result.rows_upserted = int(totals.n), int(totals.upserted)

        if any(rejected for _read_rows, rejected in counts.values()):
            run = "cast(null as string)" if run_id is None else _SPARK_SQL.lit(run_id)
            rejected_rows = spark.sql(
                f"select {_SPARK_SQL.lit(entity.name)} as entity, _source_file as source_file, "
                f"t_{key} as record_key, _reason as reason, {stamp} as loaded_at, "
                "_source_row as source_row, _record as record, "
                f"cast({load_id} as bigint) as load_id, {run} as run_id "
                f"from {prefix}_batch where _reason is not null"
            )
            rejected_rows.coalesce(1).write.mode("append").parquet(
                str(audit_dir(spark_dir, "rejected_rows"))
            )

        audit_rows = [
            (*row[:-1], loaded_at, row[-1])
            for row in file_loads(entity, pending, counts, load_id, run_id, result)
        ]
        files = spark.createDataFrame(audit_rows, AUDIT_SCHEMAS["loaded_files"])
        files.coalesce(1).write.mode("append").parquet(str(audit_dir(spark_dir, "loaded_files")))
    finally:
        for view in ("source", "batch", "old"):
            spark.catalog.dropTempView(f"{prefix}_{view}")
        shutil.rmtree(batch_dir, ignore_errors=True)
    log(
        f"{entity.name}: read {result.rows_read} rows, loaded {result.rows_loaded}, "
        f"rejected {result.rows_rejected}, upserted {result.rows_upserted}"
    )
