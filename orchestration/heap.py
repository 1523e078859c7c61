"""Python's garbage collector in a process that runs one refresh and then exits.

A refresh builds a large heap that lives as long as the process: the libraries and definitions
it imports (Dagster, dbt, Great Expectations), then dbt's manifest and Dagster's events.
Python's default is a full collection of that heap every 10 middle-generation collections: 10
in an incremental SF1 refresh, 2.8-3.2 s of its 33 s in a slow hour, and once more at exit
(1.8-3 s). With a full collection every 100, the imports frozen once done (no longer traversed
at all) and the whole heap frozen at exit, it is one collection of 0.4 s and an exit of
0.1-0.2 s. Young garbage is collected as often as before, and atexit handlers still run.

Two kinds of process run a refresh and exit: `psw refresh` (orchestration/cli.py), and
Dagster's run worker, which the run launcher starts for each run launched from the UI, the
schedule or a sensor (`is_run_worker`). Long-lived processes (the webserver, the code server,
the daemon, a test session) keep Python's defaults: there, rarer full collections would hold
cyclic garbage for hours.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import sys
from collections.abc import Sequence

FULL_COLLECTION_EVERY = 100


def collect_rarely() -> None:
    """A full collection every FULL_COLLECTION_EVERY middle-generation collections (Python's
    default is 10). Call it before the imports: their own full collections are waste too."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def freeze_imports() -> None:
    """Everything allocated so far (the imported libraries and definitions) is left out of
    every later collection."""
    gc.freeze()


def skip_exit_collection() -> None:
    """At exit, the heap is left to the operating system instead of being collected once more.
    Every atexit handler still runs, and objects are still freed when their last reference
    goes; what no longer runs is the finaliser (`__del__`) of an object left in a reference
    cycle, which only the exit collection would have reached. Our code has none, and
    `weakref.finalize` callbacks run from their own atexit hook."""
    atexit.register(gc.freeze)


def is_run_worker(argv: Sequence[str] | None = None) -> bool:
    """This process is Dagster's run worker for one run:
    - `dagster api execute_run` (the Docker and Kubernetes run launchers);
    - a process that a code server (`dagster api grpc`) spawned for a run (`DefaultRunLauncher`,
      which `dagster dev` and the local instance use). A spawned process inherits its
      parent's `sys.argv`, and a code server spawns processes only for runs.
    The nightly job runs its steps in the run worker itself (in_process_executor). Assets
    materialized from the UI outside that job run under Dagster's multiprocess executor, whose
    step processes are spawned too and count as run workers: each runs one step and exits.
    In the spawned worker Dagster is already imported when the definitions load, so the rarer
    full collections start with dbt's and GX's imports."""
    argv = list(sys.argv if argv is None else argv)
    if argv[1:3] == ["api", "execute_run"]:
        return True
    return argv[1:3] == ["api", "grpc"] and multiprocessing.parent_process() is not None
