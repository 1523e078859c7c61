"""The values a suite file may refer to: `$name` in batch SQL, `{"$PARAMETER": name}` in kwargs.

A code set comes from where SPEC defines it. Sets that only the landing contract defines
(deal stages, tiers, ...) come from orchestration/ingest/contract.py; sets that a seed holds
(partner types, regions, segments, investment categories, alert severities) come from the seed
files, so that a code the strategy team adds in the seeds alone is checked (and counted in grain
checks) without a code change
(SPEC §4, §7 "Grain counts come from the reference data"). Both gates read the seed files: the
raw gate runs before dbt, and dbt builds the seed tables of the warehouse gate from the same
files. Run values come from the settings and the Dagster run.
"""

from __future__ import annotations

import csv
from pathlib import Path

from orchestration.ingest import contract
from orchestration.settings import Settings

# parameter -> (seed file, column, case): the code sets that a seed holds, normalised as dbt's
# models normalise them (int_partner_types: lower(trim(...)); int_market_cells: region as is;
# the label seeds as macros/labels.sql reads them, var `code_labels` of dbt_project.yml).
SEED_CODE_SETS: dict[str, tuple[str, str, str | None]] = {
    "partner_types": ("partner_types.csv", "partner_type", "lower"),
    "regions": ("regions.csv", "region", None),
    "segments": ("segments.csv", "segment", "lower"),
    "investment_categories": ("investment_categories.csv", "investment_category", "lower"),
    "alert_severities": ("alert_severities.csv", "severity", "lower"),
}


class SeedParameterError(ValueError):
    """A seed that a gate parameter is read from is missing or lacks its column."""


def contract_code_sets() -> dict[str, list[str]]:
    """Every code set that only the contract defines, by lower-case name: `tiers`,
    `deal_stages`, ... (sets that a seed holds are left to `seed_code_sets`)."""
    return {
        name.lower(): list(value)
        for name, value in vars(contract).items()
        if name.isupper()
        and isinstance(value, tuple)
        and all(isinstance(v, str) for v in value)
        and name.lower() not in SEED_CODE_SETS
    }


def _read_codes(path: Path, column: str, case: str | None) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if column not in (reader.fieldnames or []):
                raise SeedParameterError(
                    f"seed {path}: column {column!r} is missing (line 1, the header); "
                    "the quality gates read their code set from it"
                )
            codes: list[str] = []
            for row in reader:
                value = (row.get(column) or "").strip()
                value = value.lower() if case == "lower" else value
                if value and value not in codes:
                    codes.append(value)
    except OSError as exc:
        raise SeedParameterError(
            f"seed {path} cannot be read ({exc.strerror}): the quality gates read a code set "
            "from it"
        ) from None
    return codes


def seed_code_sets(seeds_dir: Path) -> dict[str, list[str]]:
    """The code sets that the seeds hold (`partner_types`, `regions`, `segments`,
    `investment_categories`, `alert_severities`), in seed file order."""
    return {
        name: _read_codes(seeds_dir / file_name, column, case)
        for name, (file_name, column, case) in SEED_CODE_SETS.items()
    }


def gate_parameters(settings: Settings, run_id: str, seeds_dir: Path) -> dict[str, object]:
    """Parameters of one gate run (`asset_name` is added per suite and asset by the gate)."""
    return {
        **contract_code_sets(),
        **seed_code_sets(seeds_dir),
        "run_id": run_id,
        "as_of_date": settings.as_of_date.isoformat(),
        "reject_threshold_pct": settings.reject_threshold_pct,
        "reject_min_rows": settings.reject_min_rows,
        "reject_limit_pct": settings.reject_limit_pct,
    }
