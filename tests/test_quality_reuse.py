"""A passing validation is reused while its batch, suite and parameters are unchanged
(orchestration/quality/memo.py); anything else is validated again. Real GX validations on
copies of the metrics fixture's build database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestration.defs.quality.checks import RAW_TARGETS, WAREHOUSE_TARGETS, check_result
from orchestration.quality.memo import FILE
from orchestration.quality.suites import load_suites
from orchestration.settings import EXPECTATIONS_DIR, SettingsError, load_settings
from tests.fixtures import metrics
from tests.fixtures.quality import (
    build_db_copy,
    execute,
    failures,
    gate,
    suite_targets,
    targets_for,
)

# a raw table, a seed and two marts (one of them reads the as-of date), all passing on the fixture
SUITES = ("raw_partners", "reference_fx_rates", "mart_vertical_depth", "mart_strategy_scorecard")
TARGETS = targets_for(RAW_TARGETS + WAREHOUSE_TARGETS, *SUITES)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return metrics.write_seeds(tmp_path_factory.mktemp("reuse_seeds") / "seeds")


@pytest.fixture
def db(metrics_warehouse: Path, tmp_path: Path) -> Path:
    return build_db_copy(metrics_warehouse, tmp_path / "build.duckdb")


def reused(report) -> dict[str, str | None]:
    return {o.suite: o.reused_from for o in report.outcomes}


def test_an_unchanged_batch_reports_its_last_passing_result(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    first = gate(db, TARGETS, warehouse, seeds, run_name="night-1", reuse=True)
    assert {o.suite for o in first.outcomes if o.passed} == set(SUITES)
    assert reused(first) == dict.fromkeys(SUITES)
    assert (warehouse / FILE).exists()

    second = gate(db, TARGETS, warehouse, seeds, run_name="night-2", reuse=True)
    assert reused(second) == dict.fromkeys(SUITES, "night-1")
    assert second.timings["validate_s"] == 0 and "gx_setup_s" not in second.timings
    for before, after in zip(first.outcomes, second.outcomes, strict=True):
        assert after.passed and after.rows == before.rows
        assert [e.label for e in after.expectations] == [e.label for e in before.expectations]
        assert [e.observed_value for e in after.expectations] == [
            e.observed_value for e in before.expectations
        ]
        # the page of the validation that is reported is still there
        assert after.docs_page == before.docs_page
        assert Path(after.docs_page.removeprefix("file://")).exists()
    result = check_result(second.outcomes[0], second)
    assert result.passed
    assert "reused" in result.description and "night-1" in result.description
    assert result.metadata["reused_result_of_run"].value == "night-1"


def test_a_changed_row_parameter_or_suite_is_validated_again(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    gate(db, TARGETS, warehouse, seeds, run_name="night-1", reuse=True)

    # a partner's name changes: the suite only checks that names are present, so the batch
    # (a presence marker for that column) and the result are the same
    execute(db, "update raw.partners set partner_name = partner_name || ' Ltd' where rowid = 0")
    same = gate(db, TARGETS, warehouse, seeds, run_name="night-1b", reuse=True)
    assert reused(same) == dict.fromkeys(SUITES, "night-1")

    # a partner moves to another (valid) tier: only the partners suite runs again
    execute(db, "update raw.partners set tier = 'silver' where rowid = 0")
    second = gate(db, TARGETS, warehouse, seeds, run_name="night-2", reuse=True)
    assert reused(second) == {**dict.fromkeys(SUITES, "night-1"), "raw_partners": None}
    assert second.outcomes[0].passed and second.timings["validate_s"] > 0

    # another as-of date: the scorecard suite's expectations read it
    third = gate(
        db, TARGETS, warehouse, seeds, run_name="night-3", reuse=True, as_of_date="2026-06-01"
    )
    assert reused(third)["mart_strategy_scorecard"] is None
    assert reused(third)["raw_partners"] == "night-2"
    assert reused(third)["mart_vertical_depth"] == "night-1"

    # an expectation added to the suite's file: that suite runs again, and the new rule fails
    folder = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, folder)
    path = folder / "marts" / "mart_vertical_depth.json"
    data = json.loads(path.read_text())
    data["expectations"].append(
        {
            "type": "expect_table_row_count_to_equal",
            "kwargs": {"value": 0},
            "meta": {"rule": "a test rule", "spec": "§7 Quality gates"},
        }
    )
    path.write_text(json.dumps(data))
    (suite,) = [s for s in load_suites(folder) if s.name == "mart_vertical_depth"]
    fourth = gate(db, suite_targets(suite), warehouse, seeds, run_name="night-4", reuse=True)
    (outcome,) = fourth.outcomes
    assert outcome.reused_from is None and outcome.blocks


def test_a_failed_result_is_never_reused(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    targets = targets_for(RAW_TARGETS, "raw_partners")
    gate(db, targets, warehouse, seeds, run_name="night-1", reuse=True)
    execute(db, "insert into raw.partners select * from raw.partners order by partner_id limit 1")
    for night in ("night-2", "night-3"):
        report = gate(db, targets, warehouse, seeds, run_name=night, reuse=True)
        (outcome,) = report.outcomes
        assert outcome.reused_from is None and outcome.blocks
        assert failures(report) == {
            (
                "raw/partners",
                "expect_column_values_to_be_between",
                "partner_id_occurrences",
                "critical",
            )
        }
    # fixed again: validated (the last result was a failure), then reused
    execute(
        db,
        "delete from raw.partners where rowid = (select max(rowid) from raw.partners)",
    )
    assert reused(gate(db, targets, warehouse, seeds, run_name="night-4", reuse=True)) == {
        "raw_partners": None
    }
    assert reused(gate(db, targets, warehouse, seeds, run_name="night-5", reuse=True)) == {
        "raw_partners": "night-4"
    }


def test_without_reuse_every_suite_is_validated(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    gate(db, TARGETS, warehouse, seeds, run_name="night-1", reuse=True)
    report = gate(db, TARGETS, warehouse, seeds, run_name="night-2", reuse=False)
    assert reused(report) == dict.fromkeys(SUITES)
    assert load_settings({}).quality_reuse is True
    assert load_settings({"PSW_QUALITY_REUSE": "0"}).quality_reuse is False
    with pytest.raises(SettingsError, match="PSW_QUALITY_REUSE='sometimes'"):
        load_settings({"PSW_QUALITY_REUSE": "sometimes"})


def test_a_damaged_memo_file_validates_everything_again_and_is_rewritten(db, seeds, tmp_path):
    warehouse = tmp_path / "w"
    gate(db, TARGETS, warehouse, seeds, run_name="night-1", reuse=True)
    memo = warehouse / FILE

    # cut off mid-write (the gate writes beside and renames, but an editor or a full disk may not)
    memo.write_text(memo.read_text()[:200])
    report = gate(db, TARGETS, warehouse, seeds, run_name="night-2", reuse=True)
    assert reused(report) == dict.fromkeys(SUITES)
    assert all(o.passed for o in report.outcomes)
    assert len(json.loads(memo.read_text())["entries"]) == len(TARGETS)

    # entries with the right key but outcomes that are not ones: validated, not reused
    data = json.loads(memo.read_text())
    first, second = list(data["entries"])[:2]
    data["entries"][first]["outcome"] = {"passed": True}  # no expectations
    data["entries"][second]["outcome"] = {"passed": True, "expectations": [], "verdict": "ok"}
    memo.write_text(json.dumps(data))
    report = gate(db, TARGETS, warehouse, seeds, run_name="night-3", reuse=True)
    damaged = [first.split("|")[0], second.split("|")[0]]
    assert [o.suite for o in report.outcomes if o.reused_from is None] == damaged
    assert all(o.passed for o in report.outcomes)

    # and the next night reuses the results the damaged nights validated
    report = gate(db, TARGETS, warehouse, seeds, run_name="night-4", reuse=True)
    assert {o.reused_from for o in report.outcomes} <= {"night-2", "night-3"}
    assert None not in {o.reused_from for o in report.outcomes}
