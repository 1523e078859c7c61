"""Suite outcomes as Dagster asset check results, for the gates of every defs folder."""

import dagster as dg

from orchestration.quality.gate import GateReport
from orchestration.quality.results import SuiteOutcome
from orchestration.settings import PROJECT_DIR


def _markdown(outcome: SuiteOutcome) -> str:
    """Every expectation of the suite: result, unexpected rows, what was seen when it failed."""
    rows = [
        "| # | expectation | severity | result | unexpected | finding |",
        "|---|---|---|---|---|---|",
    ]
    for e in outcome.expectations:
        finding = e.finding().replace("|", "\\|") if not e.success else ""
        label = e.label.replace("|", "\\|")
        status = "passed" if e.success else "**FAILED**"
        unexpected = "" if e.unexpected_count is None else f"{e.unexpected_count:,}"
        rows.append(
            f"| {e.index} | `{label}` | {e.severity} | {status} | {unexpected} | {finding} |"
        )
    return "\n".join(rows)


def check_result(
    outcome: SuiteOutcome, report: GateReport, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    """One suite outcome as a Dagster check result, with every expectation's figures; on
    `asset_key` (default: the asset the suite guards)."""
    failed = outcome.failed
    if outcome.error:
        description = f"suite could not run: {outcome.error}"
    elif failed:
        description = f"{len(failed)} of {len(outcome.expectations)} expectations failed: " + (
            "; ".join(f"{e.label}: {e.finding(with_values=False)}" for e in failed[:3])
        )
    else:
        description = f"all {len(outcome.expectations)} expectations passed"
    if outcome.scope == "changed rows":
        description += (
            f" on the {outcome.rows:,} row(s) this run's loads added or replaced (every other row "
            "passed under the same suite, seeds and versions)"
        )
    metadata: dict[str, object] = {
        "suite_file": dg.MetadataValue.path(str(PROJECT_DIR / outcome.suite_path)),
        "table": outcome.table,
        "rows_validated": outcome.rows,
        "scope": outcome.scope,
        "chunks": outcome.chunks,
        "expectations": len(outcome.expectations),
        "failed_critical": len(outcome.blocking_failures),
        "failed_warning": len(failed) - len(outcome.blocking_failures),
        "validation_seconds": round(outcome.seconds, 3),
        "results": dg.MetadataValue.md(_markdown(outcome)),
        "failed_expectations": dg.MetadataValue.json([e.as_metadata() for e in failed]),
    }
    if outcome.error:
        metadata["error"] = dg.MetadataValue.text(outcome.error)
    if report.docs_index:
        metadata["data_docs"] = dg.MetadataValue.path(str(report.docs_index))
    if outcome.docs_page:
        metadata["data_docs_page"] = dg.MetadataValue.url(outcome.docs_page)
    return dg.AssetCheckResult(
        asset_key=asset_key or dg.AssetKey(outcome.asset.split("/")),
        check_name=f"gx_{outcome.suite}",
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocks else dg.AssetCheckSeverity.WARN,
        description=description[:2000],
        metadata=metadata,
    )
