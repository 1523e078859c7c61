"""Certifications: one row per certified person and track, in partner order, chunk by chunk.

Each partner gets a number of certifications (in memory: one count per partner) and a pool of
people. Row k of a partner is person k mod P on the person's (k div P)-th track, so a person
never holds the same track twice, and any chunk can be generated on its own.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from orchestration.generator.common import (
    DAY,
    ID_PREFIX,
    ID_WIDTH,
    PRODUCT_LINES,
    PRODUCT_WEIGHTS,
    VERTICAL_TRACK,
    Calendar,
    codes,
    date_array,
    ids,
    pick,
    pick_rows,
    time_of_day,
    trend_days,
    ts_array,
)
from orchestration.generator.partners import Partners
from orchestration.generator.reference import Reference
from orchestration.ingest.contract import CERT_LEVELS

TRACKS = (*PRODUCT_LINES, VERTICAL_TRACK)
TRACK_WEIGHTS = np.append(PRODUCT_WEIGHTS * 0.85, 0.15)
LEVEL_MIX = (0.55, 0.35, 0.10)
CERTS_PER_PERSON = 1.6
HISTORY_DAYS = 1826
EXPIRING_SHARE = 0.85
UNCERTIFIED_BY_TIER = (0.40, 0.15, 0.05, 0.0)  # partners with no certification, by tier


class CertModel:
    def __init__(
        self,
        partners: Partners,
        ref: Reference,
        calendar: Calendar,
        total: int,
        rng: np.random.Generator,
    ):
        self.p, self.ref, self.cal = partners, ref, calendar
        end = calendar.end
        self.lo = np.maximum(partners.enrolled, end - HISTORY_DAYS)
        stop = np.where(partners.terminated >= 0, partners.terminated, end)
        self.hi = np.minimum(stop, np.minimum(partners.active_until + 180, end))
        length = np.where(partners.enrolled >= 0, np.maximum(self.hi - self.lo + 1, 0), 0)
        uncertified = rng.random(partners.n) < np.array(UNCERTIFIED_BY_TIER)[partners.tier]
        weight = (partners.weight**0.7 + 0.1) * length * ~uncertified
        if weight.sum() <= 0:
            weight = np.ones(partners.n)
        self.count = rng.multinomial(total, weight / weight.sum())
        self.cum = np.cumsum(self.count)
        self.people = np.ceil(self.count / CERTS_PER_PERSON).astype(np.int64)
        self.person_start = np.cumsum(self.people) - self.people
        self.salt = np.uint64(rng.integers(1, 1 << 62))
        self.track_cum = np.cumsum(TRACK_WEIGHTS)
        self.vertical_w = partners.verticals + (~partners.verticals.any(axis=1))[:, None]

    def _track_base(self, person: np.ndarray) -> np.ndarray:
        """A fixed first track per person (a hash of the person number, by track weight)."""
        x = person.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + self.salt
        x ^= x >> np.uint64(31)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(29)
        u = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return np.searchsorted(self.track_cum, u * self.track_cum[-1], side="right")


def cert_chunk(
    model: CertModel,
    rng: np.random.Generator,
    first: int,
    n: int,
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, dict[str, pa.Array]]:
    end, snap = model.cal.end, model.cal.snapshot
    row = first + np.arange(n)
    partner = np.searchsorted(model.cum, row, side="right")
    k = row - (model.cum[partner] - model.count[partner])
    people = model.people[partner]
    person = model.person_start[partner] + k % people
    track = (model._track_base(person) + k // people) % len(TRACKS)
    is_vertical = track == TRACKS.index(VERTICAL_TRACK)
    vertical = pick_rows(rng, model.vertical_w[partner])
    level = pick(rng, LEVEL_MIX, n)

    earned = trend_days(rng, model.lo[partner], model.hi[partner], 0.8)
    years = np.where(rng.random(n) < 0.6, 2, 3)
    month = earned.astype("datetime64[D]").astype("datetime64[M]")
    day_of_month = earned - month.astype("datetime64[D]").astype(np.int64)
    expires = (month + 12 * years).astype("datetime64[D]").astype(np.int64) + day_of_month
    no_expiry = rng.random(n) >= EXPIRING_SHARE
    updated = earned * DAY + time_of_day(rng, n)
    final = {
        "certification_id": ids(ID_PREFIX["certifications"], row + 1, ID_WIDTH["certifications"]),
        "partner_id": ids(ID_PREFIX["partners"], partner + 1, ID_WIDTH["partners"]),
        "person_id": ids("E", person + 1, 8),
        "track": codes(TRACKS, track),
        "vertical": codes(model.ref.verticals, vertical, ~is_vertical),
        "level": codes(CERT_LEVELS, level),
        "earned_on": date_array(earned),
        "expires_on": date_array(expires, no_expiry),
        "updated_at": ts_array(updated),
    }
    delta = np.where(earned > snap, np.minimum(earned, end) - snap - 1, -1)
    none = np.zeros(0, dtype=np.int64)
    return final, delta, none, {name: arr.slice(0, 0) for name, arr in final.items()}
