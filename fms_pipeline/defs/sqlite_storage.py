"""Dagster's SQLite storage of a local DAGSTER_HOME, made cheaper per event (PostgreSQL instances,
``deploy/``, are untouched). Nothing of the pipeline's data is in these files: staging and the
warehouse are written atomically by the project itself.

1. ``synchronous=NORMAL`` (``install``): Dagster keeps runs and events in SQLite files in WAL
   mode. At SQLite's default (``FULL``) every commit waits for an fsync of the WAL: ~780 commits
   for the two runs of a one-file update, 6-9 ms each on this machine's disk while another process
   wrote to it. In WAL mode ``NORMAL`` syncs at checkpoints only; SQLite documents it as safe from
   corruption, a power cut may lose the last events (https://www.sqlite.org/pragma.html#pragma_synchronous).
2. Connections kept open (``LocalSqliteStorage``, named in ``dagster.yaml``): Dagster's
   ``SqliteEventLogStorage`` builds a SQLAlchemy engine, opens a connection and closes it (the
   last connection to close checkpoints the WAL) for every write: ~870 engines and connections for
   the 216 events of a one-file update, ~0.9 of its 3.2 CPU s of Dagster bookkeeping. This one
   keeps one engine and one open connection per database file, per process, for as long as the
   instance lives. Each write is still its own transaction, so other processes (the webserver,
   the daemon) see it as before. The UI follows a running run by watching its file for changes;
   in WAL mode a commit changes the ``-wal`` file, and the run's file only at a checkpoint, which
   closing the connection used to force: the watch now looks at both.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool


def _normal_sync(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def install() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on syncs at checkpoints only."""
    if not event.contains(Engine, "connect", _normal_sync):
        event.listen(Engine, "connect", _normal_sync)


class _RunFileOrWalWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watch of a run's events, woken by its ``-wal`` file too (where commits go)."""

    def __init__(self, event_log_storage, run_id, callback, cursor, **kwargs):
        super().__init__(event_log_storage, run_id, callback, cursor, **kwargs)
        self._patterns = [self._log_path, self._log_path + "-wal"]

    def on_modified(self, event) -> None:
        if event.src_path in (self._log_path, self._log_path + "-wal"):
            self._process_log()


class KeptConnectionsEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine and open connection per shard (the index and each
    run's file): the index, the current runs' files. A few shards are kept (a daemon writes many
    runs over its life); the least recently used is closed."""

    KEPT_SHARDS = 8

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child: the parent's connections are not ours
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1, max_overflow=2,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            self._engines[shard] = engine
            while len(self._engines) > self.KEPT_SHARDS:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As Dagster's (one connection at a time under its lock, a transaction per use), but the
        # engine and its connection outlive the call.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def watch(self, run_id: str, cursor, callback) -> None:
        from watchdog.observers import Observer

        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunFileOrWalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def _close_all(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._close_all()  # wipe deletes the run files: a kept connection would write to a deleted file
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_all()


class LocalSqliteStorage(DagsterSqliteStorage):
    """Dagster's default storage of a DAGSTER_HOME (runs, events and schedules in SQLite files
    under ``base_dir``, the same files), its event log with ``KeptConnectionsEventLogStorage``."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = KeptConnectionsEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
