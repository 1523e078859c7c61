"""Run the nightly_refresh job through the Dagster instance, as the schedule does.

`psw refresh` runs the job in a worker process of its own (orchestration/cli/refresh_worker.py)
and watches it, as Dagster's code server watches the run workers it launches for the UI, the
schedule and the sensors. A worker that dies (killed, out of memory) leaves its run STARTED:
`psw refresh` marks it failed, and Dagster then decides, from the run retries of dagster.yaml,
whether it is retried (the `dagster/will_retry` tag it puts on every failed run). If so, the
run is re-executed with Dagster's re-execution API, as a retry of the original
run (same run group, `dagster/retry_number`), exactly as the daemon retries the runs it
launched, with the job's retry strategy (`dagster/retry_strategy`,
defs/automation/jobs.py). A run that failed on data (a failed step, a blocking check, a
rejected file) is tagged not to retry, and is not.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.cli.instance import ensure_dagster_env
from orchestration.cli.recovery import free_finished_slots, process_tags, recover_dead_runs
from orchestration.cli.run_errors import root_message

TRIGGER_TAG = "psw/trigger"
# Names one attempt of `psw refresh`, so that the supervisor finds the run its worker created.
ATTEMPT_TAG = "psw/attempt"
# Dagster's run-retry tags (dagster.yaml `run_retries`): its decision on a failed run, the
# number of a retry in its run group, and the run group itself.
WILL_RETRY_TAG = "dagster/will_retry"
RETRY_NUMBER_TAG = "dagster/retry_number"
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
ROOT_RUN_ID_TAG = "dagster/root_run_id"
RETRY_STRATEGY_TAG = "dagster/retry_strategy"


@dataclass
class RefreshOutcome:
    run_id: str
    success: bool
    recovered_runs: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    materialized: int = 0
    # what `materialized` counts, for the summary: assets (a refresh), partitions (a backfill)
    materialized_unit: str = "assets"
    # (failed run, why it was retried) for each retry `psw refresh` made
    retried_runs: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    def summary(self) -> str:
        lines = [
            f"marked run {run_id} failed: its process had died" for run_id in self.recovered_runs
        ]
        lines += [f"run {run_id} failed ({why}): retried" for run_id, why in self.retried_runs]
        if self.success:
            done = f"{self.materialized} {self.materialized_unit} materialized"
            lines.append(f"run {self.run_id} succeeded: {done}")
            return "\n".join(lines)
        lines.append(f"run {self.run_id} FAILED" if self.run_id else "refresh FAILED")
        if self.error:
            lines.append(f"  {self.error}")
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


def nightly_job() -> dg.JobDefinition:
    """The nightly_refresh job with the definitions' resources; a module-level function so
    that `dg.reconstructable` can rebuild it for execute_job and its re-execution."""
    ensure_dagster_env()
    from orchestration.definitions import defs
    from orchestration.names import NIGHTLY_JOB

    return defs().get_job_def(NIGHTLY_JOB)


def logger_config(log_level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def outcome_from_instance(instance: dg.DagsterInstance, run_id: str) -> RefreshOutcome:
    """What a finished run did, read from the instance's event log."""
    run = instance.get_run_by_id(run_id)
    outcome = RefreshOutcome(
        run_id=run_id, success=run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    )
    wanted = {
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.RUN_FAILURE,
    }
    run_failure = ""
    cursor = None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=wanted, limit=1000)
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                message = root_message(event.step_failure_data.error)
                outcome.failures.append(f"{event.step_key}: {message}")
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                outcome.materialized += 1
            elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                if not evaluation.passed:
                    outcome.failed_checks.append(
                        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                    )
            elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
                run_failure = event.message or ""
        if not page.has_more:
            break
        cursor = page.cursor
    if not outcome.success and not outcome.failures and run_failure:
        outcome.error = run_failure
    return outcome


