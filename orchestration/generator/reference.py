"""Reference data the generator draws from, read from the seeds (never duplicated in code).

Countries are those of `market_segments.csv` (regions from `countries.csv`), verticals from
`verticals.csv`, partner types from `partner_types.csv` and their aliases from
`partner_type_aliases.csv`, currencies and rates from `fx_rates.csv`. The segments are those the
generator models (`SEGMENTS`), codes of `segments.csv`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

DEFAULT_SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"

# The customer segments the generator models, in the order of its per-segment parameters
# (deals.SEGMENT_MEDIAN_USD and SEGMENT_DEALS, partners.TYPE_SEGMENTS): codes of the segments
# seed (seeds/segments.csv). Market cells of a segment that only the seed names get no
# generated accounts; the loader, dbt, the gates and the report read the seed itself.
SEGMENTS = ("smb", "mid_market", "enterprise")

# ISO 4217 local currency of countries that do not use the US dollar. A country's deals are in
# its local currency only when fx_rates.csv has rates for it; otherwise they are in USD.
EURO_AREA = frozenset(
    [
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
    ]
)
LOCAL_CURRENCY = {
    "GB": "GBP",
    "JP": "JPY",
    "AU": "AUD",
    "CA": "CAD",
    "NZ": "NZD",
    "CH": "CHF",
    "SE": "SEK",
    "PL": "PLN",
    "IN": "INR",
    "BR": "BRL",
    "MX": "MXN",
    "SG": "SGD",
    "KR": "KRW",
    "ZA": "ZAR",
    **{c: "EUR" for c in EURO_AREA},
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)
        ]


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def month_index(d: date) -> int:
    """Months since 1970-01."""
    return (d.year - 1970) * 12 + d.month - 1


@dataclass(frozen=True)
class Reference:
    countries: tuple[str, ...]  # market countries, sorted
    country_region: np.ndarray  # region index per country
    regions: tuple[str, ...]
    verticals: tuple[str, ...]
    partner_types: tuple[str, ...]  # canonical types, in the seed's order
    aliases: dict[str, tuple[str, ...]]  # canonical type -> aliases (as in the seed)
    # Market cells ordered by (country, segment, vertical).
    cell_country: np.ndarray
    cell_segment: np.ndarray
    cell_vertical: np.ndarray
    cell_accounts: np.ndarray  # float64
    cell_revenue: np.ndarray  # float64
    cell_model: np.ndarray  # coverage_model code per cell (object array)
    cell_target: np.ndarray  # target_coverage_pct per cell (float64; 0 when empty)
    currencies: tuple[str, ...]  # "USD" first, then the fx currencies
    country_currency: np.ndarray  # currency index per country
    fx_first_month: np.ndarray  # month_index of the first rate per currency
    fx_base_month: int
    fx_rates: np.ndarray  # [currency, month - base] usd_per_unit, forward filled

    def country_revenue(self) -> np.ndarray:
        return np.bincount(self.cell_country, self.cell_revenue, len(self.countries))

    def rate_table(self, last_month: int) -> tuple[np.ndarray, int]:
        """usd_per_unit per [currency, month - base] covering up to `last_month`."""
        rates = self.fx_rates
        need = last_month - self.fx_base_month + 1
        if need > rates.shape[1]:
            pad = np.repeat(rates[:, -1:], need - rates.shape[1], axis=1)
            rates = np.concatenate([rates, pad], axis=1)
        return rates, self.fx_base_month


def load_reference(seeds_dir: Path) -> Reference:
    regions_by_country = {
        r["country_code"].upper(): r["region"] for r in _rows(seeds_dir / "countries.csv")
    }
    verticals = tuple(r["vertical_code"].lower() for r in _rows(seeds_dir / "verticals.csv"))
    type_rows = _rows(seeds_dir / "partner_types.csv")
    partner_types = tuple(r["partner_type"].lower() for r in type_rows if r["partner_type"])
    aliases: dict[str, list[str]] = {t: [] for t in partner_types}
    for r in _rows(seeds_dir / "partner_type_aliases.csv"):
        canonical = r["partner_type"].strip().lower()
        if canonical in aliases and r["alias"]:
            aliases[canonical].append(r["alias"])

    cells = [
        r
        for r in _rows(seeds_dir / "market_segments.csv")
        if r["segment"].lower() in SEGMENTS and r["vertical"].lower() in verticals
    ]
    countries = tuple(sorted({r["country_code"].upper() for r in cells}))
    regions = tuple(sorted({regions_by_country.get(c, "other") for c in countries}))
    c_idx = {c: i for i, c in enumerate(countries)}
    s_idx = {s: i for i, s in enumerate(SEGMENTS)}
    v_idx = {v: i for i, v in enumerate(verticals)}
    keyed = sorted(
        (
            c_idx[r["country_code"].upper()],
            s_idx[r["segment"].lower()],
            v_idx[r["vertical"].lower()],
            float(r["addressable_accounts"] or 0),
            float(r["addressable_revenue_usd"] or 0),
            r.get("coverage_model", "channel").lower(),
            _number(r.get("target_coverage_pct", "")),
        )
        for r in cells
    )
    cols = list(zip(*keyed, strict=True))

    fx: dict[str, dict[int, float]] = {}
    for r in _rows(seeds_dir / "fx_rates.csv"):
        cur = r["currency"].upper()
        try:
            rate = float(r["usd_per_unit"])
        except ValueError:
            continue
        if cur == "USD" or rate <= 0:
            continue
        fx.setdefault(cur, {})[month_index(date.fromisoformat(r["month"][:10]))] = rate
    currencies = ("USD", *sorted(fx))
    all_months = [m for rates in fx.values() for m in rates]
    base = min(all_months) if all_months else month_index(date(2000, 1, 1))
    last = max(all_months) if all_months else base
    table = np.ones((len(currencies), last - base + 1))
    first = np.full(len(currencies), -(10**6), dtype=np.int64)
    for ci, cur in enumerate(currencies[1:], start=1):
        rates = fx[cur]
        first[ci] = min(rates)
        current = rates[min(rates)]
        for m in range(base, last + 1):
            current = rates.get(m, current)
            table[ci, m - base] = current
    cur_idx = {c: i for i, c in enumerate(currencies)}
    country_currency = np.array(
        [cur_idx.get(LOCAL_CURRENCY.get(c, "USD"), 0) for c in countries], dtype=np.int64
    )
    return Reference(
        countries=countries,
        country_region=np.array(
            [regions.index(regions_by_country.get(c, "other")) for c in countries], dtype=np.int64
        ),
        regions=regions,
        verticals=verticals,
        partner_types=partner_types,
        aliases={t: tuple(a) for t, a in aliases.items()},
        cell_country=np.array(cols[0], dtype=np.int64),
        cell_segment=np.array(cols[1], dtype=np.int64),
        cell_vertical=np.array(cols[2], dtype=np.int64),
        cell_accounts=np.array(cols[3], dtype=np.float64),
        cell_revenue=np.array(cols[4], dtype=np.float64),
        cell_model=np.array(cols[5], dtype=object),
        cell_target=np.array(cols[6], dtype=np.float64),
        currencies=currencies,
        country_currency=country_currency,
        fx_first_month=first,
        fx_base_month=base,
        fx_rates=table,
    )
