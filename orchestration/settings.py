"""Every setting of the warehouse, read from the environment in one place (SPEC §8)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
SEEDS_DIR = PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"

ENGINES = ("duckdb", "spark")
DBT_LOG_FILE_LEVELS = ("none", "error", "warn", "info", "debug")
MART_SCHEMA = "marts"
AUDIT_SCHEMA = "audit"
RAW_SCHEMA = "raw"


class SettingsError(ValueError):
    """A setting has a value the warehouse cannot use."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    as_of_date: date
    timezone: str
    duckdb_memory_limit: str
    duckdb_threads: int
    reject_threshold_pct: float
    activity_window_days: int | None = None
    # Files with fewer rows read are not judged by reject_threshold_pct (only reported): one
    # reject in a 14-row delta file is already 7%.
    reject_min_rows: int = 100
    # PSW_REJECT_LIMIT_PCT: the operator's own blocking limit on a file's reject rate (None: no
    # limit; the contract makes an unusual reject rate a warning only, SPEC §7)
    reject_limit_pct: float | None = None
    # Where ingestion and dbt compute (PSW_ENGINE): DuckDB in build.duckdb, or Apache Spark on
    # Parquet under `spark_dir` (the `spark` extra). Gates, publish and BI read DuckDB either way.
    engine: str = "duckdb"
    # The profiles.yml output dbt uses: the engine's name, or PSW_DBT_TARGET (e.g. a cluster).
    dbt_target: str = "duckdb"
    # PSW_DBT_LOG_FILE_LEVEL: what dbt writes to <warehouse>/dbt_logs/dbt.log. At `debug` (dbt's
    # default) that is every SQL statement, and its file handler, one lock for dbt's 4 threads,
    # costs ≈ 2 s of a 15 s dbt build at SF1; dbt's info events reach the Dagster run log either
    # way, and each model's SQL is in <warehouse>/dbt_target/run/.
    dbt_log_file_level: str = "none"
    # PSW_HISTORY_FROM / PSW_HISTORY_TO: the as-of dates whose history this refresh computes
    # (docs/contract.md §10); None means D.
    history_from: date | None = None
    history_to: date | None = None

    @property
    def history_range(self) -> tuple[date, date]:
        """The first and last as-of date of the history this refresh computes."""
        return (self.history_from or self.as_of_date, self.history_to or self.as_of_date)

    @property
    def spark_dir(self) -> Path:
        return self.warehouse_dir / "spark"

    @property
    def build_db(self) -> Path:
        return self.warehouse_dir / "build.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.warehouse_dir / "serving.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.warehouse_dir / "exports"

    @property
    def temp_dir(self) -> Path:
        return self.warehouse_dir / "tmp"

    def dbt_vars(self) -> dict[str, str | int]:
        values: dict[str, str | int] = {"as_of_date": self.as_of_date.isoformat()}
        if self.activity_window_days is not None:
            values["activity_window_days"] = self.activity_window_days
        return values

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt invocation: the profile (dbt_project/profiles.yml) and the
        defaults of the `as_of_date` and `activity_window_days` vars (macros/dates.sql)."""
        window = self.activity_window_days
        return {
            "PSW_AS_OF_DATE": self.as_of_date.isoformat(),
            "PSW_ACTIVITY_WINDOW_DAYS": "" if window is None else str(window),
            "PSW_BUILD_DB": str(self.build_db),
            "PSW_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "PSW_DUCKDB_THREADS": str(self.duckdb_threads),
            "PSW_DUCKDB_TEMP_DIR": str(self.temp_dir),
            "PSW_DBT_TARGET": self.dbt_target,
            "PSW_SPARK_DIR": str(self.spark_dir),
            "PSW_HISTORY_FROM": self.history_range[0].isoformat(),
            "PSW_HISTORY_TO": self.history_range[1].isoformat(),
        }

    def duckdb_config(self) -> dict[str, str | int]:
        return {
            "memory_limit": self.duckdb_memory_limit,
            "threads": self.duckdb_threads,
            "temp_directory": str(self.temp_dir),
        }


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    value = env.get(name) or default
    path = Path(value).expanduser()
    if not path.is_absolute():
        # Relative paths are relative to the project, so `dagster dev`, `psw` and tests that
        # start from another directory all see the same warehouse.
        path = PROJECT_DIR / path
    return path


def _as_of(env: Mapping[str, str]) -> date:
    return _date(env, "PSW_AS_OF_DATE") or date.today()


def _date(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a date: use the ISO form YYYY-MM-DD") from exc


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    threads_raw = env.get("PSW_DUCKDB_THREADS", "").strip()
    threshold_raw = env.get("PSW_REJECT_THRESHOLD_PCT", "5").strip()
    window_raw = env.get("PSW_ACTIVITY_WINDOW_DAYS", "").strip()
    min_rows_raw = env.get("PSW_REJECT_MIN_ROWS", "100").strip()
    try:
        threads = int(threads_raw) if threads_raw else (os.cpu_count() or 2)
        threshold = float(threshold_raw)
        window = int(window_raw) if window_raw else None
        min_rows = int(min_rows_raw) if min_rows_raw else 100
    except ValueError as exc:
        raise SettingsError(
            "PSW_DUCKDB_THREADS, PSW_ACTIVITY_WINDOW_DAYS and PSW_REJECT_MIN_ROWS must be "
            "integers and PSW_REJECT_THRESHOLD_PCT a number"
        ) from exc
    engine = (env.get("PSW_ENGINE", "") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise SettingsError(f"PSW_ENGINE={engine!r} is not one of: {', '.join(ENGINES)}")
    dbt_target = (env.get("PSW_DBT_TARGET", "") or engine).strip()
    if not dbt_target.startswith(engine):
        raise SettingsError(
            f"PSW_DBT_TARGET={dbt_target!r} is not a {engine} output of dbt_project/profiles.yml "
            f"(PSW_ENGINE={engine})"
        )
    dbt_log_raw = (env.get("PSW_DBT_LOG_FILE_LEVEL", "") or "none").strip().lower()
    if dbt_log_raw not in DBT_LOG_FILE_LEVELS:
        raise SettingsError(
            f"PSW_DBT_LOG_FILE_LEVEL={dbt_log_raw!r} is not one of: "
            + ", ".join(DBT_LOG_FILE_LEVELS)
        )
    limit_raw = env.get("PSW_REJECT_LIMIT_PCT", "").strip()
    try:
        limit = float(limit_raw) if limit_raw else None
    except ValueError as exc:
        raise SettingsError(
            f"PSW_REJECT_LIMIT_PCT={limit_raw!r} is not a number: a percentage, e.g. 20"
        ) from exc
    if window is not None and window <= 0:
        raise SettingsError("PSW_ACTIVITY_WINDOW_DAYS must be a positive number of days")
    as_of = _as_of(env)
    history_from = _date(env, "PSW_HISTORY_FROM")
    history_to = _date(env, "PSW_HISTORY_TO")
    if (history_from or as_of) > (history_to or as_of):
        raise SettingsError(
            f"PSW_HISTORY_FROM ({history_from or as_of}) is after PSW_HISTORY_TO "
            f"({history_to or as_of}); unset, each is the as-of date"
        )
    if history_to is not None and history_to > as_of:
        raise SettingsError(
            f"PSW_HISTORY_TO ({history_to}) is after the as-of date ({as_of}): the sources are "
            "not known yet on a later date"
        )
    return Settings(
        landing_dir=_path(env, "PSW_LANDING_DIR", "data/landing"),
        warehouse_dir=_path(env, "PSW_WAREHOUSE_DIR", "data/warehouse"),
        as_of_date=as_of,
        timezone=env.get("PSW_TIMEZONE", "UTC") or "UTC",
        duckdb_memory_limit=env.get("PSW_DUCKDB_MEMORY_LIMIT", "4GB") or "4GB",
        duckdb_threads=threads,
        reject_threshold_pct=threshold,
        activity_window_days=window,
        reject_min_rows=min_rows,
        reject_limit_pct=limit,
        engine=engine,
        dbt_target=dbt_target,
        dbt_log_file_level=dbt_log_raw,
        history_from=history_from,
        history_to=history_to,
    )


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` added to this process's environment for the block, then restored (a subprocess
    started inside it, such as dbt, gets a copy)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
