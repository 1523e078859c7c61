"""The local instance's storage: Dagster's SQLite storage, with the event log's connections kept.

Dagster's `SqliteEventLogStorage` (dagster 1.13) opens a new SQLAlchemy engine and a new
SQLite connection for every event it stores, and disposes both afterwards. Its databases are
in WAL mode, so closing the last connection also checkpoints the WAL into the database file
and deletes it: per event, an engine, a connection, a commit and a checkpoint (two fsyncs).
A refresh stores ≈ 500-700 events; at SF1 that was ≈ 10 s of a 55 s incremental refresh
(py-spy, benchmarks/README in the project README).

`KeptConnectionsEventLogStorage` keeps one engine with one open connection per database
(the index shard and the few most recent run shards) and sets `synchronous=NORMAL`, the
setting SQLite documents as safe for WAL mode (a power loss may lose the last transactions,
never corrupt the file; a killed process loses nothing). Everything else is Dagster's.

The UI follows a running run's log by watching the run's `.db` file for changes
(`SqliteEventLogStorageWatchdog`). With a connection kept open, commits go to the `-wal` file
and the `.db` file changes only at checkpoints, so this class checkpoints the run's database
after a run's final event and otherwise at most every `CHECKPOINT_SECONDS` (an event stored
sooner than that after a checkpoint is followed by a checkpoint when that time is up): the UI
still sees every event within a second.

It also remembers which tables exist (`has_table`), which Dagster asks for every asset check
event.

The production instance (deploy/dagster.yaml) uses PostgreSQL, which pools connections itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.events import EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# How many run databases keep a connection; older ones are closed (and checkpointed).
KEPT_RUN_SHARDS = 4
# At most this long between a run database's checkpoints while its run writes events.
CHECKPOINT_SECONDS = 0.5


class KeptConnectionsEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one connection per database (see module doc)."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._last_checkpoint: dict[str, float] = {}
        self._deferred: dict[str, threading.Timer] = {}
        # guards the engines and checkpoint times; taken after `_db_lock`, never before it
        self._engines_lock = threading.RLock()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks whether the asset check table exists before storing each asset check
        event, with a new engine and connection each time (≈ 1.9 s of an incremental SF1
        refresh, py-spy). Tables are only ever added (by migrations), so a yes is kept."""
        if table_name in self._tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables.add(table_name)
        return found

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            # one connection, kept open; `_db_lock` serializes the threads that use it
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        db.event.listen(engine, "connect", _pragmas)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-KEPT_RUN_SHARDS]:
            self._close(old)
        return engine

    def _close(self, shard: str) -> None:
        engine = self._engines.pop(shard, None)
        self._last_checkpoint.pop(shard, None)
        timer = self._deferred.pop(shard, None)
        if timer is not None:
            timer.cancel()
        if engine is not None:
            engine.dispose()  # closing the last connection checkpoints the WAL

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engines_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event(self, event: Any) -> None:
        super().store_event(event)
        run_id = event.run_id
        final = event.is_dagster_event and (
            event.dagster_event_type in EVENT_TYPE_TO_PIPELINE_RUN_STATUS
        )
        with self._engines_lock:
            wait = CHECKPOINT_SECONDS - (time.monotonic() - self._last_checkpoint.get(run_id, 0.0))
            if not final and wait > 0:
                # checkpointed less than CHECKPOINT_SECONDS ago: once more when that has passed,
                # so that the UI sees this event even if the run stays quiet for a while
                if run_id not in self._deferred:
                    timer = threading.Timer(wait, self._checkpoint, (run_id,))
                    timer.daemon = True
                    self._deferred[run_id] = timer
                    timer.start()
                return
        self._checkpoint(run_id)

    def _checkpoint(self, shard: str) -> None:
        """Copy the WAL into the `.db` file, which is what the UI's log watcher notices."""
        with self._db_lock, self._engines_lock:
            timer = self._deferred.pop(shard, None)
            if timer is not None:
                timer.cancel()
            self._last_checkpoint[shard] = time.monotonic()
            engine = self._engines.get(shard)
            if engine is None:
                return
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        with self._engines_lock:
            for shard in list(self._engines):
                self._close(shard)
        super().dispose()


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LocalStorage(DagsterSqliteStorage):
    """`storage: sqlite` with `KeptConnectionsEventLogStorage` as the event log; same folders."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = KeptConnectionsEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> LocalStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
