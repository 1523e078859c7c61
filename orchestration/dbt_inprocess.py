"""dbt in the run's own process: dbt-core's programmatic runner behind dagster-dbt's invocation.

A dbt subprocess starts a Python interpreter that imports dbt-core and its adapter again
(≈ 3–5 s a refresh) although the run process has them loaded: dagster-dbt imports dbt-core
to read the manifest. `DbtThread` runs `dbtRunner().invoke(args)` in a thread of the run
process instead and looks, to dagster-dbt's `DbtCliInvocation`, like the `subprocess.Popen`
it would otherwise read: `stdout` yields dbt's structured log lines (JSON, info level and up,
what `dbt --log-format json` prints), `wait()` returns dbt's exit code (0 success, 1 failed
nodes, 2 dbt itself failed). dagster-dbt then turns the lines into the same asset events and
error messages as from a subprocess.

Used for the DuckDB engine only: on Spark, dbt starts a Spark session (a JVM) that should end
with the dbt process. One dbt runs at a time in a process (the `duckdb_writer` pool; dbt-core
does not support concurrent invocations in one process).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# dbt's exit codes (dbt.cli.exceptions): failed nodes, and an error of dbt itself.
EXIT_FAILURE = 1
EXIT_ERROR = 2
_END = object()


def set_environment(env: Mapping[str, str]) -> dict[str, str | None]:
    """Add `env` to this process's environment; returns what `restore_environment` needs."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    return saved


def restore_environment(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class _Lines:
    """The `stdout` of a DbtThread: dbt's log lines (bytes) as the thread produces them."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.closed = False

    def put(self, line: str) -> None:
        self._queue.put(line.encode())

    def end(self) -> None:
        self._queue.put(_END)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            item = self._queue.get()
            if item is _END:
                return
            yield item

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


class DbtThread:
    """`dbtRunner().invoke(args)` in a thread, with `env` added to the process environment
    while it runs (dbt reads its flags and profile from there, as a subprocess would)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]):
        self.args = ["dbt", *args]  # dagster-dbt shows this as the command it ran
        self.returncode: int | None = None
        self.stdout = _Lines()
        self._saw_error = False
        self._invoking = False
        self._saved = set_environment(env)
        self._thread = threading.Thread(target=self._run, name="dbt", daemon=True)
        self._thread.start()

    def _forward(self, msg: Any) -> None:
        """dbt's event callback: runs in dbt's threads for every event, at every level."""
        if msg.info.level == "debug":
            return
        from dbt_common.events.functions import env_scrubber, msg_to_json

        if msg.info.level == "error":
            self._saw_error = True
        # scrubbed of DBT_ENV_SECRET_* values, as dbt's own JSON log lines are
        self.stdout.put(env_scrubber(msg_to_json(msg)))

    def _run(self) -> None:
        try:
            try:
                from dbt.cli.main import dbtRunner

                self._invoking = True
                try:
                    result = dbtRunner(callbacks=[self._forward]).invoke(self.args[1:])
                finally:
                    self._invoking = False
                if result.success:
                    self.returncode = 0
                elif result.exception is None:
                    self.returncode = EXIT_FAILURE
                else:
                    self._report(result.exception)
                    self.returncode = EXIT_ERROR
            except BaseException as exc:  # reported as dbt's error; the step raises it
                self._report(exc)
                self.returncode = EXIT_ERROR
            finally:
                self._release()
        except BaseException as exc:  # a failed clean-up is reported, never left to hang
            self._report(exc)
            self.returncode = EXIT_ERROR
        finally:
            self.stdout.end()

    def _release(self) -> None:
        """What a subprocess's exit would free: the build database, dbt's log handlers and
        callback, and the environment it ran with."""
        restore_environment(self._saved)
        self._close_duckdb()
        from dbt_common.events.event_manager_client import get_event_manager

        manager = get_event_manager()
        for logger in list(manager.loggers):
            for handler in getattr(getattr(logger, "_python_logger", None), "handlers", []):
                handler.close()
        manager.loggers.clear()
        manager.callbacks.clear()

    def _report(self, exc: BaseException) -> None:
        """An exception dbt did not log itself becomes an error line, as dbt would print it."""
        if self._saw_error:
            return
        text = str(exc) or type(exc).__name__  # KeyboardInterrupt() has no text
        self.stdout.put(
            json.dumps(
                {
                    "info": {
                        "name": "MainEncounteredError",
                        "level": "error",
                        "msg": f"Encountered an error:\n{text}",
                        "invocation_id": "",
                    },
                    "data": {"exc": text},
                }
            )
        )

    @staticmethod
    def _close_duckdb() -> None:
        """Release dbt-duckdb's handle on the build database, so that the steps after dbt (in
        this process) can open it with their own configuration, read-only."""
        try:
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        except ImportError:
            return
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
        DuckDBConnectionManager.close_all_connections()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """dagster-dbt's answer to a terminated run (SIGINT to a subprocess): what dbt does on
        Ctrl-C. KeyboardInterrupt is raised in the thread that runs dbt's graph, which then
        cancels its open connections and skips the nodes not yet started; the queries running
        now are cancelled here so that it wakes up. A build cut short is what a kill leaves,
        which the next refresh rebuilds (orchestration/build_db.py)."""
        ident = self._thread.ident
        if self._invoking and ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
            )
        from dbt.adapters.factory import get_adapter_by_type

        with contextlib.suppress(Exception):  # no adapter yet: nothing runs
            get_adapter_by_type("duckdb").cancel_open_connections()
