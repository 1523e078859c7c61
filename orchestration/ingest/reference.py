"""Reference code sets the loader checks rows against, read from the strategy team's seeds.

The same CSV files are dbt seeds; the loader reads them directly so that an ingestion run does
not depend on a dbt run having happened first.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

import duckdb


class ReferenceError(ValueError):
    """A seed the loader needs is missing or lacks a column."""


_SEEDS = {
    # temp table: (seed file, SQL that selects the code from `seed`)
    "ref_countries": ("countries.csv", "upper(trim(country_code))"),
    "ref_verticals": ("verticals.csv", "lower(trim(vertical_code))"),
    "ref_segments": ("segments.csv", "lower(trim(segment))"),
    "ref_partner_type_aliases": ("partner_type_aliases.csv", "lower(trim(alias))"),
    "ref_partner_type_names": ("partner_types.csv", "lower(trim(partner_type))"),
}
# A partner type in an extract is a canonical type of the partner_types seed or an alias.
PARTNER_TYPES_SQL = (
    "select code from ref_partner_type_names union select code from ref_partner_type_aliases"
)


def _read_seed(seeds_dir: Path, file_name: str) -> str:
    path = seeds_dir / file_name
    if not path.is_file():
        raise ReferenceError(f"seed {path} is missing: the loader needs it to check codes")
    return f"read_csv('{path}', header=true, all_varchar=true)"


@cache
def time_zone_names() -> tuple[str, ...]:
    """The time zone names a timestamp may carry: the IANA Area/Location names of Python's
    time zone database that DuckDB knows too, and UTC and GMT (each engine converts with its
    own copy of the database)."""
    with duckdb.connect() as con:
        known = {r[0] for r in con.execute("select name from pg_timezone_names()").fetchall()}
    # Area/Location names only (and UTC, GMT): the databases disagree on what the legacy
    # abbreviations mean (EST is a fixed UTC-5 in Java, a link to America/Panama in recent
    # IANA releases), so such a name is ambiguous, and ambiguous input is a reject
    names = {
        name.lower(): name
        for name in zoneinfo.available_timezones() & known
        if "/" in name or name in ("UTC", "GMT")
    }
    return tuple(sorted(names.values()))


def register_reference(con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> None:
    """Create temp tables ref_* holding the code sets, the time zone names and the FX
    coverage in `con`."""
    con.execute(
        "create or replace temp table ref_time_zones as "
        "select lower(name) as code, name from (select unnest(?::varchar[]) as name)",
        [list(time_zone_names())],
    )
    for table, (file_name, expr) in _SEEDS.items():
        source = _read_seed(seeds_dir, file_name)
        try:
            con.execute(
                f"create or replace temp table {table} as "
                f"select distinct {expr} as code from {source} as seed where {expr} <> ''"
            )
        except duckdb.BinderException as exc:
            raise ReferenceError(f"seed {seeds_dir / file_name}: {exc}") from exc
    con.execute(f"create or replace temp table ref_partner_types as {PARTNER_TYPES_SQL}")
    fx = _read_seed(seeds_dir, "fx_rates.csv")
    try:
        con.execute(
            "create or replace temp table ref_fx_first_month as "
            "select upper(trim(currency)) as currency, "
            "min(date_trunc('month', cast(month as date))) as first_month "
            f"from {fx} as seed "
            "where try_cast(usd_per_unit as double) > 0 "
            "and upper(trim(currency)) <> 'USD' group by 1 "
            "union all select 'USD', date '0001-01-01'"
        )
    except duckdb.Error as exc:
        raise ReferenceError(f"seed {seeds_dir / 'fx_rates.csv'}: {exc}") from exc
