"""Partner rows as the partner master exports them: final state, and the state the initial
extract saw for partners whose last change falls in the delta days."""

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
    ids,
    time_of_day,
    ts_array,
)
from orchestration.generator.names import partner_names, type_labels
from orchestration.generator.partners import APPLIED, ENROLLED, Partners
from orchestration.generator.reference import SEGMENTS, Reference
from orchestration.generator.writer import EntityWriter
from orchestration.ingest.contract import PROGRAM_STATUSES, TIERS


def _joined(mask: np.ndarray, values: tuple[str, ...]) -> pa.Array:
    """';'-joined lists, one per row of a boolean mask over `values`."""
    return pa.array(
        [";".join(v for v, m in zip(values, row, strict=True) if m) for row in mask], pa.string()
    )


def _rows(
    p: Partners,
    ref: Reference,
    text: tuple[list[str], list[str]],
    idx: np.ndarray,
    state: dict[str, np.ndarray],
    updated: np.ndarray,
) -> dict[str, pa.Array]:
    """Rows of partners `idx`; `text` = (type label, name) per row of idx; `state` per row."""
    labels, names = text
    served = p.served[idx] & p.list_served[idx][:, None]
    return {
        "partner_id": ids(ID_PREFIX["partners"], idx + 1, ID_WIDTH["partners"]),
        "partner_name": pa.array(names, pa.string()),
        "partner_type": pa.array(labels, pa.string()),
        "tier": codes(TIERS, state["tier"]),
        "program_status": codes(PROGRAM_STATUSES, state["status"]),
        "is_strategic": pa.array(state["strategic"], pa.bool_()),
        "hq_country": codes(ref.countries, p.hq[idx]),
        "countries_served": _joined(served, ref.countries),
        "segments_served": _joined(p.segments[idx], SEGMENTS),
        "verticals_served": _joined(p.verticals[idx], ref.verticals),
        "applied_on": date_array(p.applied[idx]),
        "enrolled_on": date_array(state["enrolled"], state["enrolled"] < 0),
        "terminated_on": date_array(state["terminated"], state["terminated"] < 0),
        "updated_at": ts_array(updated),
    }


def _final_state(p: Partners) -> dict[str, np.ndarray]:
    return {
        "tier": p.tier,
        "status": p.status,
        "strategic": p.strategic,
        "enrolled": p.enrolled,
        "terminated": p.terminated,
    }


def write_partners(
    p: Partners, ref: Reference, calendar: Calendar, rng: np.random.Generator, writer: EntityWriter
) -> None:
    """Each partner's final row goes to the initial extract, stamped with the day of its last
    change, or to the delta file of that day (applying, enrolling, termination, tier upgrade);
    then the initial extract holds the earlier state: an applicant, an enrolled partner, or one
    tier lower. A partner terminated before the initial extract has its enrolled state there
    too, stamped with its enrolment day: the extract carries the versions of the partners'
    history (contract §10), so a past date sees the partners enrolled on it."""
    snap, n = calendar.snapshot, p.n
    everyone = np.arange(n)
    labels = type_labels(rng, p.type_idx, ref)
    names = partner_names(rng, p.type_idx, p.hq, ref)
    last = np.maximum.reduce([p.applied, p.enrolled, p.terminated, p.upgraded])
    in_delta = last > snap
    updated = last * DAY + time_of_day(rng, n)
    final = _rows(p, ref, (labels, names), everyone, _final_state(p), updated)

    was_applicant = p.enrolled > snap
    was_enrolled = ~was_applicant & (p.terminated > snap)
    ended = ~in_delta & (p.enrolled >= 0) & (p.terminated >= 0) & (p.terminated > p.enrolled)
    prior = np.flatnonzero((in_delta & (p.applied <= snap)) | ended)
    base = np.where(was_applicant, p.applied, np.maximum(p.enrolled, p.applied))
    prior_day = base + np.floor(rng.random(n) * np.maximum(snap - base + 1, 1)).astype(np.int64)
    prior_day = np.where(ended, np.maximum(p.enrolled, p.applied), prior_day)
    enrolled_then = was_enrolled | ended
    earlier = {
        "tier": np.where(
            was_applicant, 0, np.where(enrolled_then, p.tier, np.maximum(p.tier - 1, 0))
        ),
        "status": np.where(was_applicant, APPLIED, np.where(enrolled_then, ENROLLED, p.status)),
        "strategic": p.strategic & ~was_applicant,
        "enrolled": np.where(was_applicant, -1, p.enrolled),
        "terminated": np.where(was_applicant | enrolled_then, -1, p.terminated),
    }
    stamp = prior_day * DAY + time_of_day(rng, n)
    before = _rows(
        p,
        ref,
        ([labels[i] for i in prior], [names[i] for i in prior]),
        prior,
        {k: v[prior] for k, v in earlier.items()},
        stamp[prior],
    )
    writer.chunk(final, np.where(in_delta, last - snap - 1, -1), prior, before)


def partner_rows(
    p: Partners, ref: Reference, idx: np.ndarray, rng: np.random.Generator, updated: np.ndarray
) -> dict[str, pa.Array]:
    """Final-state rows of the partners `idx`, with fresh labels and names (dirty templates)."""
    text = (
        type_labels(rng, p.type_idx[idx], ref),
        partner_names(rng, p.type_idx[idx], p.hq[idx], ref),
    )
    return _rows(p, ref, text, idx, {k: v[idx] for k, v in _final_state(p).items()}, updated)
