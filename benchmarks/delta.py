"""One day's deal extract on top of a generated landing zone: ≈ 1/365 of the deals, half of
them new deals and half later versions of open deals that closed (won or lost) that day.

The deal files are read where they lie (a view, never a copy in memory) and the new deals are a
reservoir sample, so that memory stays flat in the scale factor.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb


def write_day(landing: Path, day: date, seed: int = 1) -> tuple[Path, int]:
    """Write deals/deals_<day>.csv; returns the file and its row count."""
    con = duckdb.connect()
    con.execute(f"select setseed({(seed % 1000) / 1000})")
    files = f"'{landing}/deals/*.parquet'"
    csvs = f"'{landing}/deals/*.csv'"
    con.execute(
        "create temp view deals as "
        f"select columns(*)::varchar from read_parquet({files}, union_by_name = true) "
        "union all by name "
        f"select * from read_csv({csvs}, all_varchar = true, union_by_name = true)"
    )
    [(total,)] = con.execute("select count(distinct deal_id) from deals").fetchall()
    n = max(2, total // 365)
    out = landing / "deals" / f"deals_{day.isoformat()}.csv"
    stamp = f"{day.isoformat()} 18:00:00"
    prev = (day - timedelta(days=30)).isoformat()
    con.execute(
        f"""
        copy (
          with open_deals as (
            select * from deals
            where stage in ('registered', 'approved')
              and partner_id is not null and registered_on >= '{prev}'
            qualify row_number() over (partition by deal_id order by random()) = 1
            order by random() limit {n // 2}
          ),
          closed as (
            select * replace (
              case when random() < 0.6 then 'won' else 'lost' end as stage,
              '{day.isoformat()}' as closed_on,
              '{stamp}' as updated_at)
            from open_deals
          ),
          picked as (
            select * from (select * from deals where partner_id is not null)
            using sample reservoir({n - n // 2} rows) repeatable ({seed})
          ),
          fresh as (
            select * replace (
              'DNEW-{day.isoformat()}-' || cast(row_number() over () as varchar) as deal_id,
              'registered' as stage,
              '{day.isoformat()}' as registered_on,
              null as closed_on,
              '{stamp}' as updated_at)
            from picked
          )
          select deal_id, partner_id, deal_source, account_id, account_country,
                 account_segment, account_vertical, product_line, amount, currency, stage,
                 registered_on, closed_on, updated_at
          from (select * from closed union all by name select * from fresh)
        ) to '{out}' (header, delimiter ',')
        """
    )
    [(rows,)] = con.execute(f"select count(*) from read_csv('{out}')").fetchall()
    con.close()
    return out, rows
