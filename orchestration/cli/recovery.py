"""Clean up after a refresh that died without telling Dagster (kill -9, power loss).

A run executed by `psw refresh` (in its worker process, or in-process by `run_refresh`) is
recorded with the host and the process it ran in. If that process is gone while the run still
says STARTED, the run is marked failed and the `duckdb_writer` pool slot it held is freed;
otherwise the next refresh would wait for that slot forever. `psw refresh` does this at once
for its own worker (refresh.py); this module catches the runs whose `psw refresh` died too.
(Runs launched for the UI, the schedule and the sensors are watched by their code server and
Dagster's run monitoring instead, see dagster.yaml.)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

HOST_TAG = "psw/host"
PID_TAG = "psw/pid"
PID_START_TAG = "psw/pid_start"
LIVE_STATUSES = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
FINISHED_STATUSES = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]


def _process_start(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (Linux), None if it is gone.

    A zombie counts as gone: it has exited, and in a container whose first process does not
    reap orphans it stays in /proc for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces: split after its closing parenthesis
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def process_tags() -> dict[str, str]:
    """Tags that identify the process a run executes in."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(pid),
        PID_START_TAG: _process_start(pid) or "",
    }


def _is_alive(tags: dict[str, str]) -> bool:
    try:
        pid = int(tags[PID_TAG])
    except (KeyError, ValueError):
        return True  # not ours to judge
    started = _process_start(pid)
    if started is None:
        return False
    # a new process that reused the pid is not the run's process
    return not tags.get(PID_START_TAG) or started == tags[PID_START_TAG]


def recover_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark this host's runs whose process is gone as failed and free their pool slots; also
    free slots still held by runs that already finished. Returns the run ids dealt with."""
    host = socket.gethostname()
    recovered: list[str] = []
    for record in instance.get_run_records(
        filters=dg.RunsFilter(statuses=LIVE_STATUSES, tags={HOST_TAG: host})
    ):
        run = record.dagster_run
        if _is_alive(dict(run.tags)):
            continue
        instance.report_run_failed(
            run,
            "The process running this refresh died (killed or crashed); the next refresh "
            "marked the run failed and released its pool slot.",
        )
        recovered.append(run.run_id)
    for run_id in free_finished_slots(instance):
        if run_id not in recovered:
            recovered.append(run_id)
    return recovered


def free_finished_slots(instance: dg.DagsterInstance) -> list[str]:
    """Free the pool slots still held by runs that have finished; returns those runs' ids."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holding = storage.get_concurrency_run_ids()
    if not holding:
        return []
    freed = []
    for record in instance.get_run_records(
        filters=dg.RunsFilter(run_ids=list(holding), statuses=FINISHED_STATUSES)
    ):
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
        freed.append(record.dagster_run.run_id)
    return freed
