"""Where the Dagster instance lives, so `psw`, `dagster dev` and tests share one."""

from __future__ import annotations

import os

from orchestration.settings import PROJECT_DIR


def ensure_dagster_env() -> None:
    """Point Dagster at the project's dagster.yaml and .dagster/ unless the caller chose."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_DIR))
    os.environ.setdefault("PSW_DAGSTER_DIR", str(PROJECT_DIR / ".dagster"))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
