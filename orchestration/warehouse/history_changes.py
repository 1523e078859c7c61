"""What a refresh changed in the stored history (docs/contract.md §10): the rows of
`marts.mart_partner_type_history` for the dates it computes, read before dbt and after it.

A date computed again whose rows differ is *changed*: a late-arriving version (delivered after
the date, with `updated_at` on or before it) or a correction reached it. A date that had no rows
is *added*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

HISTORY_MART = "mart_partner_type_history"
_TABLE = f"marts.{HISTORY_MART}"

# per date, per partner type: the row's figures (column -> value)
Rows = dict[date, dict[str, dict[str, object]]]
# display columns that a seed provides: a new label changes no figure
_LABEL_SUFFIXES = ("_name", "_sort_order")


def stored_rows(con: duckdb.DuckDBPyConnection, first: date, last: date) -> Rows:
    """The history's figures of the dates in [first, last]; empty without the mart."""
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'marts' and table_name = ? order by column_index",
            [HISTORY_MART],
        ).fetchall()
    ]
    if not columns:
        return {}
    figures = [
        c
        for c in columns
        if c not in ("as_of_date", "partner_type") and not c.endswith(_LABEL_SUFFIXES)
    ]
    rows = con.execute(
        f"select as_of_date, partner_type, {', '.join(figures)} from {_TABLE} "
        "where as_of_date between ? and ?",
        [first, last],
    ).fetchall()
    out: Rows = {}
    for day, partner_type, *values in rows:
        out.setdefault(day, {})[partner_type] = dict(zip(figures, values, strict=True))
    return out


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
    """The same partner types with the same figures, in the columns both have (a column added
    to the mart since is not a change of the figures stored before it)."""
    if before.keys() != after.keys():
        return False
    for partner_type, old in before.items():
        new = after[partner_type]
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
