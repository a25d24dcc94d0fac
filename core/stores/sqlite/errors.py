"""SQLite's errors, classified in one place: damaged, or unavailable for now.

A damaged file (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``) is :class:`StoreCorrupt`: nothing
retries it, and the message says which file and how to recover it. Everything else SQLite
raises at run time (a lock, a full disk, an I/O error, a folder gone) is
:class:`StoreUnavailable`: it can pass. Programming errors (integrity, misuse) stay as they are.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ...errors import RoostError, StoreCorrupt, StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")
DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


class HasPath(Protocol):
    path: str


S = TypeVar("S", bound=HasPath)


def store_error(exc: sqlite3.Error, path: str) -> RoostError:
    """The one place SQLite's errors are classified: a damaged file is
    :class:`StoreCorrupt` (with how to recover it), anything else :class:`StoreUnavailable`
    (locked, disk full, I/O error: it may pass)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in DAMAGED:
        file = path if path == ":memory:" else os.path.abspath(path)
        return StoreCorrupt(
            f"the SQLite file {file} is damaged ({exc}); roost cannot use it. Stop every "
            "roost process using it, keep a copy, then restore a backup, or copy the rows "
            f"it can still read into a new file: {salvage(file)}, and point store.url at it"
        )
    return StoreUnavailable(f"SQLite: {exc}")


def salvage(file: str) -> str:
    """A shell line that copies what SQLite can still read of ``file`` into a new file.
    ``.dump`` ends with ``ROLLBACK; -- due to errors`` when it met damage: ``sed`` keeps
    what it read. (``.recover`` fails on this schema with Debian 12's sqlite3 3.40.)"""
    return (
        f"sqlite3 {file} .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' "
        f"| sqlite3 {file}.recovered"
    )


def translate(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Turn SQLite's errors into :func:`store_error`'s; keep programming errors."""

    def wrapper(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
