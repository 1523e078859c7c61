"""Drawing a suite's batch from DuckDB: only the columns its expectations use.

GX cannot validate DuckDB tables through its SQL datasource (STACK.md), so every batch is pulled
as Arrow and handed to GX's pandas datasource. GX's pandas engine hashes the whole frame once
and filters the whole frame for every column expectation, so its cost grows with rows x columns
(string columns most). To keep 1M-row tables fast without changing what an expectation means:

- only columns that some expectation names carry values; the other columns of the table are
  present, as nulls, so that schema expectations still see every column;
- the key (to report failing rows) is drawn only when a suite failed (`with_key`): a 1M-value
  text key costs GX ~1 s to hash. Large tables count duplicate keys in DuckDB instead;
- a column that is only checked for nulls arrives as a presence marker (1 or null);
- in large batches, a low-cardinality text column checked by single-column expectations only
  arrives as a pandas categorical (cheap to filter and hash).

Derived columns (rules across columns, window totals, normalised codes) are computed by DuckDB
in the same query; the table is aliased `t`. With `only_changed`, the batch is the rows that
`meta.batch.changed` names (the rows a load adds or replaces). The rows arrive in chunks of at
most `chunk_rows` (`open_batch`), so that no table is held whole in Python. Figures
(`meta.batch.figures`) are one row, computed by DuckDB over the batch and the tables it names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from orchestration.quality.suites import SuiteFile

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
NULL_ONLY = {"expect_column_values_to_not_be_null"}
# Categoricals of different categories cannot be compared pairwise, and a regex would first
# turn a categorical back into strings (arrow strings match natively).
NOT_CATEGORICAL = {"pair", "expect_column_values_to_match_regex"}
CATEGORICAL_MIN_ROWS = 50_000
CATEGORICAL_MAX_VALUES = 10_000


class BatchError(RuntimeError):
    """The batch of a suite cannot be drawn (missing table, SQL error in a derived column)."""


@dataclass
class Batch:
    frame: pd.DataFrame
    table: str
    columns_pulled: list[str]
    sql: str
    has_key: bool = False

    @property
    def rows(self) -> int:
        return len(self.frame)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of the columns of schema.table, in order; empty when it does not exist."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? "
        "order by column_index",
        [schema or "main", name],
    ).fetchall()
    return [(str(n), str(t)) for n, t in rows]


def batch_where(suite: SuiteFile, only_changed: bool = False) -> str:
    """The WHERE clause of the suite's batch (empty when it takes every row)."""
    conditions = [suite.batch.where] if suite.batch.where else []
    if only_changed and suite.batch.changed:
        conditions.append(suite.batch.changed)
    return " where " + " and ".join(f"({c})" for c in conditions) if conditions else ""


def figures_sql(suite: SuiteFile, only_changed: bool = False) -> str:
    """One row: each figure of the suite, with `batch` naming the rows of its batch."""
    items = ", ".join(f"({expr}) as {_quote(name)}" for name, expr in suite.batch.figures.items())
    rows = f"select * from {suite.batch.table} as t{batch_where(suite, only_changed)}"
    return f"with batch as ({rows}) select {items}"


def batch_sql(
    suite: SuiteFile,
    columns: list[tuple[str, str]],
    with_key: bool = False,
    only_changed: bool = False,
) -> tuple[str, list[str]]:
    """The query of the suite's batch over a table with `columns`, and the columns it pulls."""
    needed = suite.columns_needed({name for name, _ in columns}, with_key)
    key = suite.batch.key if with_key else ()
    uses = suite.column_uses()
    parts = []
    for name, dtype in columns:
        if name in suite.batch.derived_columns:
            continue  # a derived column of the same name replaces the stored one
        quoted = _quote(name)
        if name not in needed:
            expr = "cast(null as integer)"  # present for schema expectations, never validated
        elif name not in key and uses.get(name, set()) <= NULL_ONLY:
            expr = f"case when {quoted} is null then null else 1 end"
        elif dtype.startswith("DECIMAL"):
            expr = f"cast({quoted} as double)"  # pandas would hold Decimal objects: slow
        else:
            expr = quoted
        parts.append(f"{expr} as {quoted}")
    for name, expr in suite.batch.derived_columns.items():
        parts.append(f"({expr}) as {_quote(name)}")
    sql = f"select {', '.join(parts)} from {suite.batch.table} as t"
    return sql + batch_where(suite, only_changed), needed


