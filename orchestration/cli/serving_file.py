"""How every `psw` command opens the serving file: read-only, as BI tools must.

DuckDB lets one process open a file read-write, or any number of processes open it read-only,
never both. A client that opens `serving.duckdb` read-write (a SQL editor's default connection,
a script's `duckdb.connect(path)`) locks every reader out until it closes. `open_serving` turns
DuckDB's lock error into ServingFileLocked, which `psw` prints as one line naming the file and,
when DuckDB says, the process that holds it, and exits with EXIT_SERVING_LOCKED.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

import duckdb

from orchestration.settings import Settings

# `psw status` and `psw scorecard` exit with this code when another process holds the serving
# file read-write (1 is a failed refresh or an empty scorecard, 2 an unusable setting).
EXIT_SERVING_LOCKED = 3

_LOCK_ERROR = "Could not set lock on file"
# DuckDB (Linux, macOS) names the process: `Conflicting lock is held in /usr/bin/java (PID 42)`
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class ServingFileLocked(Exception):
    """Another process holds the serving file read-write, so it cannot be read now."""

    def __init__(self, path: Path, program: str | None = None, pid: int | None = None):
        self.path = path
        self.program = program
        self.pid = pid
        super().__init__(str(self))

    def __str__(self) -> str:
        holder = "another process"
        if self.pid is not None:
            holder += f" ({self.program}, pid {self.pid})" if self.program else f" (pid {self.pid})"
        return (
            f"{self.path} is held read-write by {holder}; close that client: "
            f"BI tools must open {self.path.name} read-only"
        )

    @classmethod
    def from_error(cls, path: Path, error: duckdb.Error) -> ServingFileLocked | None:
        """The lock conflict that `error` reports, or None if it reports something else."""
        text = str(error)
        if _LOCK_ERROR not in text:
            return None
        found = _HOLDER.search(text)
        if found is None:
            return cls(path)
        return cls(path, PurePath(found["program"]).name, int(found["pid"]))


@contextmanager
def open_serving(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the serving file (its public path), closed on exit.
    Raises ServingFileLocked if a process holds it read-write."""
    path = settings.serving_db
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        locked = ServingFileLocked.from_error(path, exc)
        if locked is None:
            raise
        raise locked from None
    try:
        yield con
    finally:
        con.close()
