"""The values a suite file may refer to: `$name` in batch SQL, `{"$PARAMETER": name}` in kwargs.

Code sets come from the landing contract (orchestration/ingest/contract.py), so a suite names
`deal_stages` instead of repeating the list: the contract stays the one place a code set is
defined. Run values come from the settings and the Dagster run.
"""

from __future__ import annotations

from orchestration.ingest import contract
from orchestration.settings import Settings


def contract_code_sets() -> dict[str, list[str]]:
    """Every code set of the contract by lower-case name: `tiers`, `deal_stages`, ..."""
    return {
        name.lower(): list(value)
        for name, value in vars(contract).items()
        if name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    }


def gate_parameters(settings: Settings, run_id: str) -> dict[str, object]:
    """Parameters of one gate run (`asset_name` is added per suite and asset by the gate)."""
    return {
        **contract_code_sets(),
        "run_id": run_id,
        "as_of_date": settings.as_of_date.isoformat(),
        "reject_threshold_pct": settings.reject_threshold_pct,
        "reject_min_rows": settings.reject_min_rows,
    }
