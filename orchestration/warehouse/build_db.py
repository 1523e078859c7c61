"""Opening the build database safely: wait for another writer, rebuild a damaged file.

The build database is derived data: everything in it comes from the landing zone and the
seeds. So a file that DuckDB cannot read is moved aside (kept for inspection) and a new one is
built from the landing zone by the same run. A writer that still holds the lock (e.g. a dbt
process orphaned when its refresh was killed) is waited for, not fought.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import Settings
from orchestration.warehouse.writable import ensure_writable

# Messages DuckDB gives for a file it cannot trust (checked with duckdb 1.5.6).
DAMAGED = (
    "not a valid DuckDB database file",
    "Could not read enough bytes",
    "Corrupt database file",
    "checksum",
    "Failed to read database header",
    "INTERNAL Error",
)
LOCKED = ("Could not set lock on file", "Conflicting lock is held")


class BuildDatabaseLocked(RuntimeError):
    pass


@dataclass
class OpenResult:
    rebuilt: bool = False
    moved_to: Path | None = None
    reason: str = ""
    waited_seconds: float = 0.0


def is_damaged(error: BaseException) -> bool:
    return any(marker in str(error) for marker in DAMAGED)


def is_locked(error: BaseException) -> bool:
    return any(marker in str(error) for marker in LOCKED)


def _probe(con: duckdb.DuckDBPyConnection) -> None:
    """Read every block of the tables that hold state (raw data and the load audit), so that
    DuckDB verifies their checksums now rather than in the middle of a load. Everything else is
    rebuilt by dbt from these."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = "
        "current_database() and schema_name in ('raw', 'audit')"
    ).fetchall()
    for schema, table in tables:
        con.execute(f'select max(hash(t)) from "{schema}"."{table}" as t').fetchall()


def move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(target)
    wal = Path(f"{path}.wal")
    if wal.exists():
        wal.rename(Path(f"{target}.wal"))
    return target


def check_build_db(
    settings: Settings,
    log: Callable[[str], None] = lambda _m: None,
    lock_timeout: float = 900.0,
    poll: float = 2.0,
) -> OpenResult:
    """Make sure build.duckdb can be opened for writing and read in full.

    Waits up to `lock_timeout` seconds for another process's lock; moves a damaged file aside
    (the run then rebuilds it from the landing zone). Raises BuildDatabaseLocked on timeout.
    """
    path = settings.build_db
    # a read-only warehouse folder: one line naming it and what to do, before DuckDB's error
    ensure_writable(path.parent)
    result = OpenResult()
    started = time.monotonic()
    while True:
        try:
            con = duckdb.connect(str(path), config=settings.duckdb_config())
            try:
                _probe(con)
            finally:
                con.close()
            break
        except duckdb.Error as exc:
            if is_locked(exc):
                waited = time.monotonic() - started
                if waited > lock_timeout:
                    raise BuildDatabaseLocked(
                        f"{path} is still locked by another process after {waited:.0f} s: "
                        f"{exc}. Another refresh (or a dbt process it left behind) is writing."
                    ) from exc
                if result.waited_seconds == 0:
                    log(f"{path} is locked by another writer; waiting ({exc})")
                result.waited_seconds = waited + poll
                time.sleep(poll)
                continue
            if is_damaged(exc) and not result.rebuilt:
                result.rebuilt = True
                result.reason = str(exc).splitlines()[0]
                result.moved_to = move_aside(path)
                log(
                    f"{path} is damaged ({result.reason}); moved it to {result.moved_to} and "
                    "rebuilding the warehouse from the landing zone"
                )
                continue
            raise
    return result
