"""Reference code sets the loader checks rows against, read from the strategy team's seeds.

The same CSV files are dbt seeds; the loader reads them directly so that an ingestion run does
not depend on a dbt run having happened first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.ingest.contract import PARTNER_TYPES


class ReferenceError(ValueError):
    """A seed the loader needs is missing or lacks a column."""


_SEEDS = {
    # temp table: (seed file, SQL that selects the code from `seed`)
    "ref_countries": ("countries.csv", "upper(trim(country_code))"),
    "ref_verticals": ("verticals.csv", "lower(trim(vertical_code))"),
    "ref_partner_type_aliases": ("partner_type_aliases.csv", "lower(trim(alias))"),
}


def _read_seed(seeds_dir: Path, file_name: str) -> str:
    path = seeds_dir / file_name
    if not path.is_file():
        raise ReferenceError(f"seed {path} is missing: the loader needs it to check codes")
    return f"read_csv('{path}', header=true, all_varchar=true)"


def register_reference(con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> None:
    """Create temp tables ref_* holding the code sets and FX coverage in `con`."""
    for table, (file_name, expr) in _SEEDS.items():
        source = _read_seed(seeds_dir, file_name)
        try:
            con.execute(
                f"create or replace temp table {table} as "
                f"select distinct {expr} as code from {source} as seed where {expr} <> ''"
            )
        except duckdb.BinderException as exc:
            raise ReferenceError(f"seed {seeds_dir / file_name}: {exc}") from exc
    canonical = ", ".join(f"('{t}')" for t in PARTNER_TYPES)
    con.execute(
        "create or replace temp table ref_partner_types as "
        f"select code from (values {canonical}) as t(code) "
        "union select code from ref_partner_type_aliases"
    )
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
