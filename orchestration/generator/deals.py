"""Deals, generated and written chunk by chunk with vectorised numpy.

A deal's stage is drawn first, then its registration date within what the stage allows (open
registrations are recent, expired ones at least 90 days old) and within its partner's active
window. A deal whose last change falls in the delta days is written there, and its earlier
state (registered or approved, not closed) goes to the initial extract.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from orchestration.generator.accounts import Accounts
from orchestration.generator.common import (
    DAY,
    ID_PREFIX,
    ID_WIDTH,
    PRODUCT_LINES,
    PRODUCT_WEIGHTS,
    Calendar,
    codes,
    date_array,
    decimal_array,
    ids,
    local_amount,
    month_of,
    pick,
    pick_rows,
    time_of_day,
    trend_days,
    ts_array,
)
from orchestration.generator.partners import TYPE_SEGMENTS, Partners
from orchestration.generator.reference import SEGMENTS, Reference
from orchestration.ingest.contract import DEAL_SOURCES, DEAL_STAGES

STAGE_MIX = {
    "won": 0.35,
    "lost": 0.25,
    "registered": 0.08,
    "approved": 0.12,
    "rejected": 0.08,
    "expired": 0.12,
}
# Kinds of deal: partner_sourced, partner_influenced, direct, direct with a partner named.
SOURCE_MIX = (0.65 * 0.60, 0.65 * 0.40, 0.33, 0.02)
SEGMENT_MEDIAN_USD = {"smb": 5_000.0, "mid_market": 40_000.0, "enterprise": 250_000.0}
SEGMENT_DEALS = np.array([3.0, 1.0, 0.2])  # deal frequency by segment (smb, mid, ent)
PRODUCT_FACTOR = np.array([0.9, 1.1, 1.2, 1.4, 0.8])
HISTORY_DAYS = 1095
ZERO_DECIMAL = ("JPY", "KRW")
REG, APP, REJ, WON, LOST, EXP = (
    DEAL_STAGES.index(s) for s in ("registered", "approved", "rejected", "won", "lost", "expired")
)
KIND_SOURCE = np.array(
    [DEAL_SOURCES.index(s) for s in ("partner_sourced", "partner_influenced", "direct", "direct")]
)
DIRECT_KIND = 2


class DealModel:
    """Everything a deal chunk needs that is fixed for the whole run (per-partner arrays)."""

    def __init__(self, partners: Partners, accounts: Accounts, ref: Reference, calendar: Calendar):
        self.p, self.accounts, self.ref, self.cal = partners, accounts, ref, calendar
        self.lo, self.hi = partners.window(calendar, 3)
        self.lo = np.maximum(self.lo, calendar.end - HISTORY_DAYS)
        length = np.maximum(self.hi - self.lo + 1, 0)
        self.cum_weight = np.cumsum(partners.weight * length)
        country_accounts = np.bincount(accounts.cell_country, accounts.count, len(ref.countries))
        # Padded served-country lists per partner, weighted by accounts in the country.
        width = int(partners.served.sum(axis=1).max())
        order = np.argsort(~partners.served, axis=1, kind="stable")[:, :width]
        self.served = order
        self.served_w = np.take_along_axis(partners.served, order, axis=1) * (
            country_accounts[order] + 1e-9
        )
        pref = np.array([TYPE_SEGMENTS.get(t, (1, 1, 1)) for t in partners.types])
        self.segment_w = partners.segments * (pref[partners.type_idx] + 0.05) * SEGMENT_DEALS
        self.rates, self.base = ref.rate_table(int(month_of(np.array([calendar.end]))[0]))
        self.whole = np.array([c in ZERO_DECIMAL for c in ref.currencies])
        self.median = np.array([SEGMENT_MEDIAN_USD[s] for s in SEGMENTS])

    def partner_of(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(n) * self.cum_weight[-1]
        return np.minimum(np.searchsorted(self.cum_weight, u, side="right"), self.p.n - 1)

    def partner_accounts(self, rng: np.random.Generator, partner: np.ndarray) -> np.ndarray:
        """Accounts in a country and segment the partner serves, where the pool has one."""
        acc = self.accounts
        country = np.take_along_axis(
            self.served[partner], pick_rows(rng, self.served_w[partner])[:, None], axis=1
        )[:, 0]
        segment = pick_rows(rng, self.segment_w[partner])
        lo, hi = acc.group_range(country * len(SEGMENTS) + segment)
        c_lo, c_hi = acc.country_range(country, len(SEGMENTS))
        empty = hi <= lo
        lo, hi = np.where(empty, c_lo, lo), np.where(empty, c_hi, hi)
        empty = hi <= lo
        lo, hi = np.where(empty, 0, lo), np.where(empty, acc.total, hi)
        return acc.in_range(rng, lo, hi)


def _bounds(
    stage: np.ndarray, lo: np.ndarray, hi: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray]:
    a = np.where(stage == REG, np.maximum(lo, end - 45), lo)
    a = np.where(stage == APP, np.maximum(lo, end - 150), a)
    b = np.where(stage == EXP, np.minimum(hi, end - 90), hi)
    b = np.where((stage == WON) | (stage == LOST), np.minimum(hi, end - 10), b)
    return a, b


def deal_chunk(
    model: DealModel,
    rng: np.random.Generator,
    first: int,
    n: int,
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, dict[str, pa.Array]]:
    """Rows first+1 .. first+n: (final columns, delta index per row (-1: initial), prior rows
    (indices into the chunk), prior columns)."""
    end, snap, ref, acc = model.cal.end, model.cal.snapshot, model.ref, model.accounts
    kind = pick(rng, SOURCE_MIX, n)
    has_partner = kind != DIRECT_KIND
    partner = np.where(has_partner, model.partner_of(rng, n), -1)
    source = KIND_SOURCE[kind]
    stage = pick(rng, [STAGE_MIX[s] for s in DEAL_STAGES], n)
    lo = np.where(has_partner, model.lo[partner], end - HISTORY_DAYS)
    hi = np.where(has_partner, model.hi[partner], end)

    a, b = _bounds(stage, lo, hi, end)
    bad = a > b
    stage = np.where(bad, np.where(rng.random(n) < 0.58, WON, LOST), stage)
    for fallback in (REG, REJ):
        a, b = _bounds(stage, lo, hi, end)
        stage = np.where(a > b, fallback, stage)
    a, b = _bounds(stage, lo, hi, end)
    reg = trend_days(rng, a, b, 1.0)
    closing = (stage == WON) | (stage == LOST)
    cmax = np.clip(end - reg, 10, 180)
    closed = (
        reg
        + 10
        + np.minimum(np.floor((cmax - 9) * rng.random(n) ** 1.3), cmax - 10).astype(np.int64)
    )
    approved = reg + np.floor(rng.random(n) * (np.minimum(7, end - reg) + 1)).astype(np.int64)
    last = np.select(
        [stage == REG, stage == APP, stage == REJ, stage == EXP, closing],
        [reg, approved, np.minimum(reg + rng.integers(1, 11, n), end), reg + 90, closed],
    )
    no_reg = ~has_partner & ~closing & (rng.random(n) < 0.5)

    account = np.empty(n, dtype=np.int64)
    account[has_partner] = model.partner_accounts(rng, partner[has_partner])
    account[~has_partner] = acc.direct(rng, int((~has_partner).sum()))
    cell = acc.cell_of(account)
    segment = acc.cell_segment[cell]
    product = pick(rng, PRODUCT_WEIGHTS, n)
    usd = model.median[segment] * PRODUCT_FACTOR[product] * rng.lognormal(0.0, 0.7, n)
    fx_day = np.where(closing, closed, np.where(no_reg, last, reg))
    currency = ref.country_currency[acc.cell_country[cell]]
    cents, currency = local_amount(
        usd, currency, fx_day, reg, model.rates, model.base, ref.fx_first_month, model.whole
    )
    updated = last * DAY + time_of_day(rng, n)
    delta = np.where(last > snap, last - snap - 1, -1)

    def columns(
        sel: np.ndarray, stage_: np.ndarray, closed_null: np.ndarray, stamp: np.ndarray
    ) -> dict[str, pa.Array]:
        p = partner[sel]
        return {
            "deal_id": ids(ID_PREFIX["deals"], first + sel + 1, ID_WIDTH["deals"]),
            "partner_id": ids(ID_PREFIX["partners"], p + 1, ID_WIDTH["partners"], p < 0),
            "deal_source": codes(DEAL_SOURCES, source[sel]),
            "account_id": ids("A", account[sel] + 1, 8),
            "account_country": codes(ref.countries, acc.cell_country[cell[sel]]),
            "account_segment": codes(SEGMENTS, segment[sel]),
            "account_vertical": codes(ref.verticals, acc.cell_vertical[cell[sel]]),
            "product_line": codes(PRODUCT_LINES, product[sel]),
            "amount": decimal_array(cents[sel]),
            "currency": codes(ref.currencies, currency[sel]),
            "stage": codes(DEAL_STAGES, stage_),
            "registered_on": date_array(reg[sel], no_reg[sel]),
            "closed_on": date_array(closed[sel], closed_null),
            "updated_at": ts_array(stamp),
        }

    everything = np.arange(n)
    final = columns(everything, stage, ~closing, updated)
    # Earlier state of deals registered before the snapshot whose last change is after it.
    prior = np.flatnonzero((delta >= 0) & (reg <= snap))
    was_approved = (approved[prior] <= snap) & np.isin(stage[prior], (WON, LOST, EXP))
    prior_day = np.where(was_approved, approved[prior], reg[prior])
    prior_cols = columns(
        prior,
        np.where(was_approved, APP, REG),
        np.ones(len(prior), dtype=bool),
        prior_day * DAY + time_of_day(rng, len(prior)),
    )
    return final, delta, prior, prior_cols
