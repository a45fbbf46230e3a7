"""Dagster's SQLite storage (a DAGSTER_HOME without PostgreSQL) at ``synchronous=NORMAL``.

Dagster keeps runs and events in SQLite files in WAL mode and opens a connection per write
(``NullPool``). At SQLite's default (``FULL``) every commit waits for an fsync of the WAL, and
closing the last connection checkpoints it with another: ~780 commits and ~890 closes for the two
runs of a one-file update, 6-9 ms each on this machine's disk while another process wrote to it,
10 s of a 32 s update spent waiting (on a quiet disk the syncs are cheap: 3% of an update). In
WAL mode ``NORMAL`` syncs at checkpoints only; SQLite documents it as safe from corruption, a
power cut may lose the last events (https://www.sqlite.org/pragma.html#pragma_synchronous).
Nothing of the pipeline's data is in these files: staging and the warehouse are written
atomically by the project itself. PostgreSQL instances (``deploy/``) are untouched.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _normal_sync(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def install() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on syncs at checkpoints only."""
    if not event.contains(Engine, "connect", _normal_sync):
        event.listen(Engine, "connect", _normal_sync)
