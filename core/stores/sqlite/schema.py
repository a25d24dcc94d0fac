"""The SQLite engine's schema, and bringing a file made by an older roost up to date.

Every b-tree a write touches is one more WAL page a commit writes (~10 µs each here): the
table is ``WITHOUT ROWID``, clustered on its ObjectId key (no separate primary-key index),
and has no index on ``status``; the counts read the partial indexes instead. A one-task
enqueue touches two pages: the table and ``tasks_claim``.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2  # PRAGMA user_version; 0 with a tasks table is version 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    next_run_at INTEGER NOT NULL,
    locked_by TEXT,
    locked_at INTEGER,
    lease_id TEXT,
    lease_expires_at INTEGER,
    finished_at INTEGER,
    result TEXT,
    last_error TEXT,
    checkpoint TEXT,
    dedupe_key TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (priority DESC, next_run_at, id)
    WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS tasks_failed ON tasks (id) WHERE status = 'FAILED';
CREATE UNIQUE INDEX IF NOT EXISTS tasks_dedupe ON tasks (dedupe_key)
    WHERE dedupe_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_tasks (
    collection TEXT NOT NULL,
    task_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (collection, task_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_tasks_key ON record_tasks (collection, key);
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or upgrade an older one, inside the caller's write transaction
    (concurrent start-ups queue on the write lock; the second finds it done)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'tasks'").fetchone()
    if old:  # version 1: a rowid table with a status index
        for index in ("tasks_claim", "tasks_lease", "tasks_status", "tasks_dedupe"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("ALTER TABLE tasks RENAME TO tasks_v1")
    for statement in SCHEMA.split(";"):
        conn.execute(statement)
    if old:
        conn.execute("INSERT INTO tasks SELECT * FROM tasks_v1")
        conn.execute("DROP TABLE tasks_v1")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
