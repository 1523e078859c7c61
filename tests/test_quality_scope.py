"""The raw gate validates what a load changed: the rows of the pending loads, once every row of
the table passed under the same suite, seeds and versions (its basis); the keys and foreign keys
as figures over the table; every row again when a suite or a seed changes. Rows reach GX in
chunks whose results add up to those of one frame. Real GX validations on copies of the
metrics fixture's build database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.quality.checks import RAW_TARGETS, check_result
from orchestration.quality.gate import BASIS_TABLE
from orchestration.quality.suites import parse_suite
from tests.fixtures import metrics
from tests.fixtures.quality import (
    build_db_copy,
    execute,
    failures,
    gate,
    seeds_with,
    suite_targets,
    targets_for,
)

RAW_SUITES = ("raw_partners", "raw_deals", "raw_certifications", "raw_incentives")
TARGETS = targets_for(RAW_TARGETS, *RAW_SUITES)
NEW_LOAD = 990


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return metrics.write_seeds(tmp_path_factory.mktemp("scope_seeds") / "seeds")


@pytest.fixture
def db(metrics_warehouse: Path, tmp_path: Path) -> Path:
    return build_db_copy(metrics_warehouse, tmp_path / "build.duckdb")


def table_rows(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def by_suite(report) -> dict[str, tuple[str, int]]:
    return {o.suite: (o.scope, o.rows) for o in report.outcomes}


def load_pending(db: Path, entity: str, *statements: str) -> None:
    """Statements that write rows of load NEW_LOAD, marked pending as the loader does."""
    execute(
        db,
        *statements,
        f"insert into audit.pending_loads values ('{entity}', {NEW_LOAD}, 'r', now()::timestamp)",
    )


def new_deal(deal_id: str, stage: str = "registered", partner: str = "P1") -> str:
    return (
        "insert into raw.deals by name select * replace ("
        f"'{deal_id}' as deal_id, '{stage}' as stage, '{partner}' as partner_id, "
        f"{NEW_LOAD} as _load_id) from raw.deals "
        f"where deal_id = 'D01' and _load_id <> {NEW_LOAD}"
    )


@pytest.fixture
def judged(db: Path, seeds: Path, tmp_path: Path) -> Path:
    """The copy after a first gate: every row passed, the bases are kept."""
    report = gate(db, TARGETS, tmp_path / "w", seeds, run_name="night-1", record=True)
    assert not report.blocking, report.failure_message("gate")
    return db


def test_a_first_gate_judges_every_row_and_keeps_its_basis(db, seeds, tmp_path):
    report = gate(db, TARGETS, tmp_path / "w", seeds, run_name="night-1", record=True)
    assert by_suite(report) == {
        f"raw_{e}": ("all rows", table_rows(db, f"raw.{e}"))
        for e in ("partners", "deals", "certifications", "incentives")
    }
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute(f"select suite, asset, run_id from {BASIS_TABLE} order by 1").fetchall()
    assert kept == sorted(
        (f"raw_{e}", f"raw/{e}", "night-1")
        for e in ("partners", "deals", "certifications", "incentives")
    )


def test_a_night_without_loads_validates_no_row_and_reports_every_expectation(
    judged, seeds, tmp_path
):
    first = gate(judged, TARGETS, tmp_path / "w1", seeds)
    report = gate(judged, TARGETS, tmp_path / "w", seeds, run_name="night-2", record=True)
    assert by_suite(report) == dict.fromkeys(RAW_SUITES, ("changed rows", 0))
    assert not report.blocking
    for before, after in zip(first.outcomes, report.outcomes, strict=True):
        assert [e.label for e in after.expectations] == [e.label for e in before.expectations]
    deals = next(o for o in report.outcomes if o.suite == "raw_deals")
    result = check_result(deals, report)
    assert result.passed and "on the 0 row(s) this run's loads added or replaced" in (
        result.description
    )
    assert result.metadata["scope"].value == "changed rows"
    page = result.metadata["data_docs_page"].value
    assert "night-2" in page and Path(page.removeprefix("file://")).is_file()


def test_the_rows_of_the_pending_loads_are_judged_and_named(judged, seeds, tmp_path):
    # an old row broken behind the loader's back is outside the batch; the loaded one is judged
    execute(judged, "update raw.deals set stage = 'closed' where deal_id = 'D02'")
    load_pending(judged, "deals", new_deal("N1"), new_deal("N2", stage="shipped"))
    report = gate(judged, TARGETS, tmp_path / "w", seeds, run_name="night-2")
    assert by_suite(report)["raw_deals"] == ("changed rows", 2)
    assert failures(report) == {
        ("raw/deals", "expect_column_values_to_be_in_set", "stage", "critical")
    }
    (outcome,) = report.blocking
    (stage,) = outcome.failed
    assert (stage.unexpected_count, stage.element_count, stage.sample_keys) == (
        1,
        2,
        [{"deal_id": "N2"}],
    )


def test_a_key_stored_twice_and_an_unknown_partner_are_figures_over_the_table(
    judged, seeds, tmp_path
):
    # D01 is an old row: the new row repeats its key; N3 names a partner nobody loaded
    load_pending(judged, "deals", new_deal("D01"), new_deal("N3", partner="P404"))
    report = gate(judged, TARGETS, tmp_path / "w", seeds, run_name="night-2")
    assert by_suite(report)["raw_deals"] == ("changed rows", 2)
    assert failures(report) == {
        ("raw/deals", "expect_column_max_to_be_between", "deal_ids_stored_twice", "critical"),
        ("raw/deals", "expect_column_max_to_be_between", "unknown_partner_ids", "critical"),
    }
    (outcome,) = report.blocking
    assert [e.observed_value for e in outcome.failed] == [1, 1]


def test_a_changed_seed_or_suite_judges_every_row_again(judged, seeds, tmp_path):
    execute(judged, "update raw.deals set stage = 'closed' where deal_id = 'D02'")
    changed_seeds = seeds_with(tmp_path / "seeds", {"countries.csv": ("\n", "\nZZ,Nowhere,EMEA\n")})
    report = gate(judged, TARGETS, tmp_path / "w", changed_seeds, run_name="night-2")
    assert by_suite(report)["raw_deals"] == ("all rows", table_rows(judged, "raw.deals"))
    assert failures(report) == {
        ("raw/deals", "expect_column_values_to_be_in_set", "stage", "critical")
    }

    (deals,) = targets_for(TARGETS, "raw_deals")
    data = json.loads(deals.suite.path.read_text())
    data["notes"] += " (edited)"
    edited = parse_suite(deals.suite.path, data)
    report = gate(judged, suite_targets(edited), tmp_path / "w", seeds, run_name="night-3")
    assert by_suite(report)["raw_deals"] == ("all rows", table_rows(judged, "raw.deals"))
    assert report.blocking
    # the unchanged suite, with the seeds of its basis, still judges only the changed rows
    report = gate(judged, [deals], tmp_path / "w", seeds, run_name="night-4")
    assert by_suite(report)["raw_deals"] == ("changed rows", 0)


def test_a_blocked_first_gate_keeps_no_basis(db, seeds, tmp_path):
    execute(db, "update raw.deals set stage = 'closed' where deal_id = 'D02'")
    report = gate(db, TARGETS, tmp_path / "w", seeds, run_name="night-1", record=True)
    assert report.blocking
    again = gate(db, TARGETS, tmp_path / "w", seeds, run_name="night-2")
    assert by_suite(again)["raw_deals"] == ("all rows", table_rows(db, "raw.deals"))
    assert by_suite(again)["raw_partners"] == ("changed rows", 0)


def test_chunks_add_up_to_the_whole_batch(db, seeds, tmp_path):
    execute(
        db,
        "update raw.deals set stage = 'closed' where deal_id in ('D02', 'D10', 'D13')",
        "update raw.deals set amount = -1 where deal_id = 'D05'",
    )
    whole = gate(db, TARGETS, tmp_path / "w1", seeds)
    chunked = gate(db, TARGETS, tmp_path / "w2", seeds, chunk_rows=4)
    deals_rows = table_rows(db, "raw.deals")
    (one,) = [o for o in whole.outcomes if o.suite == "raw_deals"]
    (many,) = [o for o in chunked.outcomes if o.suite == "raw_deals"]
    assert (one.chunks, many.chunks) == (1, -(-deals_rows // 4))
    assert one.rows == many.rows == deals_rows
    assert (
        failures(whole)
        == failures(chunked)
        == {
            ("raw/deals", "expect_column_values_to_be_in_set", "stage", "critical"),
            ("raw/deals", "expect_column_values_to_be_between", "amount", "critical"),
        }
    )
    for a, b in zip(one.expectations, many.expectations, strict=True):
        assert (a.label, a.success, a.element_count, a.unexpected_count) == (
            b.label,
            b.success,
            b.element_count,
            b.unexpected_count,
        )
        assert a.unexpected_percent == pytest.approx(b.unexpected_percent)
        assert sorted(map(str, a.sample_keys)) == sorted(map(str, b.sample_keys))
    stage = next(e for e in many.failed if e.kwargs["column"] == "stage")
    assert sorted(k["deal_id"] for k in stage.sample_keys) == ["D02", "D10", "D13"]
