"""Incentives (partner investment), generated chunk by chunk.

Most rows go to enrolled partners in proportion to their size (strategic partners get more rows
and larger amounts); a share of recruitment bonuses is approved before the partner enrolled
(acquisition spend). Status is drawn first, then the approval date it allows; a row whose last
change (payment, clawback) falls in the delta days has its earlier state in the initial extract.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from orchestration.generator.common import (
    DAY,
    ID_PREFIX,
    ID_WIDTH,
    Calendar,
    codes,
    date_array,
    decimal_array,
    ids,
    local_amount,
    month_of,
    pick,
    time_of_day,
    trend_days,
    ts_array,
)
from orchestration.generator.partners import Partners
from orchestration.generator.reference import Reference
from orchestration.generator.story import UNFUNDED_INVESTMENT_FACTOR
from orchestration.ingest.contract import INCENTIVE_PROGRAMS, INCENTIVE_STATUSES

STATUS_MIX = {"accrued": 0.10, "approved": 0.30, "paid": 0.52, "clawed_back": 0.08}
# Program mix per partner type, programs in the order:
# mdf, rebate, spiff, commission, enablement, recruitment_bonus, co_marketing
PROGRAM_MIX = {
    "reseller": (20, 28, 18, 6, 10, 4, 14),
    "distributor": (22, 38, 6, 2, 10, 2, 20),
    "msp": (14, 36, 8, 10, 12, 4, 16),
    "isv": (12, 4, 4, 10, 30, 4, 36),
    "system_integrator": (16, 6, 10, 22, 22, 4, 20),
    "oem": (6, 40, 2, 20, 14, 2, 16),
    "referral": (4, 2, 14, 70, 4, 4, 2),
    "strategic_alliance": (28, 6, 2, 6, 18, 2, 38),
}
PROGRAM_ORDER = (
    "mdf",
    "rebate",
    "spiff",
    "commission",
    "enablement",
    "recruitment_bonus",
    "co_marketing",
)
MEDIAN_USD = {
    "mdf": 8_000,
    "rebate": 3_000,
    "spiff": 500,
    "commission": 2_500,
    "enablement": 4_000,
    "recruitment_bonus": 5_000,
    "co_marketing": 10_000,
}
PRE_ENROLMENT_SHARE = 0.035  # rows that are recruitment bonuses approved before enrolment
STRATEGIC_ROWS, STRATEGIC_AMOUNT = 1.5, 2.0
HISTORY_DAYS = 1095
ACCRUED, APPROVED, PAID, CLAWED = (INCENTIVE_STATUSES.index(s) for s in STATUS_MIX)
RECRUITMENT = INCENTIVE_PROGRAMS.index("recruitment_bonus")


class IncentiveModel:
    def __init__(
        self,
        partners: Partners,
        ref: Reference,
        calendar: Calendar,
        unfunded_type: int | None = None,
    ):
        self.p, self.ref, self.cal = partners, ref, calendar
        end, start = calendar.end, calendar.end - HISTORY_DAYS
        member = partners.enrolled >= 0
        stop = np.where(partners.terminated >= 0, partners.terminated, end)
        self.lo = np.where(member, np.maximum(partners.enrolled, start), end)
        self.hi = np.where(member, stop, end - 1)
        dormant = partners.active_until < end
        weight = np.sqrt(partners.weight) * np.maximum(self.hi - self.lo + 1, 0)
        weight *= np.where(partners.strategic, STRATEGIC_ROWS, 1.0) * np.where(dormant, 0.4, 1.0)
        # The story's unfunded strategy (story.py): its type gets a small part of its rows.
        funding = np.where(partners.type_idx == unfunded_type, UNFUNDED_INVESTMENT_FACTOR, 1.0)
        self.cum = np.cumsum(weight * funding)
        # Before enrolment: from applying (within the history) to the day before enrolling.
        self.pre_lo = np.maximum(partners.applied, start)
        self.pre_hi = np.where(member, partners.enrolled - 1, end)
        self.pre_cum = np.cumsum((self.pre_hi >= self.pre_lo) * funding)
        mix = np.array(
            [
                [PROGRAM_MIX.get(t, (1,) * 7)[PROGRAM_ORDER.index(g)] for g in INCENTIVE_PROGRAMS]
                for t in partners.types
            ],
            dtype=np.float64,
        )
        self.program_cum = np.cumsum(mix, axis=1)
        self.median = np.array([MEDIAN_USD.get(g, 2_000) for g in INCENTIVE_PROGRAMS], dtype=float)
        self.rates, self.base = ref.rate_table(int(month_of(np.array([end]))[0]))
        self.whole = np.array([c in ("JPY", "KRW") for c in ref.currencies])


def _draw(cum: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(cum) - 1)


def _bounds(
    status: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray]:
    a = np.where(status == ACCRUED, np.maximum(lo, end - 90), lo)
    a = np.where(status == APPROVED, np.maximum(lo, end - 240), a)
    b = np.where(status == PAID, np.minimum(hi, end - 15), hi)
    b = np.where(status == CLAWED, np.minimum(hi, end - 200), b)
    return a, b


def incentive_chunk(
    model: IncentiveModel,
    rng: np.random.Generator,
    first: int,
    n: int,
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, dict[str, pa.Array]]:
    p, ref, end, snap = model.p, model.ref, model.cal.end, model.cal.snapshot
    pre = (rng.random(n) < PRE_ENROLMENT_SHARE) & (model.pre_cum[-1] > 0)
    partner = _draw(model.cum, rng, n)
    if pre.any():
        partner[pre] = _draw(model.pre_cum, rng, int(pre.sum()))
    cum = model.program_cum[p.type_idx[partner]]
    program = np.minimum(
        (cum <= (rng.random(n) * cum[:, -1])[:, None]).sum(axis=1), cum.shape[1] - 1
    )
    program = np.where(pre, RECRUITMENT, program)
    lo = np.where(pre, model.pre_lo[partner], model.lo[partner])
    hi = np.where(pre, model.pre_hi[partner], model.hi[partner])

    status = pick(rng, [STATUS_MIX[s] for s in INCENTIVE_STATUSES], n)
    # A status the partner's window cannot hold falls back to paid, else approved (always fits).
    for fallback in (PAID, APPROVED):
        a, b = _bounds(status, lo, hi, end)
        status = np.where(a > b, fallback, status)
    a, b = _bounds(status, lo, hi, end)
    approved = trend_days(rng, a, b, 0.8)
    settled = (status == PAID) | (status == CLAWED)
    room = np.clip(np.where(status == CLAWED, end - approved - 30, end - approved), 15, 90)
    paid = approved + 15 + np.floor(rng.random(n) * (room - 14)).astype(np.int64)
    paid = np.minimum(paid, approved + room)
    clawback = (
        paid + 30 + np.floor(rng.random(n) * np.clip(end - paid - 29, 1, 151)).astype(np.int64)
    )
    clawback = np.minimum(clawback, end)
    last = np.select([status == PAID, status == CLAWED], [paid, clawback], approved)

    usd = model.median[program] * rng.lognormal(0.0, 0.9, n)
    usd = np.maximum(usd * np.where(p.strategic[partner], STRATEGIC_AMOUNT, 1.0), 50.0)
    currency = ref.country_currency[p.hq[partner]]
    cents, currency = local_amount(
        usd, currency, approved, approved, model.rates, model.base, ref.fx_first_month, model.whole
    )
    delta = np.where(last > snap, last - snap - 1, -1)

    def columns(
        sel: np.ndarray, status_: np.ndarray, paid_null: np.ndarray, stamp: np.ndarray
    ) -> dict[str, pa.Array]:
        return {
            "incentive_id": ids(ID_PREFIX["incentives"], first + sel + 1, ID_WIDTH["incentives"]),
            "partner_id": ids(ID_PREFIX["partners"], partner[sel] + 1, ID_WIDTH["partners"]),
            "program": codes(INCENTIVE_PROGRAMS, program[sel]),
            "amount": decimal_array(cents[sel]),
            "currency": codes(ref.currencies, currency[sel]),
            "status": codes(INCENTIVE_STATUSES, status_),
            "approved_on": date_array(approved[sel]),
            "paid_on": date_array(paid[sel], paid_null),
            "updated_at": ts_array(stamp),
        }

    final = columns(np.arange(n), status, ~settled, last * DAY + time_of_day(rng, n))
    prior = np.flatnonzero((delta >= 0) & (approved <= snap))
    was_paid = (status[prior] == CLAWED) & (paid[prior] <= snap)
    prior_day = np.where(was_paid, paid[prior], approved[prior])
    earlier = columns(
        prior,
        np.where(was_paid, PAID, APPROVED),
        ~was_paid,
        prior_day * DAY + time_of_day(rng, len(prior)),
    )
    return final, delta, prior, earlier
