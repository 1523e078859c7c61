"""Run the nightly_refresh job through the Dagster instance, as the schedule does."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.instance import ensure_dagster_env
from orchestration.recovery import process_tags, recover_dead_runs
from orchestration.run_errors import root_message


@dataclass
class RefreshOutcome:
    run_id: str
    success: bool
    recovered_runs: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    materialized: int = 0

    def summary(self) -> str:
        lines = [
            f"marked run {run_id} failed: its process had died" for run_id in self.recovered_runs
        ]
        if self.success:
            lines.append(f"run {self.run_id} succeeded: {self.materialized} assets materialized")
            return "\n".join(lines)
        lines.append(f"run {self.run_id} FAILED")
        lines += [f"  step failed: {f}" for f in self.failures]
        lines += [f"  check failed: {c}" for c in self.failed_checks]
        return "\n".join(lines)


@contextmanager
def refresh_lock(path: Path, log: Callable[[str], None] = print) -> Iterator[None]:
    """One `psw refresh` at a time per warehouse, waiting in the kernel.

    The `duckdb_writer` pool (dagster.yaml) is what guarantees one writer, for every kind of
    run. This lock only spares a second `psw refresh` from waiting inside Dagster, whose
    in-process executor polls for the pool slot without sleeping (dagster 1.13.27:
    interval_to_next_pending_claim_check returns min(0, ...)) and so burns a core. The kernel
    releases the lock when the process dies, even by kill -9.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another refresh holds {path}; waiting for it to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
        recovered = recover_dead_runs(instance)
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={"psw/trigger": "psw refresh", **process_tags()},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            resources=resources,
        )
    finally:
        if owns_instance:
            instance.dispose()
    outcome = RefreshOutcome(run_id=result.run_id, success=result.success, recovered_runs=recovered)
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            message = root_message(event.step_failure_data.error)
            outcome.failures.append(f"{event.step_key}: {message}")
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            outcome.materialized += 1
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            outcome.failed_checks.append(
                f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            )
    return outcome
