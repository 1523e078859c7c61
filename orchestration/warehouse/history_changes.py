"""What a refresh changed in the stored history (docs/contract.md §10): the rows of each
history mart for the dates it computes, read before dbt and after it.

A date computed again whose rows differ is *changed*: a late-arriving version (delivered after
the date, with `updated_at` on or before it) or a correction reached it. A date that had no rows
is *added*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

# each history mart (schema marts) and the key of its rows within a date, if any
HISTORY_MARTS: dict[str, str | None] = {
    "mart_partner_type_history": "partner_type",
    "mart_strategy_history": None,
}

# per date, per row key (the partner type; "" for a mart with one row per date): the row's
# figures (column -> value)
Rows = dict[date, dict[str, dict[str, object]]]
# display columns that a seed provides: a new label changes no figure
_LABEL_SUFFIXES = ("_name", "_sort_order")


def stored_rows(con: duckdb.DuckDBPyConnection, mart: str, first: date, last: date) -> Rows:
    """The figures of history mart `mart` on the dates in [first, last]; empty without it."""
    row_key = HISTORY_MARTS[mart]
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'marts' and table_name = ? order by column_index",
            [mart],
        ).fetchall()
    ]
    if not columns:
        return {}
    figures = [
        c for c in columns if c not in ("as_of_date", row_key) and not c.endswith(_LABEL_SUFFIXES)
    ]
    key = row_key or "''"
    rows = con.execute(
        f"select as_of_date, {key}, {', '.join(figures)} from marts.{mart} "
        "where as_of_date between ? and ?",
        [first, last],
    ).fetchall()
    out: Rows = {}
    for day, row, *values in rows:
        out.setdefault(day, {})[row] = dict(zip(figures, values, strict=True))
    return out


def stored_history(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[str, Rows]:
    """stored_rows of every history mart."""
    return {mart: stored_rows(con, mart, first, last) for mart in HISTORY_MARTS}


@dataclass
class HistoryChanges:
    computed: list[date] = field(default_factory=list)
    added: list[date] = field(default_factory=list)
    changed: list[date] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        return {
            "history_dates_computed": len(self.computed),
            "history_dates_added": [d.isoformat() for d in self.added],
            "history_dates_changed": [d.isoformat() for d in self.changed],
        }


def _same(before: dict[str, dict[str, object]], after: dict[str, dict[str, object]]) -> bool:
    """The same rows (partner types) with the same figures, in the columns both have (a column added
    to the mart since is not a change of the figures stored before it)."""
    if before.keys() != after.keys():
        return False
    for row, old in before.items():
        new = after[row]
        if any(old[c] != new[c] for c in old.keys() & new.keys()):
            return False
    return True


def compare(before: Rows, after: Rows) -> HistoryChanges:
    """The dates of `after` (the ones computed), split into added and changed ones."""
    changes = HistoryChanges(computed=sorted(after))
    for day in changes.computed:
        if day not in before:
            changes.added.append(day)
        elif not _same(before[day], after[day]):
            changes.changed.append(day)
    return changes
