"""Issue 9: `PSW_ENGINE=spark psw refresh` runs the same job on Apache Spark, and every mart it
publishes equals the DuckDB build of the same landing zone (same rows; numbers within 1e-9
relative).

Both builds are real: the DuckDB one through the job runner, the Spark one through the `psw`
command in its own process (local Spark session for the ingestion, dbt-spark `method: session`
for the models), each recorded in the same Dagster instance. Needs the `spark` extra and Java
17; skipped without them, except in CI (PSW_REQUIRE_JAVA), where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from orchestration.settings import PROJECT_DIR
from tests.conftest import MARTS, JobRunner, query

AS_OF = "2025-06-30"


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17)"
    return None


_MISSING = _spark_missing()
if _MISSING and os.environ.get("PSW_REQUIRE_JAVA", "") not in ("", "0"):
    raise RuntimeError(f"PSW_REQUIRE_JAVA is set but {_MISSING}")
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")


def _runs(job_runner: JobRunner) -> dict[str, str]:
    """run id -> status of the nightly_refresh runs recorded in the job runner's instance."""
    import dagster as dg

    with job_runner.environment(), dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="nightly_refresh"))
    return {run.run_id: run.status.value for run in runs}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> dict:
    from orchestration.generator import generate

    root = tmp_path_factory.mktemp("parity")
    landing = root / "landing"
    # a few thousand deals, with the generator's dirty rows (one per reject rule)
    generate(landing, scale=0.004, seed=11, end_date=dt.date(2025, 6, 30))
    outcome = job_runner.run(landing, root / "duckdb", as_of=AS_OF)
    assert outcome.success, outcome.summary()

    env = {
        **os.environ,
        "DAGSTER_HOME": str(job_runner.home),
        "PSW_DAGSTER_DIR": str(job_runner.home / ".dagster"),
        "PSW_LANDING_DIR": str(landing),
        "PSW_WAREHOUSE_DIR": str(root / "spark"),
        "PSW_AS_OF_DATE": AS_OF,
        "PSW_ENGINE": "spark",
    }
    runs_before = _runs(job_runner)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli.main", "refresh", "--log-level", "ERROR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"Spark refresh of the parity landing zone: {seconds:.1f} s")
    spark_runs = {k: v for k, v in _runs(job_runner).items() if k not in runs_before}
    return {"duckdb": root / "duckdb", "spark": root / "spark", "spark_runs": spark_runs}


def _comparable(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _sort_key(row: tuple) -> tuple:
    # nulls first, numbers rounded so that 1e-12 differences do not reorder rows
    return tuple(
        (0, "") if v is None else (1, f"{v:.6g}") if isinstance(v, float) else (1, str(v))
        for v in row
    )


def _rows(db: Path, mart: str) -> tuple[list[str], list[tuple]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(f"select * from marts.{mart}")
        names = [d[0] for d in cursor.description]
        rows = [tuple(_comparable(v) for v in row) for row in cursor.fetchall()]
    finally:
        con.close()
    return names, sorted(rows, key=_sort_key)


def _same(a: object, b: object) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("mart", MARTS)
def test_spark_mart_equals_duckdb_mart(builds: dict, mart: str) -> None:
    names_d, rows_d = _rows(builds["duckdb"] / "serving.duckdb", mart)
    names_s, rows_s = _rows(builds["spark"] / "serving.duckdb", mart)
    assert names_s == names_d
    assert len(rows_s) == len(rows_d)
    for row_s, row_d in zip(rows_s, rows_d, strict=True):
        different = [
            (name, s, d)
            for name, s, d in zip(names_d, row_s, row_d, strict=True)
            if not _same(s, d)
        ]
        assert not different, f"{mart}: {different} in row {row_d}"


def test_parity_is_not_vacuous(builds: dict) -> None:
    counts = {
        mart: query(builds["spark"] / "serving.duckdb", f"select count(*) from marts.{mart}")[0][0]
        for mart in MARTS
    }
    assert sum(1 for n in counts.values() if n > 0) >= len(MARTS) - 2, counts
    assert counts["mart_partner_scorecard"] > 20


def test_spark_rejects_the_same_rows_with_the_same_reasons(builds: dict) -> None:
    sql = (
        "select entity, source_file, source_row, record_key, reason from audit.rejected_rows "
        "order by all"
    )
    duck = query(builds["duckdb"] / "serving.duckdb", sql)
    spark = query(builds["spark"] / "serving.duckdb", sql)
    assert duck, "the generator's dirty rows should be rejected"
    assert spark == duck


def test_spark_run_is_the_nightly_job_in_the_instance(builds: dict) -> None:
    # `psw refresh` with PSW_ENGINE=spark recorded one successful nightly_refresh run
    assert list(builds["spark_runs"].values()) == ["SUCCESS"]
    spark_tables = builds["spark"] / "spark" / "tables" / "marts.db"
    assert sorted(p.name for p in spark_tables.iterdir()) == MARTS


def test_profile_repeats_the_spark_session_settings() -> None:
    from orchestration.warehouse.spark import spark_conf

    profile = yaml.safe_load((PROJECT_DIR / "dbt_project" / "profiles.yml").read_text())
    dbt_conf = profile["psw"]["outputs"]["spark"]["server_side_parameters"]
    ours = spark_conf(Path("/w/spark"))
    assert set(dbt_conf) == set(ours)
    for key, value in dbt_conf.items():
        if "{{" not in str(value):
            assert str(value) == ours[key], key
