"""The benchmark floor (benchmarks/floor.sql, one hand-written DuckDB script) computes the same
marts as the pipeline: on a generated landing zone with dirty rows, every mart it writes has the
rows that the real job publishes in serving.duckdb (same keys, same values)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.generator import generate
from orchestration.settings import PROJECT_DIR, SEEDS_DIR
from tests.conftest import JobRunner

AS_OF = "2026-03-31"
FLOOR_SQL = PROJECT_DIR / "benchmarks" / "floor.sql"
REL_TOL = 1e-9
# mart -> its key columns (its grain)
KEYS = {
    "mart_coverage_cells": ("country_code", "segment", "vertical"),
    "mart_coverage_by_segment": ("segment",),
    "mart_coverage_by_geography": ("country_code",),
    "mart_vertical_depth": ("vertical",),
    "mart_ecosystem_productivity": ("partner_type",),
    "mart_productivity_monthly": ("partner_type", "month"),
    "mart_execution_alignment": ("partner_type",),
    "mart_investment_allocation": ("investment_category",),
    "mart_growth_stage_fit": ("partner_type",),
    "mart_strategy_scorecard": ("as_of_date",),
    "mart_partner_scorecard": ("partner_id",),
}


def run_floor(landing: Path, seeds: Path, as_of: str, out: Path, sql: str | None = None) -> None:
    """Run floor.sql the way benchmarks/run.py does: placeholders replaced, one execute."""
    out.mkdir(parents=True, exist_ok=True)
    script = (
        (FLOOR_SQL.read_text() if sql is None else sql)
        .replace("$LANDING", str(landing))
        .replace("$SEEDS", str(seeds))
        .replace("$AS_OF", as_of)
        .replace("$OUT", str(out))
    )
    con = duckdb.connect()
    try:
        con.execute(script)
    finally:
        con.close()


def rows_by_key(con: duckdb.DuckDBPyConnection, relation: str, key: tuple[str, ...]):
    cursor = con.execute(f"select * from {relation}")
    names = [d[0] for d in cursor.description]
    out: dict[tuple, dict] = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        k = tuple(row[c] for c in key)
        assert k not in out, f"{relation}: duplicate key {k}"
        out[k] = row
    return names, out


def same_value(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-12)
    return a == b


def label_columns() -> set[str]:
    """The display label and sort order columns of each code in dbt's `code_labels` var: a join
    to a label seed, which the floor leaves out (it measures the metrics' work)."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project" / "dbt_project.yml").read_text())
    codes = project["vars"]["code_labels"]
    return {f"{code}_{suffix}" for code in codes for suffix in ("name", "sort_order")}


LABEL_COLUMNS = label_columns()


def mart_differences(serving: Path, floor_dir: Path) -> dict[str, list[str]]:
    """Per mart, what differs between the published mart and the floor's Parquet file."""
    problems: dict[str, list[str]] = {}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for mart, key in KEYS.items():
            found: list[str] = []
            names, published = rows_by_key(con, f"marts.{mart}", key)
            floor_names, floor = rows_by_key(
                con, f"read_parquet('{floor_dir / mart}.parquet')", key
            )
            missing = [c for c in names if c not in floor_names and c not in LABEL_COLUMNS]
            if missing:
                found.append(f"columns missing from the floor: {missing}")
            if len(floor) != len(published):
                found.append(f"{len(floor)} rows in the floor, {len(published)} published")
            for k in sorted(set(published) ^ set(floor), key=repr)[:5]:
                side = "published only" if k in published else "floor only"
                found.append(f"key {k}: {side}")
            for k in sorted(set(published) & set(floor), key=repr):
                for column in names:
                    if column in floor_names and not same_value(
                        published[k][column], floor[k][column]
                    ):
                        found.append(
                            f"key {k}, {column}: published {published[k][column]!r}, "
                            f"floor {floor[k][column]!r}"
                        )
            if found:
                problems[mart] = found[:10]
    finally:
        con.close()
    return problems


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("floor")
    landing = root / "landing"
    generated = generate(landing, scale=0.003, seed=4, end_date=date(2026, 3, 31))
    outcome = job_runner.run(landing, root / "warehouse", as_of=AS_OF)
    assert outcome.success, outcome.summary()
    run_floor(landing, SEEDS_DIR, AS_OF, root / "floor")
    return root, generated


def test_the_landing_zone_has_dirty_rows_the_loader_rejected(built):
    root, generated = built
    assert sum(generated.dirty.values()) > 0
    con = duckdb.connect(str(root / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        [(rejected,)] = con.execute("select count(*) from audit.rejected_rows").fetchall()
    finally:
        con.close()
    assert rejected == sum(generated.dirty.values())


def test_the_floor_writes_every_mart_with_the_published_rows(built):
    root, _ = built
    written = sorted(p.stem for p in (root / "floor").glob("*.parquet"))
    assert written == sorted(KEYS)
    assert mart_differences(root / "warehouse" / "serving.duckdb", root / "floor") == {}


# Definitions the floor could get wrong, each as (text of floor.sql, a wrong replacement).
MUTATIONS = {
    "earliest row per key wins": (
        "PARTITION BY deal_id ORDER BY _updated_at DESC",
        "PARTITION BY deal_id ORDER BY _updated_at ASC",
    ),
    "negative amounts are not rejected": ("AND NOT coalesce(r.amount < 0, false)", "AND true"),
    "qualified without a valid certification": ("AND capacity > 0", ""),
    "partner_influenced is no partner deal": (
        "AND r.deal_source IN ('partner_sourced', 'partner_influenced') AS is_partner_deal",
        "AND r.deal_source IN ('partner_sourced') AS is_partner_deal",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_comparison_fails_on_a_different_definition(built, tmp_path: Path, mutation: str):
    root, _ = built
    original, wrong = MUTATIONS[mutation]
    sql = FLOOR_SQL.read_text()
    assert original in sql, f"floor.sql no longer contains {original!r}"
    run_floor(root / "landing", SEEDS_DIR, AS_OF, tmp_path, sql.replace(original, wrong))
    assert mart_differences(root / "warehouse" / "serving.duckdb", tmp_path) != {}