def _categorical_columns(suite: SuiteFile, table: pa.Table) -> pa.Table:
    """Dictionary-encode low-cardinality text columns (see NOT_CATEGORICAL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows < CATEGORICAL_MIN_ROWS:
        return table
    uses = suite.column_uses()
    for i, field in enumerate(table.schema):
        name = field.name
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        if name in suite.batch.key or not uses.get(name) or uses[name] & NOT_CATEGORICAL:
            continue
        encoded = pc.dictionary_encode(table.column(i))
        if max((len(chunk.dictionary) for chunk in encoded.chunks), default=0) > (
            CATEGORICAL_MAX_VALUES
        ):
            continue
        table = table.set_column(i, name, encoded)
    return table


@dataclass(frozen=True)
class BatchQuery:
    sql: str
    params: dict[str, object]
    columns_pulled: list[str]


def _bound(suite: SuiteFile, sql: str, params: Mapping[str, object]) -> dict[str, object]:
    named = set(_PARAM.findall(sql))
    missing = sorted(named - set(params))
    if missing:
        raise BatchError(
            f"{suite.path}: unknown parameter(s) {missing} in meta.batch; "
            f"available: {sorted(params)}"
        )
    return {name: params[name] for name in sorted(named)}


def batch_query(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteFile,
    params: Mapping[str, object],
    with_key: bool = False,
    only_changed: bool = False,
) -> BatchQuery:
    """The batch query over the table as it is in `con`, with the parameters it uses."""
    columns = table_columns(con, suite.batch.table)
    if not columns:
        raise BatchError(
            f"table {suite.batch.table} (meta.batch.table of {suite.path}) does not exist in the "
            "build database: has the asset that writes it run?"
        )
    sql, needed = batch_sql(suite, columns, with_key, only_changed)
    return BatchQuery(sql, _bound(suite, sql, params), needed)


def draw_figures(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteFile,
    params: Mapping[str, object],
    only_changed: bool = False,
) -> pd.DataFrame:
    """The suite's figures: one row, computed by DuckDB."""
    sql = figures_sql(suite, only_changed)
    try:
        return con.sql(sql, params=_bound(suite, sql, params) or None).df()
    except duckdb.Error as exc:
        raise BatchError(f"{suite.path}: the figures query failed: {exc}\nquery: {sql}") from exc


def open_batch(
    con: duckdb.DuckDBPyConnection, suite: SuiteFile, query: BatchQuery, chunk_rows: int
) -> pa.RecordBatchReader:
    """The batch's rows as a stream of Arrow record batches of at most `chunk_rows` rows."""
    try:
        return con.execute(query.sql, query.params or None).fetch_record_batch(chunk_rows)
    except duckdb.Error as exc:
        raise BatchError(
            f"{suite.path}: the batch query failed: {exc}\nquery: {query.sql}"
        ) from exc


def whole_batch(con: duckdb.DuckDBPyConnection, suite: SuiteFile, query: BatchQuery) -> pa.Table:
    """The batch's rows at once, for suites whose expectations must see every row together."""
    try:
        return con.sql(query.sql, params=query.params or None).to_arrow_table()
    except duckdb.Error as exc:
        raise BatchError(
            f"{suite.path}: the batch query failed: {exc}\nquery: {query.sql}"
        ) from exc


def next_chunk(reader: pa.RecordBatchReader) -> pa.Table | None:
    """The next chunk of rows, or None when the stream is done."""
    import pyarrow as pa

    try:
        return pa.Table.from_batches([reader.read_next_batch()])
    except StopIteration:
        return None


def batch_from_arrow(
    suite: SuiteFile, query: BatchQuery, arrow: pa.Table, with_key: bool = False
) -> Batch:
    """The pandas batch GX validates, from a chunk of the batch's rows."""
    frame = _categorical_columns(suite, arrow).to_pandas(date_as_object=False)
    needed = query.columns_pulled
    pulled_in_full = set(needed) - {n for n, u in suite.column_uses().items() if u <= NULL_ONLY}
    has_key = with_key or set(suite.batch.key) <= pulled_in_full
    return Batch(frame, suite.batch.table, needed, query.sql, has_key=has_key)


def draw_batch(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteFile,
    params: Mapping[str, object],
    with_key: bool = False,
    only_changed: bool = False,
) -> Batch:
    """The whole batch in one frame (small tables and tests); `params` fill `$name`
    placeholders in derived columns and `where`. `with_key`: also draw the key columns in
    full, to name failing rows."""
    query = batch_query(con, suite, params, with_key, only_changed)
    return batch_from_arrow(suite, query, whole_batch(con, suite, query), with_key)
