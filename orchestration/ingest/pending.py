"""Loads stay pending until their raw gate passes (SPEC §7: a blocked batch stays blocked).

The loader commits a batch before the raw quality gate judges it (the gate reads the loaded
tables). Until that gate passes, the load is *pending*: `audit.pending_loads` names it, and
`audit.pending_replaced_<entity>` keeps the rows of `raw.<entity>` it replaced. Then:

- the gate passed: `accept` drops the kept rows and the pending mark;
- the gate blocked: `roll_back` removes every pending load of the entity: its raw rows, its
  versions in `raw.<entity>_history`, its `audit.loaded_files` and `audit.rejected_rows` rows,
  and restores the rows it replaced. The
  files then count as never loaded, so the next run loads them again and its gate judges them
  again: rerunning cannot publish what a gate refused.

A run killed between the load and its gate leaves the load pending; the next run's gate judges
every pending load of the entity, not only the files of its own run.
"""

from __future__ import annotations

import duckdb

from orchestration.ingest.contract import Entity
from orchestration.ingest.history import remove_loads

PENDING_DDL = """
create schema if not exists audit;
create table if not exists audit.pending_loads (
    entity varchar not null,
    load_id bigint not null,
    run_id varchar,
    loaded_at timestamp not null
);
"""


def replaced_table(entity: Entity) -> str:
    return f"audit.pending_replaced_{entity.name}"


def ensure_pending_tables(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """The pending mark, and the kept rows: raw.<entity>'s columns plus `_replaced_by` (the
    pending load that replaced the row). raw.<entity> must exist."""
    con.execute(PENDING_DDL)
    con.execute(
        f"create table if not exists {replaced_table(entity)} as "
        f"select *, cast(null as bigint) as _replaced_by from raw.{entity.name} where false"
    )


def mark_pending(
    con: duckdb.DuckDBPyConnection, entity: Entity, load_id: int, run_id: str | None
) -> None:
    """Record a load as pending (inside the loader's transaction)."""
    con.execute(
        "insert into audit.pending_loads values (?, ?, ?, now()::timestamp)",
        [entity.name, load_id, run_id],
    )


def keep_replaced(con: duckdb.DuckDBPyConnection, entity: Entity, where: str, load_id: int) -> None:
    """Keep the rows of raw.<entity> (aliased `old`) that match `where` before the loader
    deletes them (inside the loader's transaction)."""
    con.execute(
        f"insert into {replaced_table(entity)} "
        f"select old.*, {int(load_id)} from raw.{entity.name} as old where {where}"
    )


def pending_load_ids(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[int]:
    con.execute(PENDING_DDL)
    rows = con.execute(
        "select load_id from audit.pending_loads where entity = ? order by load_id",
        [entity.name],
    ).fetchall()
    return [int(r[0]) for r in rows]


def accept(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[int]:
    """The gate passed: every pending load of the entity stays. Returns their load ids."""
    ids = pending_load_ids(con, entity)
    if not ids:
        return []
    ensure_pending_tables(con, entity)
    con.execute("begin transaction")
    try:
        con.execute(
            f"delete from {replaced_table(entity)} where _replaced_by in "
            "(select load_id from audit.pending_loads where entity = ?)",
            [entity.name],
        )
        con.execute("delete from audit.pending_loads where entity = ?", [entity.name])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return ids


def roll_back(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[str]:
    """The gate blocked: undo every pending load of the entity, in one transaction. Returns
    the names of the files that will be loaded (and judged) again."""
    ids = pending_load_ids(con, entity)
    if not ids:
        return []
    ensure_pending_tables(con, entity)
    pending = "(select load_id from audit.pending_loads where entity = $entity)"
    params = {"entity": entity.name}
    raw = f"raw.{entity.name}"
    columns = ", ".join(
        f'"{name}"'
        for (name,) in con.execute(f"select name from pragma_table_info('{raw}')").fetchall()
    )
    con.execute("begin transaction")
    try:
        files = [
            str(r[0])
            for r in con.execute(
                "select distinct file_name from audit.loaded_files "
                f"where entity = $entity and load_id in {pending} order by 1",
                params,
            ).fetchall()
        ]
        con.execute(f"delete from {raw} where _load_id in {pending}", params)
        # a row that one pending load replaced and that an earlier pending load had written
        # is not restored: that earlier load is undone too
        con.execute(
            f"insert into {raw} select {columns} from {replaced_table(entity)} "
            f"where _replaced_by in {pending} and _load_id not in {pending}",
            params,
        )
        con.execute(f"delete from {replaced_table(entity)} where _replaced_by in {pending}", params)
        remove_loads(con, entity, "(" + ", ".join(str(int(i)) for i in ids) + ")")
        for table in ("audit.rejected_rows", "audit.loaded_files"):
            con.execute(
                f"delete from {table} where entity = $entity and load_id in {pending}", params
            )
        con.execute("delete from audit.pending_loads where entity = $entity", params)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return files
