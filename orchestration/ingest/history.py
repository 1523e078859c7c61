"""Every accepted version of every source row (SPEC §10): `raw.<entity>_history`.

`raw.<entity>` holds the current version of each key; `raw.<entity>_history` holds every
version a load accepted, with the interval in which it was current:

- `valid_from` is the version's `updated_at`;
- `valid_to` is the next version's `updated_at`, or NULL while the version is the latest.

Versions of a key are ordered as the loader chooses the current row: by `updated_at`, a tie
going to the later file, then to the later load of a file of the same name, then to the later
row (`VERSION_ORDER`). So the last version of each key is the row of `raw.<entity>`. A stale
row (older than a version already loaded) takes its place in the past and never becomes the
last one; a rejected row is never a version. A version that a tie puts before another has
`valid_to = valid_from`: it was never the state at the end of any day.

The loader adds a batch's versions in its own transaction (`add_versions`); a blocked batch's
versions go with its roll-back (`pending.roll_back` calls `remove_loads`).
"""

from __future__ import annotations

import duckdb

from orchestration.ingest.contract import Entity

VERSION_ORDER = "updated_at, _source_file, _load_id, _source_row"
# The columns that identify one version.
VERSION_ID = ("_load_id", "_source_file", "_source_row")


def history_table(entity: Entity) -> str:
    return f"raw.{entity.name}_history"


def history_ddl(entity: Entity) -> str:
    cols = ",\n    ".join(f"{c.name} {c.sql_type}" for c in entity.columns)
    return f"""create table if not exists {history_table(entity)} (
    {cols},
    _source_file varchar not null,
    _source_row bigint not null,
    _load_id bigint not null,
    _loaded_at timestamp not null,
    valid_from timestamp not null,
    valid_to timestamp
)"""


def ensure_history(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the history table; a warehouse that had none starts it from the current rows of
    `raw.<entity>` (each the only known version of its key). raw.<entity> must exist."""
    [(exists,)] = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = ?",
        [f"{entity.name}_history"],
    ).fetchall()
    if exists:
        return
    con.execute(history_ddl(entity))
    con.execute(
        f"insert into {history_table(entity)} "
        f"select *, updated_at, cast(null as timestamp) from raw.{entity.name}"
    )
    close_intervals(con, entity, f"select {entity.key} from raw.{entity.name}")


def add_versions(con: duckdb.DuckDBPyConnection, entity: Entity, batch: str, load_id: int) -> int:
    """Add the good rows of `batch` (the loader's typed batch: `_reason` NULL) as versions of
    load `load_id`, and close the intervals they end. Returns the number of versions added."""
    names = ", ".join(entity.column_names)
    added = con.execute(
        f"""insert into {history_table(entity)}
        select {names}, _source_file, _source_row, {int(load_id)}, now()::timestamp,
          updated_at, cast(null as timestamp)
        from {batch} where _reason is null"""
    ).fetchone()
    close_intervals(
        con, entity, f"select {entity.key} from {batch} where _reason is null", repeated=True
    )
    return int(added[0]) if added else 0


def remove_loads(con: duckdb.DuckDBPyConnection, entity: Entity, loads: str) -> None:
    """Remove the versions of the loads that the subquery `loads` lists, and reopen or close
    the intervals of their keys' remaining versions."""
    key, table = entity.key, history_table(entity)
    con.execute(
        f"create or replace temp table _history_keys as "
        f"select distinct {key} from {table} where _load_id in {loads}"
    )
    try:
        con.execute(f"delete from {table} where _load_id in {loads}")
        close_intervals(con, entity, f"select {key} from _history_keys")
    finally:
        con.execute("drop table if exists _history_keys")


def close_intervals(
    con: duckdb.DuckDBPyConnection, entity: Entity, keys: str, repeated: bool = False
) -> None:
    """Set `valid_to` of every version of the keys that the subquery `keys` lists to the next
    version's `valid_from` (NULL for the last). With `repeated`, only keys with more than one
    version are looked at (a key's only version is open already)."""
    key, table = entity.key, history_table(entity)
    having = "group by 1 having count(*) > 1" if repeated else ""
    same = " and ".join(f"h.{c} = n.{c}" for c in VERSION_ID)
    con.execute(
        f"""update {table} as h set valid_to = n.valid_to
        from (
          select {", ".join(VERSION_ID)}, lead(valid_from) over (
            partition by {key} order by {VERSION_ORDER}
          ) as valid_to
          from {table}
          where {key} in (select {key} from {table} where {key} in ({keys}) {having})
        ) as n
        where {same} and h.valid_to is distinct from n.valid_to"""
    )
