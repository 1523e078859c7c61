"""The partner table: built whole in memory (10k rows per scale factor), then written.

Besides the rows, it holds the per-partner arrays that deals, certifications and incentives are
drawn from: productivity weight, activity window, served countries, segments and verticals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generator.common import (
    DELTA_DAYS,
    Calendar,
    pick,
    top_k,
    trend_days,
)
from orchestration.generator.reference import Reference
from orchestration.ingest.contract import PROGRAM_STATUSES, TIERS

# The sample's story per partner type. The types themselves come from the partner_types seed: a
# type these tables do not name gets DEFAULT_TYPE_SHARE of the partners (before normalising)
# and neutral productivity and segments.
DEFAULT_TYPE_SHARE = 0.03
TYPE_MIX = {
    "reseller": 0.38,
    "msp": 0.18,
    "referral": 0.15,
    "isv": 0.10,
    "system_integrator": 0.09,
    "distributor": 0.04,
    "oem": 0.03,
    "strategic_alliance": 0.03,
}
# Relative deal productivity of a partner type.
TYPE_PRODUCTIVITY = {
    "distributor": 2.0,
    "strategic_alliance": 2.5,
    "system_integrator": 1.5,
    "oem": 1.3,
    "reseller": 1.0,
    "msp": 1.0,
    "isv": 0.7,
    "referral": 0.5,
}
# Segment preference (smb, mid_market, enterprise) of a partner type.
TYPE_SEGMENTS = {
    "reseller": (0.35, 0.45, 0.20),
    "distributor": (0.45, 0.45, 0.10),
    "msp": (0.60, 0.40, 0.0),
    "isv": (0.20, 0.40, 0.40),
    "system_integrator": (0.0, 0.40, 0.60),
    "oem": (0.20, 0.40, 0.40),
    "referral": (0.50, 0.35, 0.15),
    "strategic_alliance": (0.0, 0.30, 0.70),
}
TIER_MIX = (0.45, 0.30, 0.18, 0.07)
STATUS_MIX = {"applied": 0.08, "enrolled": 0.75, "suspended": 0.05, "terminated": 0.12}
# HQ mix by region; regions come from the countries seed, and one this table does not name
# gets partners in proportion to its addressable revenue.
REGION_MIX = {"NA": 0.40, "EMEA": 0.33, "APAC": 0.17, "LATAM": 0.10}
DORMANT_BY_TIER = (0.70, 0.45, 0.25, 0.05)  # share of partners that went quiet, by tier
WEIGHT_SIGMA = 0.7
HISTORY_YEARS = 8
APPLIED, ENROLLED, SUSPENDED, TERMINATED = (PROGRAM_STATUSES.index(s) for s in STATUS_MIX)


@dataclass
class Partners:
    n: int
    types: tuple[str, ...]  # the partner types (the seed's), indexed by type_idx
    type_idx: np.ndarray
    tier: np.ndarray
    status: np.ndarray
    strategic: np.ndarray
    hq: np.ndarray
    served: np.ndarray  # [n, countries] bool, HQ included
    list_served: np.ndarray  # countries_served column filled (else empty = HQ only)
    segments: np.ndarray  # [n, 3] bool
    verticals: np.ndarray  # [n, verticals] bool
    applied: np.ndarray
    enrolled: np.ndarray  # -1: null
    terminated: np.ndarray  # -1: null
    upgraded: np.ndarray  # day of a tier upgrade in the delta days, -1: none
    weight: np.ndarray  # deal productivity
    active_until: np.ndarray  # last day the partner registers deals

    def window(self, calendar: Calendar, years: int) -> tuple[np.ndarray, np.ndarray]:
        """[start, end] days of a partner's enrolled activity within the last `years` years."""
        start = np.maximum(self.enrolled, calendar.end - round(365.25 * years))
        end = np.where(self.terminated >= 0, self.terminated, calendar.end)
        end = np.minimum(end, self.active_until)
        no = self.enrolled < 0
        return np.where(no, calendar.end, start), np.where(no, calendar.end - 1, end)


def _mix(table: dict[str, float], order: tuple[str, ...], default: float = 0.0) -> np.ndarray:
    """The table's values in the contract's code order (codes it lacks get `default`)."""
    return np.array([table.get(code, default) for code in order])


