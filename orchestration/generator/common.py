"""Shared pieces of the generator: sizes, calendar, random streams and Arrow conversions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Rows per entity at scale factor 1 (SPEC §9).
SF1_ROWS = {
    "partners": 10_000,
    "deals": 1_000_000,
    "certifications": 200_000,
    "incentives": 500_000,
}
CHUNK_ROWS = 200_000
DELTA_DAYS = 3  # the last days before end_date come as daily delta files
EPOCH = date(1970, 1, 1)
DAY = 86_400

# The vendor's product lines: deal product_line and certification tracks.
PRODUCT_LINES = ("endpoint", "cloud_security", "network_firewall", "siem", "identity")
PRODUCT_WEIGHTS = np.array([0.30, 0.22, 0.20, 0.13, 0.15])
VERTICAL_TRACK = "vertical"

# Independent random streams, one per purpose; chunks spawn from their stream.
STREAMS = ("partners", "deals", "certifications", "incentives", "dirty")
ID_WIDTH = {"partners": 7, "deals": 9, "certifications": 9, "incentives": 9}
ID_PREFIX = {"partners": "P", "deals": "D", "certifications": "C", "incentives": "I"}


def days(d: date) -> int:
    return (d - EPOCH).days


@dataclass(frozen=True)
class Calendar:
    """end_date D (last day of data), and the snapshot day of the initial extract."""

    end: int

    @property
    def snapshot(self) -> int:
        return self.end - DELTA_DAYS

    def day(self, offset: int) -> date:
        return date.fromordinal(EPOCH.toordinal() + offset)


class Streams:
    """Per-purpose, per-chunk generators from SeedSequence(seed).spawn: chunk-order independent."""

    def __init__(self, seed: int):
        self._root = np.random.SeedSequence(seed).spawn(len(STREAMS))

    def rng(self, purpose: str, chunk: int = 0) -> np.random.Generator:
        """The generator of one chunk: the chunk-th child that `.spawn()` gives the purpose."""
        parent = self._root[STREAMS.index(purpose)]
        child = np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, chunk))
        return np.random.Generator(np.random.PCG64(child))


def scaled(entity: str, scale: float) -> int:
    return max(1, round(SF1_ROWS[entity] * scale))


def chunk_bounds(total: int, size: int = CHUNK_ROWS) -> list[tuple[int, int]]:
    return [(a, min(a + size, total)) for a in range(0, total, size)] or [(0, 0)]


def pick(rng: np.random.Generator, probs: np.ndarray | list[float], n: int) -> np.ndarray:
    """n draws of category indices with the given (unnormalised) probabilities."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(cum) - 1)


def pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Per row of a weight matrix, the index of one column drawn in proportion to its weight."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def trend_days(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, growth: float
) -> np.ndarray:
    """Days in [lo, hi] with a density rising linearly (by `growth` > 0) towards hi."""
    u = rng.random(len(lo))
    # Inverse of the CDF of the density (1 + growth * t) / (1 + growth / 2) on [0, 1].
    t = (np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0)) - 1.0) / max(growth, 1e-12)
    span = np.maximum(hi - lo, 0)
    return lo + np.minimum(np.floor(t * (span + 1)).astype(np.int64), span)


def top_k(rng: np.random.Generator, weights: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per row, a mask of k columns drawn without replacement in proportion to the weights."""
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=weights.shape)
    rank = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    return (rank < k[:, None]) & (weights > 0)


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into a business day (07:00 to 19:59)."""
    return rng.integers(7 * 3600, 20 * 3600, n)


def ids(prefix: str, numbers: np.ndarray, width: int, null: np.ndarray | None = None) -> pa.Array:
    """Keys like P0000042 (`null`: rows without a key)."""
    number = pa.array(np.asarray(numbers, dtype=np.int64), mask=null)
    text = pc.utf8_lpad(number.cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def codes(
    values: tuple[str, ...] | list[str], idx: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    index = pa.array(np.asarray(idx, dtype=np.int64), mask=null)
    return pc.take(pa.array(list(values), pa.string()), index)


def date_array(day: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(day, dtype=np.int32), type=pa.int32(), mask=null).view(pa.date32())


def ts_array(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.int64()).view(pa.timestamp("s"))


def decimal_array(cents: np.ndarray) -> pa.Array:
    """decimal128(18, 2) from integer cents, exactly."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words)])


def month_of(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers."""
    return np.asarray(day, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)


def local_amount(
    usd: np.ndarray,
    currency: np.ndarray,
    day: np.ndarray,
    earliest: np.ndarray,
    rates: np.ndarray,
    base_month: int,
    first_month: np.ndarray,
    whole_units: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(cents, currency) of USD amounts in local currency at the rate of the day's month.

    A row whose `earliest` day (of any version of it) is before its currency's first rate falls
    back to USD (the loader would reject it); `whole_units` currencies (JPY) have no cents.
    """
    month = month_of(day)
    currency = np.where(month_of(earliest) < first_month[currency], 0, currency)
    col = np.clip(month - base_month, 0, rates.shape[1] - 1)
    local = usd / rates[currency, col]
    cents = np.where(whole_units[currency], np.round(local) * 100, np.round(local * 100)).astype(
        np.int64
    )
    return np.maximum(cents, 1), currency
