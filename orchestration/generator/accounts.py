"""A virtual pool of customer accounts, laid out over the market cells of market_segments.csv.

Account k (0-based) lies in the cell whose index range holds k, so its country, segment and
vertical never change, and nothing per account is held in memory: only per-cell offsets.
Within a cell, a few accounts buy much more often than the rest (repeat business).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generator.reference import Reference

ACCOUNTS_PER_DEAL = 5.0
POPULARITY_SKEW = 1.0  # rank = n * u**skew: a higher skew concentrates deals on fewer accounts
MODEL_FACTOR = {"direct": 3.0, "hybrid": 1.5, "channel": 0.7}  # direct sales focus


@dataclass(frozen=True)
class Accounts:
    start: np.ndarray  # first account of each cell, plus the total at the end
    count: np.ndarray  # accounts per cell
    group_start: np.ndarray  # first account of each (country, segment) group, plus total
    cell_country: np.ndarray
    cell_segment: np.ndarray
    cell_vertical: np.ndarray
    direct_cum: np.ndarray  # cumulative cell weights for direct deals

    @property
    def total(self) -> int:
        return int(self.start[-1])

    def country_range(self, country: np.ndarray, n_segments: int) -> tuple[np.ndarray, np.ndarray]:
        return self.group_start[country * n_segments], self.group_start[(country + 1) * n_segments]

    def group_range(self, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.group_start[group], self.group_start[group + 1]

    def in_range(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """An account in [lo, hi) (both in the pool): its cell by size, then a popular one."""
        k = lo + np.floor(rng.random(len(lo)) * (hi - lo)).astype(np.int64)
        cell = np.searchsorted(self.start, np.minimum(k, self.total - 1), side="right") - 1
        return self.in_cell(rng, cell)

    def in_cell(self, rng: np.random.Generator, cell: np.ndarray) -> np.ndarray:
        rank = np.floor(self.count[cell] * rng.random(len(cell)) ** POPULARITY_SKEW)
        return self.start[cell] + np.minimum(rank.astype(np.int64), self.count[cell] - 1)

    def cell_of(self, account: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.start, account, side="right") - 1

    def direct(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(n) * self.direct_cum[-1]
        cell = np.minimum(np.searchsorted(self.direct_cum, u, side="right"), len(self.count) - 1)
        return self.in_cell(rng, cell)


def build_accounts(ref: Reference, n_deals: int, n_segments: int) -> Accounts:
    total = max(len(ref.cell_accounts), round(ACCOUNTS_PER_DEAL * n_deals))
    share = ref.cell_accounts / ref.cell_accounts.sum() * total
    count = np.floor(share).astype(np.int64)
    # Largest remainder, ties by cell order: the counts sum to `total` exactly.
    rest = total - int(count.sum())
    if rest > 0:
        count[np.argsort(-(share - count), kind="stable")[:rest]] += 1
    start = np.concatenate([[0], np.cumsum(count)])
    group = ref.cell_country * n_segments + ref.cell_segment
    per_group = np.bincount(group, count, len(ref.countries) * n_segments).astype(np.int64)
    model = np.array([MODEL_FACTOR.get(m, 1.0) for m in ref.cell_model])
    direct = np.sqrt(ref.cell_revenue * ref.cell_accounts) * model * (count > 0)
    return Accounts(
        start=start,
        count=count,
        group_start=np.concatenate([[0], np.cumsum(per_group)]),
        cell_country=ref.cell_country,
        cell_segment=ref.cell_segment,
        cell_vertical=ref.cell_vertical,
        direct_cum=np.cumsum(direct),
    )
