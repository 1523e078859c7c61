"""What BI reads about the marts, from the dbt manifest (the dbt docs show the same nodes):

- every mart states its grain in one line: its description begins "Grain: one row per ..."
  and `meta.grain` (in the model's `config`) holds the line "one row per ...";
- every code column that a label seed holds (var `code_labels` of dbt_project.yml: partner
  types, regions, segments, investment categories, alert severities) has its display label
  `<code>_name` and sort order `<code>_sort_order` beside it, in the mart's YAML and in the
  column set its quality suite requires.

The code columns come from the label seeds, never from a list of marts here: a mart that
gains a `region` column must gain `region_name` and `region_sort_order` too."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from dbt.cli.main import dbtRunner

from orchestration.quality.parameters import SEED_CODE_SETS
from orchestration.settings import DBT_PROJECT_DIR, PROJECT_DIR, SEEDS_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
SUITES_DIR = PROJECT_DIR / "expectations" / "marts"
MARTS = sorted(p.stem for p in MARTS_DIR.glob("mart_*.sql"))


def code_labels() -> dict[str, dict[str, str]]:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return project["vars"]["code_labels"]


@cache
def manifest(target: Path) -> dict:
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--no-partial-parse",
            "--quiet",
        ]
    )
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    parsed = manifest(tmp_path_factory.mktemp("dbt_parse"))
    return {
        node["name"]: node
        for node in parsed["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }


def suite_columns(mart: str) -> set[str]:
    suite = json.loads((SUITES_DIR / f"{mart}.json").read_text(encoding="utf-8"))
    return {
        column
        for exp in suite["expectations"]
        if exp["type"] == "expect_table_columns_to_match_set"
        for column in exp["kwargs"]["column_set"]
    }


def test_the_code_columns_are_those_of_the_label_seeds(nodes):
    """Each code of `code_labels` names a seed with the code, `<code>_name` and `sort_order`,
    whose codes the quality gates read too (orchestration/quality/parameters.py)."""
    labels = code_labels()
    assert set(labels) == {"partner_type", "region", "segment", "investment_category", "severity"}
    gate_seeds = {file_name for file_name, _column, _case in SEED_CODE_SETS.values()}
    for code, spec in labels.items():
        seed = nodes[spec["seed"]]
        assert seed["resource_type"] == "seed"
        assert {code, f"{code}_name", "sort_order"} <= set(seed["columns"]), code
        with (SEEDS_DIR / f"{spec['seed']}.csv").open(encoding="utf-8", newline="") as fh:
            header = csv.DictReader(fh).fieldnames or []
        assert {code, f"{code}_name", "sort_order"} <= set(header), code
        assert f"{spec['seed']}.csv" in gate_seeds, code


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_states_its_grain_in_one_line(nodes, mart):
    node = nodes[mart]
    description = " ".join(node["description"].split())
    assert description.startswith("Grain: one row per "), description[:80]
    grain = node["config"]["meta"].get("grain", "")
    assert grain.startswith("one row per ") and "\n" not in grain.strip(), grain


@pytest.mark.parametrize("mart", MARTS)
def test_every_code_column_has_its_label_and_sort_order(nodes, mart):
    documented = set(nodes[mart]["columns"])
    required = suite_columns(mart)
    for code in code_labels():
        if code in documented or code in required:
            for column in (f"{code}_name", f"{code}_sort_order"):
                assert column in documented, f"{mart}.yml does not describe {column}"
                assert column in required, f"expectations/marts/{mart}.json lacks {column}"