def build_partners(
    n: int, ref: Reference, calendar: Calendar, rng: np.random.Generator
) -> Partners:
    end = calendar.end
    types = ref.partner_types
    type_idx = pick(rng, _mix(TYPE_MIX, types, DEFAULT_TYPE_SHARE), n)
    status = pick(rng, _mix(STATUS_MIX, PROGRAM_STATUSES), n)
    weight = rng.lognormal(0.0, WEIGHT_SIGMA, n) * _mix(TYPE_PRODUCTIVITY, types, 1.0)[type_idx]

    # Tier follows productivity (with noise); applicants are registered.
    score = np.log(weight) + rng.normal(0.0, 0.6, n)
    tier = np.zeros(n, dtype=np.int64)
    member = status != APPLIED
    if member.any():
        # Members fill the tiers so that, with applicants all registered, the mix is TIER_MIX.
        share = np.array(TIER_MIX) / (1.0 - STATUS_MIX["applied"])
        share[0] -= STATUS_MIX["applied"] / (1.0 - STATUS_MIX["applied"])
        cuts = np.quantile(score[member], np.cumsum(share)[:-1])
        tier[member] = np.searchsorted(cuts, score[member], side="right")

    strategic = np.zeros(n, dtype=bool)
    n_strategic = max(1, round(0.01 * n)) if n >= 50 else 0
    alliances = [types.index(t) for t in ("strategic_alliance", "system_integrator") if t in types]
    alliance = np.isin(type_idx, alliances)
    candidates = np.flatnonzero(status == ENROLLED)
    if n_strategic and len(candidates):
        rank = (
            np.log(weight[candidates])
            + 3.0 * alliance[candidates]
            + rng.normal(0, 0.5, len(candidates))
        )
        chosen = candidates[np.argsort(-rank, kind="stable")[:n_strategic]]
        strategic[chosen] = True
        tier[chosen] = np.maximum(tier[chosen], TIERS.index("gold"))
        weight[chosen] *= 2.0

    # Headquarters: by addressable revenue, tilted to the regional mix of the ecosystem.
    revenue = ref.country_revenue()
    region_rev = np.bincount(ref.country_region, revenue, len(ref.regions))
    tilt = np.array([REGION_MIX.get(r, 0.0) for r in ref.regions]) / np.maximum(region_rev, 1e-9)
    tilt = np.where(tilt > 0, tilt, 1.0 / max(region_rev.sum(), 1e-9))
    hq = pick(rng, revenue * tilt[ref.country_region], n)

    same_region = ref.country_region[None, :] == ref.country_region[hq][:, None]
    others = np.where(same_region, revenue[None, :], 0.0)
    others[np.arange(n), hq] = 0.0
    # HQ plus 0-3 other countries of its region (distributors tend to cover more).
    k = pick(rng, [0.35, 0.30, 0.20, 0.15], n) + np.isin(
        type_idx, [types.index(t) for t in ("distributor",) if t in types]
    )
    served = top_k(rng, others, np.minimum(k, 3))
    served[np.arange(n), hq] = True
    list_served = rng.random(n) >= 0.20
    served &= list_served[:, None] | (np.arange(len(ref.countries))[None, :] == hq[:, None])

    seg_pref = np.array([TYPE_SEGMENTS.get(t, (1.0, 1.0, 1.0)) for t in types])[type_idx]
    segments = top_k(rng, seg_pref, pick(rng, [0.45, 0.35, 0.20], n) + 1)
    specialist = rng.random(n) >= 0.55
    verticals = top_k(rng, np.ones((n, len(ref.verticals))), pick(rng, [0.5, 0.3, 0.2], n) + 1)
    verticals &= specialist[:, None]

    # Dates: applicants are recent; members enrolled 10-120 days after applying.
    gap = rng.integers(10, 121, n)
    first = end - round(365.25 * HISTORY_YEARS)
    applied = trend_days(rng, np.full(n, first), end - gap - 1, 1.5)
    applied = np.where(member, applied, end - rng.integers(0, 200, n))
    enrolled = np.where(member, applied + gap, -1)
    span = np.maximum(end - enrolled - 1, 0)
    terminated = np.where(
        status == TERMINATED,
        enrolled + 1 + np.floor(rng.random(n) * (span + 1)).astype(np.int64),
        -1,
    )
    terminated = np.where(status == TERMINATED, np.minimum(terminated, end), -1)

    dormant = member & ~strategic & (rng.random(n) < np.array(DORMANT_BY_TIER)[tier])
    active_until = np.where(dormant, end - 365 - rng.integers(1, 540, n), end)
    partners = Partners(
        n=n,
        types=types,
        type_idx=type_idx,
        tier=tier,
        status=status,
        strategic=strategic,
        hq=hq,
        served=served,
        list_served=list_served,
        segments=segments,
        verticals=verticals,
        applied=applied,
        enrolled=enrolled,
        terminated=terminated,
        upgraded=np.full(n, -1, dtype=np.int64),
        weight=weight,
        active_until=active_until,
    )
    _delta_events(partners, calendar, rng)
    return partners


def _delta_events(p: Partners, calendar: Calendar, rng: np.random.Generator) -> None:
    """Move a few partners' latest change into the delta days: enrolment, termination, upgrade."""
    snap = calendar.snapshot
    n_events = max(3, round(0.02 * p.n))
    pools = {
        "enroll": np.flatnonzero((p.status == ENROLLED) & ~p.strategic),
        "terminate": np.flatnonzero((p.status == TERMINATED) & (p.enrolled < snap)),
        "upgrade": np.flatnonzero((p.status == ENROLLED) & (p.tier > 0) & (p.enrolled < snap)),
    }
    taken = np.zeros(p.n, dtype=bool)
    for kind, pool in pools.items():
        pool = rng.permutation(pool)
        pool = pool[~taken[pool]][: -(-n_events // len(pools))]
        taken[pool] = True
        day = snap + 1 + (np.arange(len(pool)) % DELTA_DAYS)
        if kind == "enroll":
            p.enrolled[pool] = day
            p.applied[pool] = day - rng.integers(10, 121, len(pool))
            p.tier[pool] = 0
            p.active_until[pool] = calendar.end
        elif kind == "terminate":
            p.terminated[pool] = day
        else:
            p.upgraded[pool] = day
