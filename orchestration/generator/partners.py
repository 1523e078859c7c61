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
from orchestration.generator.story import MIN_DRIFT_RECRUITS, Story
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
    n: int, ref: Reference, calendar: Calendar, rng: np.random.Generator, story: Story | None = None
) -> Partners:
    end = calendar.end
    story = story or Story(drift_start=end + 1)
    types = ref.partner_types
    type_idx = pick(rng, _mix(TYPE_MIX, types, DEFAULT_TYPE_SHARE), n)
    status = pick(rng, _mix(STATUS_MIX, PROGRAM_STATUSES), n)
    member = status != APPLIED

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
    dates = _Dates(type_idx, status, gap, applied, enrolled, terminated)
    _drift(dates, story, end, rng)

    weight = rng.lognormal(0.0, WEIGHT_SIGMA, n) * _mix(TYPE_PRODUCTIVITY, types, 1.0)[type_idx]

    # Tier follows productivity (with noise); applicants are registered.
    score = np.log(weight) + rng.normal(0.0, 0.6, n)
    tier = np.zeros(n, dtype=np.int64)
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
    if story.uncovered_region is not None and story.uncovered_segment is not None:
        # The story's uncovered market: partners only serve countries of their HQ's region, so
        # none serves the segment there once its partners drop it (keeping one segment).
        gap = ref.country_region[hq] == story.uncovered_region
        segments[gap, story.uncovered_segment] = False
        pref = seg_pref.copy()
        pref[:, story.uncovered_segment] = -1.0
        none = np.flatnonzero(~segments.any(axis=1))
        segments[none, np.argmax(pref[none], axis=1)] = True
    specialist = rng.random(n) >= 0.55
    verticals = top_k(rng, np.ones((n, len(ref.verticals))), pick(rng, [0.5, 0.3, 0.2], n) + 1)
    verticals &= specialist[:, None]

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
    _delta_events(partners, calendar, rng, story)
    return partners


@dataclass
class _Dates:
    """The arrays the drift rewrites in place, before anything is derived from the type."""

    type_idx: np.ndarray
    status: np.ndarray
    gap: np.ndarray
    applied: np.ndarray
    enrolled: np.ndarray
    terminated: np.ndarray


def _spread(start: int, end: int, k: int) -> np.ndarray:
    """k days evenly spread over [start, end]."""
    return start + np.floor((np.arange(k) + 0.5) * (end - start + 1) / max(k, 1)).astype(np.int64)


def _drift(d: _Dates, story: Story, end: int, rng: np.random.Generator) -> None:
    """The story's drift window [story.drift_start, end]: every recruit is of the drift type
    (at least MIN_DRIFT_RECRUITS, evenly spread), the missing type's members all leave, and no
    other partner does (their exits move before the window)."""
    start = story.drift_start
    if start > end:
        return
    if story.drift_type is not None:
        recruits = np.flatnonzero(d.enrolled >= start)
        earlier = np.flatnonzero((d.status == ENROLLED) & (d.enrolled >= 0) & (d.enrolled < start))
        extra = MIN_DRIFT_RECRUITS - len(recruits)
        if extra > 0 and len(earlier):
            recruits = np.concatenate(
                [recruits, rng.choice(earlier, min(extra, len(earlier)), replace=False)]
            )
        recruits = recruits[np.lexsort((recruits, d.enrolled[recruits]))]
        d.type_idx[recruits] = story.drift_type
        d.enrolled[recruits] = _spread(start, end, len(recruits))
        d.applied[recruits] = d.enrolled[recruits] - d.gap[recruits]
        # A recruit of the window stays: its exit would move the mix back.
        d.status[recruits] = np.where(
            d.status[recruits] == TERMINATED, ENROLLED, d.status[recruits]
        )
        d.terminated[recruits] = -1
    leaving = np.zeros(len(d.status), dtype=bool)
    if story.missing_type is not None:
        leaving = (d.enrolled >= 0) & (d.type_idx == story.missing_type)
        order = np.flatnonzero(leaving)
        order = order[np.lexsort((order, d.enrolled[order]))]
        d.status[order] = TERMINATED
        d.terminated[order] = np.maximum(_spread(start, end, len(order)), d.enrolled[order] + 1)
    # Other exits in the window move before it (after enrolment), so that the window's only
    # exits are the missing type's.
    late = (d.terminated >= start) & ~leaving
    room = start - 1 - (d.enrolled + 1)
    earlier_exit = d.enrolled + 1 + np.floor(rng.random(len(room)) * (np.maximum(room, 0) + 1))
    move = late & (room >= 0)
    d.terminated[move] = earlier_exit[move].astype(np.int64)
    stay = late & (room < 0)
    d.status[stay] = ENROLLED
    d.terminated[stay] = -1


def _delta_events(p: Partners, calendar: Calendar, rng: np.random.Generator, story: Story) -> None:
    """Move a few partners' latest change into the delta days: enrolment, termination, upgrade.
    Within the story's drift window, only partners of the drift type enrol (from those enrolled
    before the window) and only those of the missing type leave."""
    snap = calendar.snapshot
    n_events = max(3, round(0.02 * p.n))
    enroll = (p.status == ENROLLED) & ~p.strategic
    if story.drift_type is not None and story.drift_start <= calendar.end:
        enroll &= (p.type_idx == story.drift_type) & (p.enrolled < story.drift_start)
    leave = (p.status == TERMINATED) & (p.enrolled < snap)
    if story.missing_type is not None and story.drift_start <= calendar.end:
        leave &= p.type_idx == story.missing_type
    pools = {
        "enroll": np.flatnonzero(enroll),
        "terminate": np.flatnonzero(leave),
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
