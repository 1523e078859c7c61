"""Dirty rows: a fraction of rows per entity that each break exactly one loader rule.

Each dirty row starts from a valid generated row (a template), gets a key above every good key,
and has one field broken, the kind rotating through the rules that apply to the entity. They are
written as text to the CSV delta files, so that a date column can hold 'not-a-date'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from orchestration.generator.common import ID_PREFIX, ID_WIDTH, ids

# Kind of break -> the start of the reason the loader gives for it.
REASONS = {
    "negative_amount": "negative amount",
    "unknown_code": "unknown code",
    "unknown_partner": "unknown partner",
    "missing_value": "missing required value",
    "wrong_type": "wrong type",
    "closed_before_registered": "closed before registered",
    "expires_before_earned": "expires before earned",
    "no_fx_rate": "no FX rate",
}
KINDS = {
    "partners": ("unknown_code", "missing_value", "wrong_type"),
    "deals": (
        "negative_amount",
        "unknown_code",
        "unknown_partner",
        "missing_value",
        "wrong_type",
        "closed_before_registered",
        "no_fx_rate",
    ),
    "certifications": (
        "unknown_code",
        "unknown_partner",
        "missing_value",
        "wrong_type",
        "expires_before_earned",
    ),
    "incentives": (
        "negative_amount",
        "unknown_code",
        "unknown_partner",
        "missing_value",
        "wrong_type",
        "no_fx_rate",
    ),
}
# (column, value) of each kind, per entity.
_UNKNOWN_CODE = {
    "partners": ("tier", "diamond"),
    "deals": ("stage", "closed"),
    "certifications": ("level", "master"),
    "incentives": ("status", "pending"),
}
_MISSING = {
    "partners": "partner_name",
    "deals": "account_id",
    "certifications": "person_id",
    "incentives": "approved_on",
}
_WRONG_TYPE = {
    "partners": "applied_on",
    "deals": "registered_on",
    "certifications": "earned_on",
    "incentives": "approved_on",
}


def dirty_count(rows: int, rate: float) -> int:
    """Dirty rows for an entity of `rows` good rows: at least one from 1000 rows on."""
    if rate <= 0:
        return 0
    return max(1 if rows >= 1000 else 0, round(rows * rate))


def _text(columns: dict[str, pa.Array], sel: np.ndarray) -> dict[str, np.ndarray]:
    take = pa.array(sel, pa.int64())
    return {
        name: arr.take(take).cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)
        for name, arr in columns.items()
    }


def _shift_days(text: np.ndarray, by: int) -> np.ndarray:
    day = np.array(text.tolist(), dtype="datetime64[D]") + np.timedelta64(by, "D")
    return day.astype(str).astype(object)


def make_dirty(
    entity: str,
    template: dict[str, pa.Array],
    eligible: np.ndarray,
    n: int,
    first_key: int,
    unknown_partner: int,
) -> pa.Table:
    """n dirty rows from the eligible template rows; keys first_key+1 .. first_key+n.

    `eligible` must be valid rows that keep exactly one reason once broken: deals with a
    partner, a registration and a close (won or lost).
    """
    if len(eligible) < n:
        raise RuntimeError(f"not enough template rows for {n} dirty {entity}")
    cols = _text(template, eligible[:n])
    key = next(iter(template))
    cols[key] = np.array(
        ids(ID_PREFIX[entity], first_key + 1 + np.arange(n), ID_WIDTH[entity]).to_pylist(),
        dtype=object,
    )
    kinds = KINDS[entity]
    kind = np.array([kinds[i % len(kinds)] for i in range(n)])
    for name in kinds:
        rows = np.flatnonzero(kind == name)
        if not len(rows):
            continue
        if name == "negative_amount":
            cols["amount"][rows] = "-" + cols["amount"][rows]
        elif name == "unknown_code":
            column, value = _UNKNOWN_CODE[entity]
            cols[column][rows] = value
        elif name == "unknown_partner":
            cols["partner_id"][rows] = ids(
                ID_PREFIX["partners"], unknown_partner + rows, ID_WIDTH["partners"]
            ).to_numpy(zero_copy_only=False)
        elif name == "missing_value":
            cols[_MISSING[entity]][rows] = None
        elif name == "wrong_type":
            cols[_WRONG_TYPE[entity]][rows] = "not-a-date"
            if entity == "deals":  # a direct deal: registered_on is then not required
                cols["partner_id"][rows] = None
                cols["deal_source"][rows] = "direct"
                cols["stage"][rows] = "rejected"
                cols["closed_on"][rows] = None
        elif name == "closed_before_registered":
            cols["closed_on"][rows] = _shift_days(cols["registered_on"][rows], -7)
            cols["currency"][rows] = "USD"
        elif name == "expires_before_earned":
            cols["expires_on"][rows] = _shift_days(cols["earned_on"][rows], -30)
        elif name == "no_fx_rate":
            cols["currency"][rows] = "XYZ"
    return pa.table({name: pa.array(values, pa.string()) for name, values in cols.items()})


def reason_kind(reason: str) -> str:
    """The REASONS value a loader reason starts with ('' if none)."""
    return next((r for r in REASONS.values() if reason.startswith(r)), "")
