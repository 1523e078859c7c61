"""Shared test helpers: real DuckDB files, real seeds, real Dagster instances in tmp dirs."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import PROJECT_DIR, SEEDS_DIR, environment

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


# Every mart of the serving file, in name order (SPEC §6 and the diagnostics); public names.
MARTS = [
    "mart_channel_conflict",
    "mart_channel_conflict_accounts",
    "mart_coverage_by_geography",
    "mart_coverage_by_segment",
    "mart_coverage_cells",
    "mart_deal_registration_funnel",
    "mart_ecosystem_productivity",
    "mart_execution_alignment",
    "mart_growth_stage_fit",
    "mart_investment_allocation",
    "mart_partner_activation",
    "mart_partner_concentration",
    "mart_partner_concentration_total",
    "mart_partner_health",
    "mart_partner_scorecard",
    "mart_partner_type_history",
    "mart_productivity_monthly",
    "mart_strategy_alerts",
    "mart_strategy_history",
    "mart_strategy_scorecard",
    "mart_vertical_depth",
]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, object]]) -> Path:
    """Write rows (dicts; missing keys are empty) as a UTF-8 CSV extract."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, object]]) -> Path:
    """Write rows as a Parquet extract (all columns text, as many PRM exports do)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            c: pa.array([None if r.get(c) is None else str(r.get(c)) for r in rows], pa.string())
            for c in header
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped seeds that a test may edit."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target


@pytest.fixture
def build_db(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()


@pytest.fixture
def dagster_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real Dagster instance configured by the project's dagster.yaml, in a tmp dir."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(home / ".dagster"))
    return home


class JobRunner:
    """Runs the real nightly_refresh job, recorded in a real (tmp) Dagster instance."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_DIR / "dagster.yaml", self.home / "dagster.yaml")

    def project_with(self, seeds: Path) -> Path:
        """A copy of the dbt project whose ../seeds are `seeds` (dbt_project.yml's seed path
        is relative on purpose), for fixtures with their own reference data."""
        project = seeds.parent / "project"
        if not project.exists():
            shutil.copytree(
                PROJECT_DIR / "dbt_project",
                project / "dbt_project",
                ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
            )
            shutil.copytree(seeds, project / "seeds")
        return project / "dbt_project"

    def run(self, landing: Path, warehouse: Path, seeds: Path | None = None, as_of: str = ""):
        import dagster as dg

        from orchestration.cli.refresh import run_refresh
        from orchestration.warehouse.resources import Warehouse, dbt_resource

        with self.environment(), dg.DagsterInstance.get() as instance:
            return run_refresh(
                resources={
                    "warehouse": Warehouse(
                        landing_dir=str(landing),
                        warehouse_dir=str(warehouse),
                        as_of_date=as_of,
                    ),
                    "dbt": dbt_resource(self.project_with(seeds) if seeds else None),
                },
                log_level="WARNING",
                instance=instance,
            )

    def history(
        self,
        landing: Path,
        warehouse: Path,
        first: str,
        last: str,
        seeds: Path | None = None,
        as_of: str = "",
    ):
        """The backfill of the strategy history for [first, last] (`psw history`)."""
        import dagster as dg

        from orchestration.cli.history import run_history
        from orchestration.warehouse.resources import Warehouse, dbt_resource

        with self.environment(), dg.DagsterInstance.get() as instance:
            return run_history(
                dt.date.fromisoformat(first),
                dt.date.fromisoformat(last),
                resources={
                    "warehouse": Warehouse(
                        landing_dir=str(landing), warehouse_dir=str(warehouse), as_of_date=as_of
                    ),
                    "dbt": dbt_resource(self.project_with(seeds) if seeds else None),
                },
                log_level="WARNING",
                instance=instance,
            )

    @contextmanager
    def environment(self) -> Iterator[None]:
        """DAGSTER_HOME and PSW_DAGSTER_DIR of this runner's instance, restored afterwards."""
        env = {"DAGSTER_HOME": str(self.home), "PSW_DAGSTER_DIR": str(self.home / ".dagster")}
        with environment(env):
            yield


@pytest.fixture(scope="session")
def job_runner(tmp_path_factory: pytest.TempPathFactory) -> JobRunner:
    return JobRunner(tmp_path_factory.mktemp("jobs"))


def query(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """Run a query on a DuckDB file read-only, as a BI client would."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def query_dicts(db: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="session")
def metrics_warehouse(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> Path:
    """The hand-computed fixture of tests/fixtures/metrics.py, built by the real job at D."""
    from tests.fixtures import metrics

    root = tmp_path_factory.mktemp("metrics")
    landing = metrics.write_landing(root / "landing")
    seeds = metrics.write_seeds(root / "seeds")
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    return root / "warehouse"


@pytest.fixture(scope="session")
def diagnostics_warehouse(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> Path:
    """The hand-computed fixture of tests/fixtures/diagnostics.py, built by the real job at D."""
    from tests.fixtures import diagnostics

    root = tmp_path_factory.mktemp("diagnostics")
    landing = diagnostics.write_landing(root / "landing")
    seeds = diagnostics.write_seeds(root / "seeds")
    # the history of the months the trend alerts read (portfolio drift)
    with environment({"PSW_HISTORY_FROM": "2025-01-31"}):
        outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=diagnostics.AS_OF)
    assert outcome.success, outcome.summary()
    return root / "warehouse"


# The longest test files first: pytest-xdist (`--dist loadfile`, pyproject.toml) hands whole
# files to its two workers in collection order, so the long ones must not start last.
_LONGEST_FIRST = (
    "test_reliability.py",
    "test_fault_injection.py",
    "test_runtime.py",
    "test_superset.py",
    "test_invariants.py",
    "test_quality_job.py",
    "test_e2e.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept within
