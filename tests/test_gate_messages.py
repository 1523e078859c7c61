"""A gate's failure message (the step's error, the run's log and the alert) names the suite,
the expectation, the table, counts and the failing rows' keys, never the rows' values; the
check's metadata keeps the sample values for the engineer who opens it."""

from __future__ import annotations

from orchestration.quality.results import ExpectationOutcome, SuiteOutcome


def _outcome(keys: list[dict]) -> SuiteOutcome:
    failed = ExpectationOutcome(
        index=3,
        type="expect_column_values_to_be_between",
        kwargs={"column": "amount", "min_value": 0},
        severity="critical",
        success=False,
        element_count=200,
        unexpected_count=2,
        sample_values=["-41.50", "Jane Doe"],
        sample_keys=keys,
    )
    return SuiteOutcome(
        suite="raw_deals",
        suite_path="expectations/raw/deals.json",
        asset="raw/deals",
        table="raw.deals",
        expectations=[failed],
    )


def test_a_failure_line_carries_keys_and_counts_but_no_values():
    (line,) = _outcome([{"deal_id": "D7"}, {"deal_id": "D9"}]).failure_lines()
    assert line == (
        "raw/deals [expectations/raw/deals.json]: "
        "expect_column_values_to_be_between(column=amount, min_value=0) failed on raw.deals: "
        "2 of 200 rows unexpected (1%), e.g. deal_id=D7; deal_id=D9"
    )


def test_without_keys_the_line_still_has_no_values_but_the_metadata_does():
    outcome = _outcome([])
    (line,) = outcome.failure_lines()
    assert "Jane Doe" not in line and "-41.50" not in line
    assert line.endswith("2 of 200 rows unexpected (1%)")
    (failed,) = outcome.failed
    assert failed.as_metadata()["sample_unexpected_values"] == ["-41.50", "Jane Doe"]
