"""Run the nightly_refresh job through the Dagster instance, as the schedule does."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from orchestration.instance import ensure_dagster_env


@dataclass
class RefreshOutcome:
    run_id: str
    success: bool
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    materialized: int = 0

    def summary(self) -> str:
        if self.success:
            return f"run {self.run_id} succeeded: {self.materialized} assets materialized"
        lines = [f"run {self.run_id} FAILED"]
        lines += [f"  step failed: {f}" for f in self.failures]
        lines += [f"  check failed: {c}" for c in self.failed_checks]
        return "\n".join(lines)


def run_refresh(
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    instance: dg.DagsterInstance | None = None,
) -> RefreshOutcome:
    """Execute nightly_refresh in this process, recorded in the instance (visible in the UI).

    `resources` overrides the definitions' resources (tests point the warehouse elsewhere).
    """
    ensure_dagster_env()
    from orchestration.definitions import defs
    from orchestration.defs.jobs import NIGHTLY_JOB

    job = defs.get_job_def(NIGHTLY_JOB)
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    try:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={"dagster/trigger": "psw refresh"},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            resources=resources,
        )
    finally:
        if owns_instance:
            instance.dispose()
    outcome = RefreshOutcome(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the user's exception, not Dagster's wrapper
            message = error.message.strip() if error else "unknown error"
            outcome.failures.append(f"{event.step_key}: {message}")
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            outcome.materialized += 1
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            outcome.failed_checks.append(
                f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            )
    return outcome
