"""Only the contract blocks (issue 23, point 1; SPEC §7 "What may block").

- a blocking (critical) expectation names the rule of SPEC it enforces in `meta.spec`, by
  section; suites.py refuses a suite file where one does not, naming the file and expectation;
- every shipped suite follows that rule, and holds no grain count or code set that a seed holds;
- grain counts follow the seeds: a ninth partner type in the partner_types seed is one more row
  expected, with no change to any suite.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.quality.checks import WAREHOUSE_TARGETS
from orchestration.quality.parameters import seed_code_sets
from orchestration.quality.suites import SuiteError, load_suites, parse_suite
from orchestration.settings import EXPECTATIONS_DIR, SEEDS_DIR
from tests.fixtures.quality import failures, gate, targets_for

SUITES = load_suites(EXPECTATIONS_DIR)


def _suite(expectation: dict) -> dict:
    return {
        "name": "s",
        "meta": {"guards": ["marts/mart_strategy_scorecard"], "batch": {"table": "marts.x"}},
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1},
             "meta": {"rule": "rows", "spec": "§7 Marts: row counts above zero"}},
            expectation,
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    "meta",
    [
        None,
        {"rule": "median days are not negative"},
        {"rule": "x", "spec": ""},
        {"rule": "x", "spec": "none: what data usually looks like"},
        {"rule": "x", "spec": "SPEC 7"},
        {"rule": "x", "spec": ["§7"]},
    ],
    ids=["no-meta", "no-spec", "empty", "none", "no-section-sign", "not-text"],
)
def test_a_blocking_expectation_that_names_no_spec_section_is_refused(tmp_path, meta):
    expectation = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "d"}}
    if meta is not None:
        expectation["meta"] = meta
    path = tmp_path / "marts" / "m.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_suite(expectation)))
    with pytest.raises(SuiteError) as error:
        load_suites(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}: expectations[1] (expect_column_values_to_be_between)")
    assert "meta.spec does not name a section of SPEC.md" in message
    assert '"severity": "warning"' in message  # says what to do


def test_a_warning_needs_no_spec_and_an_explicit_critical_does(tmp_path):
    warning = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "d"},
               "severity": "warning", "meta": {"rule": "plausible"}}  # fmt: skip
    assert len(parse_suite(tmp_path / "w.json", _suite(warning)).expectations) == 2
    critical = {**warning, "severity": "critical"}
    with pytest.raises(SuiteError, match=r"w.json: expectations\[1\]"):
        parse_suite(tmp_path / "w.json", _suite(critical))
    named = {**critical, "meta": {"rule": "r", "spec": "§3 amount ≥ 0"}}
    assert parse_suite(tmp_path / "w.json", _suite(named)).expectations[1]["meta"]["spec"]


SECTIONS = {str(n) for n in range(1, 11)}  # SPEC.md §1 .. §10


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_every_shipped_blocking_expectation_names_a_spec_section(suite):
    for i, exp in enumerate(suite.expectations):
        if exp.get("severity", "critical") != "critical":
            continue
        spec = exp["meta"]["spec"]
        match = re.match(r"^§(\d+)", spec)
        assert match and match.group(1) in SECTIONS, (suite.path, i, spec)
        assert exp["meta"].get("rule"), (suite.path, i)


def _literals(value: object) -> list[object]:
    if isinstance(value, list):
        return [x for v in value for x in _literals(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _literals(v)]
    return [value]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_no_shipped_suite_repeats_a_seed_code_set_or_a_grain_count(suite):
    seeded = {code for codes in seed_code_sets(SEEDS_DIR).values() for code in codes}
    for i, exp in enumerate(suite.expectations):
        kwargs = exp.get("kwargs", {})
        # a code set that a seed holds is a parameter ({"$PARAMETER": "partner_types"}) or a
        # derived column over the seed, never a list in the file
        listed = kwargs.get("value_set")
        if isinstance(listed, list):
            assert not seeded & set(listed), (suite.path, i, listed)
        # "one row per X" compares with the reference data; only SPEC's own "one row" is a number
        if exp["type"] == "expect_table_row_count_to_equal":
            assert kwargs == {"value": 1}, (suite.path, i)
        if exp["type"] == "expect_column_values_to_be_between":
            bounds = [kwargs.get("min_value"), kwargs.get("max_value")]
            assert not [b for b in bounds if isinstance(b, int | float) and b >= 2], (
                suite.path,
                i,
                kwargs,
            )
    for sql in suite.batch.derived_columns.values():
        assert not re.search(r"\b(NA|LATAM|EMEA|APAC|reseller|distributor)\b", sql), sql


def test_the_plausibility_rules_of_the_issue_are_warnings():
    by_name = {s.name: s for s in SUITES}
    productivity = by_name["mart_ecosystem_productivity"].expectations
    (median,) = [e for e in productivity if e["kwargs"].get("column") == "median_days_to_first_win"]
    assert median["severity"] == "warning"
    partners = by_name["raw_partners"].expectations
    (enrolled,) = [e for e in partners if e["kwargs"].get("column_A") == "enrolled_on"]
    assert enrolled["severity"] == "warning"


# ---------------------------------------------------------------------------------------------
# Grain counts come from the seeds: a gate run on a small build database of its own
# ---------------------------------------------------------------------------------------------

PRODUCTIVITY = targets_for(WAREHOUSE_TARGETS, "mart_ecosystem_productivity")
NUMBERS = [
    "enrolled_partners",
    "active_partners",
    "partner_revenue_usd",
    "partner_sourced_revenue_usd",
    "new_customers",
    "investment_usd",
]


def _productivity_db(path: Path, types: list[str]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    columns = ", ".join(f"0 as {c}" for c in NUMBERS)
    values = ", ".join(f"('{t}')" for t in types)
    con.execute(
        "create table marts.mart_ecosystem_productivity as select partner_type, "
        f"{columns}, cast(null as double) as active_ratio, "
        "cast(null as double) as revenue_per_active_partner_usd, "
        "cast(null as double) as new_customer_share, cast(null as double) as roi_multiple, "
        "cast(null as double) as median_days_to_first_win, "
        "partner_type as partner_type_name, 1 as partner_type_sort_order "
        f"from (values {values}) as t(partner_type)"
    )
    con.close()
    return path


def _seeds_with_types(target: Path, types: list[str]) -> Path:
    target.mkdir(parents=True)
    (target / "partner_types.csv").write_text(
        "partner_type,partner_type_name,sort_order,description\n"
        + "".join(f"{t},{t},{i},d\n" for i, t in enumerate(types, 1))
    )
    shipped = ("countries.csv", "verticals.csv", "partner_type_aliases.csv", "fx_rates.csv")
    labels = ("regions.csv", "segments.csv", "investment_categories.csv", "alert_severities.csv")
    for name in (*shipped, *labels):
        (target / name).write_bytes((SEEDS_DIR / name).read_bytes())
    return target


def test_grain_counts_follow_the_partner_types_seed(tmp_path):
    eight = ["reseller", "distributor", "msp", "isv", "system_integrator", "oem", "referral",
             "strategic_alliance"]  # fmt: skip
    nine = [*eight, "marketplace"]
    db = _productivity_db(tmp_path / "build.duckdb", nine)

    report = gate(db, PRODUCTIVITY, tmp_path / "w9", _seeds_with_types(tmp_path / "s9", nine))
    assert not report.blocking and failures(report) == set()

    # the same mart against a seed of eight types: the ninth row is not a type, one row too many
    report = gate(db, PRODUCTIVITY, tmp_path / "w8", _seeds_with_types(tmp_path / "s8", eight))
    assert failures(report) == {
        (
            "marts/mart_ecosystem_productivity",
            "expect_column_pair_values_to_be_equal",
            "mart_rows",
            "critical",
        ),
        (
            "marts/mart_ecosystem_productivity",
            "expect_column_distinct_values_to_equal_set",
            "partner_type",
            "critical",
        ),
    }
