"""The garbage-collector set-up of a process that runs one refresh (orchestration/heap.py).

Its effect is time only (README, Performance); what is tested here is where it applies: in
Dagster's run worker, whichever way the run launcher starts it, and not in long-lived
processes that load the same definitions.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys

from orchestration import heap

CODE_SERVER_ARGV = ["/venv/lib/dagster/__main__.py", "api", "grpc", "--lazy-load-user-code"]


def _child_report(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a spawned process: load the definitions, then report the collector's state."""
    import orchestration.definitions  # noqa: F401

    queue.put((heap.is_run_worker(), gc.get_threshold(), gc.get_freeze_count()))


def _spawn_with_argv(argv: list[str]) -> tuple[bool, tuple[int, int, int], int]:
    """Spawn a process as a code server does for a run: it inherits this process's argv."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    saved = sys.argv
    sys.argv = argv
    try:
        process = ctx.Process(target=_child_report, args=(queue,))
        process.start()
    finally:
        sys.argv = saved
    try:
        return queue.get(timeout=120)  # a child that fails prints its traceback to stderr
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()


def test_run_worker_of_the_container_launchers_is_recognised() -> None:
    assert heap.is_run_worker(["/venv/bin/dagster", "api", "execute_run", "{}"])
    assert not heap.is_run_worker(["/venv/bin/dagster", "api", "execute_step", "{}"])
    assert not heap.is_run_worker(["/venv/bin/dagster-webserver", "-p", "3000"])


def test_a_code_server_itself_is_not_a_run_worker() -> None:
    """Code servers are started as plain subprocesses (`dagster api grpc`), not spawned."""
    # this process was not spawned by multiprocessing, as a code server is not
    assert multiprocessing.parent_process() is None
    assert not heap.is_run_worker(CODE_SERVER_ARGV)
    assert not heap.is_run_worker()


def test_definitions_tune_the_collector_only_in_a_run_worker() -> None:
    # the reference is a fresh process that is not a run worker, not this test process,
    # whose collector other tests may have set
    is_worker, default_threshold, frozen = _spawn_with_argv([sys.argv[0], "-n", "2"])
    assert not is_worker
    assert frozen == 0

    is_worker, threshold, frozen = _spawn_with_argv(CODE_SERVER_ARGV)
    assert is_worker
    assert threshold[:2] == default_threshold[:2]  # young garbage as before
    assert threshold[2] > default_threshold[2]
    assert frozen > 100_000  # the imported libraries and definitions
