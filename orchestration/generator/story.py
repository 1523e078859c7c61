"""The story the sample tells: four gaps of a real ecosystem (docs/sample-data.md).

Without them every chart is flat: every market cell covered, every core type present, every
strategy funded, a steady partner mix. The generator plants four gaps, each chosen from the
seeds by a rule (never a code written here), so that the scorecard, the alerts and a dashboard
have something to show:

1. An uncovered market: no partner headquartered in `uncovered_region` serves
   `uncovered_segment`, the segment with the highest addressable revenue per account in
   market_segments.csv; the region is the one whose targeted (non-direct) cells of that
   segment hold the most target-weighted accounts (Σ addressable_accounts ×
   target_coverage_pct), where the strategy counts on partners the most.
   Shows in mart_coverage_cells (region × segment) and mart_coverage_by_segment.
2. A missing core type: `missing_type`, the core type of the vendor's growth stage
   (vendor_profile.csv, growth_stage_playbook.csv) with the smallest target_partner_share
   (strategy_targets.csv), has no enrolled partner at the end date: its members leave during
   the drift window, only applicants remain. Shows in mart_growth_stage_fit (missing_core).
3. An unfunded strategy: `unfunded_type`, the type that is not core at the stage with the
   largest target_investment_share, gets UNFUNDED_INVESTMENT_FACTOR of the incentives it would
   get. Shows in mart_execution_alignment and the strategy_not_funded alert.
4. A drifting mix: in the last DRIFT_MONTHS months every recruit is of `drift_type`, the type
   with the lowest target_investment_share ÷ target_partner_share (cheap to sign, little to
   invest), and the only partners who leave are those of `missing_type`; every such change
   moves the enrolled mix further from target_partner_share, so composition alignment falls at
   every month end of the window. Shows in the portfolio_drift and recruit_mix_divergence
   alerts.

Ties go to the first code in the seed's order (regions: in alphabetical order). A rule whose
inputs the seeds lack (no core type for the stage, no target shares) plants no gap.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestration.generator.common import Calendar
from orchestration.generator.reference import SEGMENTS, Reference

DRIFT_MONTHS = 6  # months before the end date in which the partner mix drifts
DRIFT_DAYS = round(DRIFT_MONTHS * 365.25 / 12)
# At least this many recruits in the drift window, evenly spaced (at most ~15 days apart), so
# that every month end of the window sees the mix move, at any scale with enough partners.
MIN_DRIFT_RECRUITS = 2 * DRIFT_MONTHS
UNFUNDED_INVESTMENT_FACTOR = 0.05  # share of its incentives the unfunded type still gets


@dataclass(frozen=True)
class Story:
    """Indexes (into ref.regions, SEGMENTS, ref.partner_types) of the gaps; None: no such gap."""

    uncovered_region: int | None = None
    uncovered_segment: int | None = None
    missing_type: int | None = None
    unfunded_type: int | None = None
    drift_type: int | None = None
    drift_start: int = 0  # first day of the drift window (days since 1970-01-01)

    def describe(self, ref: Reference) -> dict[str, str | None]:
        """The story in codes, for tests and docs."""

        def code(values: tuple[str, ...], idx: int | None) -> str | None:
            return None if idx is None else values[idx]

        return {
            "uncovered_region": code(ref.regions, self.uncovered_region),
            "uncovered_segment": code(SEGMENTS, self.uncovered_segment),
            "missing_type": code(ref.partner_types, self.missing_type),
            "unfunded_type": code(ref.partner_types, self.unfunded_type),
            "drift_type": code(ref.partner_types, self.drift_type),
        }


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [
            {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]


def _share(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _first(candidates: list[int], key: np.ndarray, largest: bool) -> int | None:
    """The candidate with the largest (or smallest) key; ties to the first candidate."""
    if not candidates:
        return None
    values = key[candidates]
    best = values.max() if largest else values.min()
    return candidates[int(np.flatnonzero(values == best)[0])]


def choose_story(seeds_dir: Path, ref: Reference, calendar: Calendar) -> Story:
    types = ref.partner_types
    targets = {
        r.get("partner_type", "").lower(): r for r in _rows(seeds_dir / "strategy_targets.csv")
    }

    def target(column: str) -> np.ndarray:
        return np.array([_share(targets.get(t, {}).get(column, "")) for t in types])

    partner_share = target("target_partner_share")
    invest_share = target("target_investment_share")
    profile = _rows(seeds_dir / "vendor_profile.csv")
    stage = profile[0].get("growth_stage", "").lower() if profile else ""
    core = {
        r.get("partner_type", "").lower()
        for r in _rows(seeds_dir / "growth_stage_playbook.csv")
        if r.get("growth_stage", "").lower() == stage and r.get("role", "").lower() == "core"
    }
    targeted = [i for i, t in enumerate(types) if partner_share[i] > 0]

    missing = _first([i for i in targeted if types[i] in core], partner_share, largest=False)
    unfunded = _first(
        [i for i in targeted if types[i] not in core and invest_share[i] > 0],
        invest_share,
        largest=True,
    )
    ratio = invest_share / np.where(partner_share > 0, partner_share, 1.0)
    drift = _first([i for i in targeted if i not in (missing, unfunded)], ratio, largest=False)

    # The segment of the highest revenue per account, and the region where the strategy
    # expects partners to cover the most accounts of it.
    per_segment = np.bincount(ref.cell_segment, ref.cell_revenue, len(SEGMENTS)) / np.maximum(
        np.bincount(ref.cell_segment, ref.cell_accounts, len(SEGMENTS)), 1e-9
    )
    segment = int(np.argmax(per_segment)) if ref.cell_accounts.sum() > 0 else None
    region = None
    if segment is not None:
        in_segment = (ref.cell_segment == segment) & (ref.cell_model != "direct")
        weight = ref.cell_accounts * ref.cell_target * in_segment
        by_region = np.bincount(ref.country_region[ref.cell_country], weight, len(ref.regions))
        region = int(np.argmax(by_region)) if by_region.max() > 0 else None
    return Story(
        uncovered_region=region,
        uncovered_segment=segment if region is not None else None,
        missing_type=missing,
        unfunded_type=unfunded,
        drift_type=drift,
        drift_start=calendar.end - DRIFT_DAYS + 1,
    )
