"""Run the dbt unit tests (`unit_tests:` in dbt_project/models/**/_unit_tests.yml) without a
refresh: `python -m orchestration.warehouse.dbt_unit [dbt selection]`.

dbt unit tests read the column types of every mocked input, and of the model, from the
warehouse, so those relations must exist. This helper builds them empty in a scratch DuckDB
file in a temporary folder: the raw tables of the ingestion contract (empty), the seeds, and
every model with `dbt build --empty` (no rows read); then it runs `dbt test --select
test_type:unit` there. Nothing touches data/warehouse. ≈ 10 s on 2 cores.

The nightly refresh does not run the unit tests (orchestration/defs/transform/assets.py excludes the
unit_test resource type): they test the SQL, which changes with a commit, not with the data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import yaml

from orchestration.ingest.contract import ENTITIES
from orchestration.ingest.loader import ensure_tables
from orchestration.settings import DBT_PROJECT_DIR, load_settings

UNIT_SELECTION = "test_type:unit"
# The empty build and the unit tests need a fixed D only for dbt to compile int_params; every
# unit test that depends on D mocks int_params or sets the `as_of_date` var itself.
SCRATCH_AS_OF = date(2026, 6, 30)


@dataclass
class UnitTestReport:
    returncode: int
    defined: list[str]  # enabled unit tests in the YAML (of the selection, when one is given)
    results: dict[str, str] = field(default_factory=dict)  # unique name → dbt status
    output: str = ""

    @property
    def passed(self) -> list[str]:
        return sorted(name for name, status in self.results.items() if status == "pass")

    @property
    def not_run(self) -> list[str]:
        return sorted(set(self.defined) - set(self.results))

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and sorted(self.defined) == self.passed


def _unit_tests_in_yaml(project_dir: Path) -> list[dict]:
    tests: list[dict] = []
    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tests.extend(document.get("unit_tests") or [])
    return tests


def _enabled(test: Mapping) -> bool:
    return (test.get("config") or {}).get("enabled", True) is not False


def defined_unit_tests(project_dir: Path = DBT_PROJECT_DIR) -> list[str]:
    """The names of the enabled unit tests written in the project's model YAML files, read
    directly (not through dbt), so that a test dbt silently leaves out is noticed."""
    return [test["name"] for test in _unit_tests_in_yaml(project_dir) if _enabled(test)]


def disabled_unit_tests(project_dir: Path = DBT_PROJECT_DIR) -> list[str]:
    """Unit tests switched off on purpose (`config: enabled: false`, with the reason beside
    them in the YAML); reported by every run so that they are not forgotten."""
    return [test["name"] for test in _unit_tests_in_yaml(project_dir) if not _enabled(test)]


def scratch_env(root: Path) -> dict[str, str]:
    """The environment of dbt on a scratch warehouse under `root` (profiles.yml reads it)."""
    settings = load_settings(
        {
            "PSW_WAREHOUSE_DIR": str(root),
            "PSW_AS_OF_DATE": SCRATCH_AS_OF.isoformat(),
            "PSW_DUCKDB_THREADS": "2",
            "PSW_DUCKDB_MEMORY_LIMIT": "1GB",
        }
    )
    return {
        **os.environ,
        **settings.dbt_env(),
        "PSW_ENGINE": "duckdb",
        "PSW_DBT_TARGET": "duckdb",
        "PSW_DBT_THREADS": "2",
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _dbt(args: Sequence[str], env: Mapping[str, str], root: Path) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).parent / "dbt"
    command = [
        str(executable) if executable.exists() else "dbt",
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(root / "target"),
        "--log-path",
        str(root / "logs"),
    ]
    return subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=dict(env), capture_output=True, text=True, check=False
    )


def prepare_scratch_warehouse(root: Path) -> subprocess.CompletedProcess:
    """Empty raw tables, the seeds and every model (empty) in <root>/build.duckdb."""
    env = scratch_env(root)
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(env["PSW_BUILD_DB"]) as con:
        ensure_tables(con, list(ENTITIES.values()))
    Path(env["PSW_DUCKDB_TEMP_DIR"]).mkdir(parents=True, exist_ok=True)
    return _dbt(
        ["build", "--empty", "--exclude-resource-type", "test", "unit_test", "--quiet"], env, root
    )


def run_unit_tests(select: str | None = None, root: Path | None = None) -> UnitTestReport:
    """Build the scratch warehouse and run the unit tests (all, or those of `select` too)."""
    if root is None:
        with tempfile.TemporaryDirectory(prefix="psw-dbt-unit-") as tmp:
            return run_unit_tests(select, Path(tmp))
    defined = defined_unit_tests()
    prepared = prepare_scratch_warehouse(root)
    if prepared.returncode != 0:
        return UnitTestReport(
            prepared.returncode, defined, output=prepared.stdout + prepared.stderr
        )
    selection = UNIT_SELECTION if not select else f"{UNIT_SELECTION},{select}"
    if select:
        # a selection narrows what must run: count only the unit tests it selects
        listed = _dbt(
            ["ls", "--select", selection, "--output", "name", "--quiet"], scratch_env(root), root
        )
        defined = sorted(set(defined) & set(listed.stdout.split()))
    tested = _dbt(["test", "--select", selection], scratch_env(root), root)
    results: dict[str, str] = {}
    run_results = root / "target" / "run_results.json"
    if run_results.exists():
        for result in json.loads(run_results.read_text())["results"]:
            if result["unique_id"].startswith("unit_test."):
                results[result["unique_id"].rsplit(".", 1)[-1]] = result["status"]
    return UnitTestReport(tested.returncode, defined, results, tested.stdout + tested.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    report = run_unit_tests(" ".join(args) or None)
    print(report.output, end="")
    print(
        f"dbt unit tests: {len(report.passed)} passed of {len(report.defined)} defined"
        + (f"; not run: {', '.join(report.not_run)}" if report.not_run else "")
    )
    for name in disabled_unit_tests():
        print(f"dbt unit test disabled in its YAML (see the comment there): {name}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
