"""The SQLite engine's one connection: opened with roost's PRAGMAs on first use, used by
one thread at a time, through a write transaction that takes the write lock up front or
a plain read. The engine and its records share it.

WAL journal, ``synchronous=NORMAL`` (a committed task survives a process crash; the last
transactions before an OS crash or power loss may be lost). The WAL is checkpointed every
10,000 pages (~40 MB) instead of SQLite's 1,000: the checkpoint's fsyncs were ~40% of a
one-task commit's cost; durability is unchanged (a commit does not wait for a checkpoint
under NORMAL either); the WAL file is kept <= 64 MB.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import StoreUnavailable
from .errors import store_error


class Connection:
    def __init__(self, path: str, busy_timeout: float, checkpoints: bool) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.checkpoints = checkpoints  # False: the nowait handle leaves them to upkeep()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=self.busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                # see the module docstring; the nowait() handle leaves them to upkeep()
                conn.execute(f"PRAGMA wal_autocheckpoint={10000 if self.checkpoints else 0}")
                conn.execute("PRAGMA journal_size_limit=67108864")
            except sqlite3.Error as exc:
                problem = store_error(exc, self.path)
                if isinstance(problem, StoreUnavailable):
                    problem = StoreUnavailable(f"SQLite: cannot open {self.path}: {exc}")
                raise problem from exc
            self._conn = conn
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (no BUSY_SNAPSHOT)."""
        with self._lock:
            conn = self.connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (I/O error,
                    conn.execute("ROLLBACK")  # full disk): the error to report is the first
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self.connect()

    def autocommit(self, sql: str, params: tuple[object, ...]) -> None:
        """One statement outside a transaction: atomic by itself, and no BEGIN/COMMIT
        round trips around it (a one-task enqueue)."""
        with self._lock:
            self.connect().execute(sql, params)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
