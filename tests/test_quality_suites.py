"""The suite files and how a batch is drawn, without running a gate."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.quality.checks import DBT_KEYS, RAW_KEYS, gate_targets
from orchestration.ingest.contract import DEAL_STAGES
from orchestration.quality.batches import BatchError, batch_sql, draw_batch, table_columns
from orchestration.quality.parameters import (
    SEED_CODE_SETS,
    contract_code_sets,
    gate_parameters,
    seed_code_sets,
)
from orchestration.quality.suites import SuiteError, build_gx_suite, load_suites, parse_suite
from orchestration.settings import EXPECTATIONS_DIR, PROJECT_DIR, SEEDS_DIR, load_settings

SUITES = load_suites(EXPECTATIONS_DIR)


def test_one_suite_per_raw_entity_per_seed_with_rules_and_per_mart():
    guarded = {"/".join(g) for s in SUITES for g in s.guards}
    assert {k.to_user_string() for k in RAW_KEYS} <= guarded
    marts = {k.to_user_string() for k in DBT_KEYS if k.path[0] == "marts"}
    mart_files = {
        f"marts/{p.stem}" for p in (PROJECT_DIR / "dbt_project/models/marts").glob("*.sql")
    }
    assert marts == mart_files and marts <= guarded
    seeds = {g for g in guarded if g.startswith("reference/")}
    assert seeds == {
        f"reference/{name}"
        for name in (
            "strategy_targets",
            "investment_targets",
            "vendor_profile",
            "growth_stage_playbook",
            "fx_rates",
            "health_score_weights",
            "alert_thresholds",
        )
    }


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_every_suite_builds_into_gx(suite):
    rows, figures = build_gx_suite(suite), build_gx_suite(suite, figures=True)
    assert len(rows.expectations) + len(figures.expectations) == len(suite.expectations) > 0
    assert len(figures.expectations) == len(suite.figure_expectations())
    assert figures.name == f"{suite.name}__figures"
    for e in [*rows.expectations, *figures.expectations]:
        assert e.meta.get("rule"), "say which rule it enforces"


def test_every_parameter_a_suite_uses_exists():
    known = {*contract_code_sets(), *SEED_CODE_SETS, "reject_threshold_pct", "reject_min_rows"}
    for suite in SUITES:
        assert suite.parameters_used() <= known, suite.path


def test_contract_code_sets_are_parameters_and_seed_code_sets_come_from_the_seeds(tmp_path):
    codes = contract_code_sets()
    assert codes["deal_stages"] == list(DEAL_STAGES)
    for seeded in ("partner_types", "regions", "segments", "investment_categories"):
        assert seeded not in codes  # a seed holds them (SPEC §4)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "partner_types.csv").write_text(
        "partner_type,partner_type_name\n Reseller ,R\nmarketplace,M\nRESELLER,dup\n"
    )
    # regions in the order of regions.csv, not of the countries that use them
    (seeds / "countries.csv").write_text("country_code,country_name,region\nUS,U,NA\nFR,F,EU\n")
    (seeds / "regions.csv").write_text("region,region_name,sort_order\nEU,Europe,1\nNA,N,2\n")
    (seeds / "segments.csv").write_text("segment,segment_name,sort_order\n SMB ,S,1\nmid,M,2\n")
    (seeds / "investment_categories.csv").write_text(
        "investment_category,investment_category_name,sort_order\nGrowth,G,1\n"
    )
    (seeds / "alert_severities.csv").write_text(
        "severity,severity_name,sort_order\ncritical,C,1\nnotice,N,2\n"
    )
    assert seed_code_sets(seeds) == {
        "partner_types": ["reseller", "marketplace"],
        "regions": ["EU", "NA"],
        "segments": ["smb", "mid"],
        "investment_categories": ["growth"],
        "alert_severities": ["critical", "notice"],
    }
    params = gate_parameters(load_settings(), "run-1", seeds)
    assert params["partner_types"] == ["reseller", "marketplace"]
    assert params["deal_stages"] == list(DEAL_STAGES)
    assert "reseller" in seed_code_sets(SEEDS_DIR)["partner_types"]


def test_a_suite_guarding_an_unknown_asset_is_refused(tmp_path):
    suite = parse_suite(
        tmp_path / "x.json",
        {
            "name": "x",
            "meta": {"guards": ["marts/nope"], "batch": {"table": "a.b"}},
            "expectations": [],
        },
    )
    with pytest.raises(ValueError, match=r"x.json: meta.guards names 'marts/nope'"):
        gate_targets([suite], RAW_KEYS | DBT_KEYS)


def test_bad_files_are_named_with_what_to_fix(tmp_path):
    (tmp_path / "broken.json").write_text("{ not json")
    with pytest.raises(SuiteError, match=r"broken.json: is not valid JSON"):
        load_suites(tmp_path)
    bad = {
        "name": "bad",
        "meta": {"guards": ["raw/deals"], "batch": {"table": "raw.deals"}},
        "expectations": [
            {
                "type": "expect_column_values_to_be_purple",
                "kwargs": {"column": "x"},
                "severity": "warning",
            }
        ],
    }
    suite = parse_suite(tmp_path / "bad.json", bad)
    with pytest.raises(
        SuiteError,
        match=r"bad.json: expectations\[0\] \(expect_column_values_to_be_purple\) is not valid",
    ):
        build_gx_suite(suite)
    bad["expectations"] = [{"type": "expect_table_row_count_to_equal", "severity": "fatal"}]
    with pytest.raises(SuiteError, match=r"severity must be one of"):
        parse_suite(tmp_path / "bad.json", bad)
    (tmp_path / "broken.json").write_text(json.dumps({**bad, "expectations": []}))
    (tmp_path / "again.json").write_text(json.dumps({**bad, "expectations": []}))
    with pytest.raises(SuiteError, match=r'suite name "bad" is also used'):
        load_suites(tmp_path)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.deals as select * from (values "
        "('D1', 'won', 10.50::decimal(18,2), 'A1', 'x'), "
        "('D2', 'lost', 3::decimal(18,2), null, 'y')"
        ") as t(deal_id, stage, amount, account_id, track)"
    )
    yield con
    con.close()


def suite_of(expectations: list[dict], **batch: object) -> object:
    """A suite of `expectations`, each blocking and naming a rule of SPEC (as suites.py asks)."""
    named = [
        {"meta": {"rule": "a test rule", "spec": "§7 Quality gates"}, **e} for e in expectations
    ]
    return parse_suite(
        Path("t.json"),
        {
            "name": "t",
            "meta": {"guards": ["raw/deals"], "batch": {"table": "raw.deals", **batch}},
            "expectations": named,
        },
    )


def test_a_batch_holds_values_only_where_an_expectation_looks(con):
    suite = suite_of(
        [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "stage", "value_set": []},
            },
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "account_id"}},
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "big", "value_set": [True]},
            },
        ],
        key=["deal_id"],
        derived_columns={"big": "amount > $limit"},
    )
    _, pulled = batch_sql(suite, table_columns(con, "raw.deals"))
    assert pulled == ["stage", "amount", "account_id"]
    batch = draw_batch(con, suite, {"limit": 5})
    frame = batch.frame
    assert list(frame.columns) == ["deal_id", "stage", "amount", "account_id", "track", "big"]
    assert frame["deal_id"].isna().all() and not batch.has_key  # the key only on failure
    assert frame["amount"].tolist() == [10.5, 3.0]  # DECIMAL as double
    assert frame["account_id"].isna().tolist() == [False, True]  # presence marker
    assert frame["track"].isna().all()  # present for the schema, never read
    assert frame["big"].tolist() == [True, False]
    keyed = draw_batch(con, suite, {"limit": 5}, with_key=True)
    assert keyed.has_key and keyed.frame["deal_id"].tolist() == ["D1", "D2"]


def test_a_batch_names_unknown_parameters_and_missing_tables(con):
    with pytest.raises(BatchError, match=r"unknown parameter\(s\) \['nope'\]"):
        draw_batch(con, suite_of([], where="stage = $nope"), {"run_id": "r"})
    missing = parse_suite(
        Path("m.json"),
        {
            "name": "m",
            "meta": {"guards": ["raw/deals"], "batch": {"table": "raw.nope"}},
            "expectations": [],
        },
    )
    with pytest.raises(BatchError, match=r"table raw.nope .* does not exist"):
        draw_batch(con, missing, {})


def test_reject_settings_are_read_from_the_environment():
    assert (load_settings({}).reject_threshold_pct, load_settings({}).reject_min_rows) == (5.0, 100)
    settings = load_settings({"PSW_REJECT_THRESHOLD_PCT": "2.5", "PSW_REJECT_MIN_ROWS": "20"})
    assert (settings.reject_threshold_pct, settings.reject_min_rows) == (2.5, 20)