def run_refresh(
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    instance: dg.DagsterInstance | None = None,
) -> RefreshOutcome:
    """Execute nightly_refresh in this process, recorded in the instance (visible in the UI).

    `resources` overrides the definitions' resources (tests point the warehouse elsewhere).
    """
    job = nightly_job()
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    try:
        recovered = recover_dead_runs(instance)
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={TRIGGER_TAG: "psw refresh", **process_tags()},
            run_config=logger_config(log_level),
            resources=resources,
        )
        outcome = outcome_from_instance(instance, result.run_id)
    finally:
        if owns_instance:
            instance.dispose()
    outcome.recovered_runs = recovered
    return outcome


def _run_with_tag(instance: dg.DagsterInstance, key: str, value: str) -> dg.DagsterRun | None:
    records = instance.get_run_records(filters=dg.RunsFilter(tags={key: value}), limit=1)
    return records[0].dagster_run if records else None


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode} while the run was still in progress"


class _Worker:
    """One worker process; SIGTERM and SIGINT to `psw refresh` are passed on to it, and the
    run it was executing then ends as Dagster ends an interrupted run (failed, not retried).

    It stays in the process group of `psw refresh`, so that a signal to the group (Ctrl-C in
    a terminal, kill -- -pgid) reaches the worker and its dbt processes too. A SIGINT that
    arrives twice (from the terminal and from here) is one interruption for Dagster."""

    def __init__(self, argv: list[str]):
        self.interrupted = False
        self.proc = subprocess.Popen(argv)

    def wait(self) -> int:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {
                sig: signal.signal(sig, self._forward) for sig in (signal.SIGTERM, signal.SIGINT)
            }
        try:
            while True:
                try:
                    return self.proc.wait()
                except KeyboardInterrupt:  # a handler installed after ours
                    self._forward(signal.SIGINT, None)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _forward(self, signum: int, _frame: object) -> None:
        self.interrupted = True
        if self.proc.poll() is None:
            self.proc.send_signal(signum)


def refresh_in_worker(
    log_level: str = "INFO", instance: dg.DagsterInstance | None = None
) -> RefreshOutcome:
    """Run nightly_refresh in a worker process (orchestration/cli/refresh_worker.py), and retry
    the run once if that process dies, as the instance's run retries decide."""
    ensure_dagster_env()
    owns_instance = instance is None
    instance = instance or dg.DagsterInstance.get()
    base = [sys.executable, "-m", "orchestration.cli.refresh_worker"]
    try:
        recovered = recover_dead_runs(instance)
        retried: list[tuple[str, str]] = []
        retry_of: str | None = None
        while True:
            token = uuid.uuid4().hex
            argv = [*base, "--log-level", log_level, "--token", token]
            argv += ["--parent-pid", str(os.getpid())]
            if retry_of is not None:
                argv += ["--retry-of", retry_of, "--retry-number", str(len(retried))]
            attempt = _Worker(argv)
            returncode = attempt.wait()
            run = _run_with_tag(instance, ATTEMPT_TAG, token)
            if run is None:
                outcome = RefreshOutcome(run_id="", success=False)
                ended = (
                    f"was killed by signal {-returncode}"
                    if returncode < 0
                    else f"exited with code {returncode}"
                )
                outcome.error = f"the refresh worker {ended} before it started a run" + (
                    " (its message is above)" if returncode > 0 else ""
                )
                break
            died = not run.is_finished
            if died:
                instance.report_run_failed(
                    run,
                    f"The process executing this run {_how_it_ended(returncode)}; "
                    "`psw refresh` marked the run failed.",
                )
                free_finished_slots(instance)
                run = instance.get_run_by_id(run.run_id) or run
            retry = (
                run.status == dg.DagsterRunStatus.FAILURE
                and run.tags.get(WILL_RETRY_TAG) == "true"
                and not attempt.interrupted
                and len(retried) < instance.run_retries_max_retries
            )
            if not retry:
                outcome = outcome_from_instance(instance, run.run_id)
                break
            why = f"its process {_how_it_ended(returncode)}" if died else "it failed, not on data"
            retried.append((run.run_id, why))
            retry_of = run.run_id
    finally:
        if owns_instance:
            instance.dispose()
    outcome.recovered_runs = recovered
    outcome.retried_runs = retried
    return outcome
