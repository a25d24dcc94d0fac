"""The SQLite engine's schema, and bringing a file made by an older roost up to date.

Every b-tree a write touches is one more WAL page a commit writes (~10 µs each here): the
table is ``WITHOUT ROWID``, clustered on its ObjectId key (no separate primary-key index),
and has no index on ``status``; the counts read the partial indexes instead. A one-task
enqueue touches two b-trees (the table and ``tasks_claim``), a DONE three (the table,
``tasks_lease`` it leaves, ``tasks_finished`` for retention). FAILED and CANCELLED tasks
have a partial index each (listed and counted through it) that no happy path touches.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4  # PRAGMA user_version; 0 with a tasks table is version 1
TASK_COLUMNS = (
    "id, type, status, payload, priority, attempts, max_attempts, created_at, updated_at,"
    " next_run_at, locked_by, locked_at, lease_id, lease_expires_at, finished_at, result,"
    " last_error, checkpoint, dedupe_key"
)  # versions 1 and 2 (3 adds cancel_requested and errors)
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
    dedupe_key TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    errors TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (priority DESC, next_run_at, id)
    WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS tasks_failed ON tasks (id) WHERE status = 'FAILED';
CREATE INDEX IF NOT EXISTS tasks_cancelled ON tasks (id) WHERE status = 'CANCELLED';
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (status, finished_at)
    WHERE finished_at IS NOT NULL;
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
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (collection, task_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS record_tasks_key ON record_tasks (collection, key, task_id);
CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    running INTEGER NOT NULL,
    inflight INTEGER NOT NULL,
    max_concurrent INTEGER NOT NULL,
    types TEXT,
    slots TEXT
) WITHOUT ROWID;
"""

# version 2 -> 3: a FAILED or PENDING task's last error becomes its history's first entry
_SEED_ERRORS = """
UPDATE tasks SET errors = json_array(json_object('attempt', attempts,
    'at', coalesce(finished_at, updated_at), 'error', last_error))
WHERE last_error IS NOT NULL AND status IN ('FAILED', 'PENDING')
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or upgrade an older one, inside the caller's write transaction
    (concurrent start-ups queue on the write lock; the second finds it done)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    if version == 3:  # version 3 -> 4: the workers' runtime session slots
        conn.execute("ALTER TABLE workers ADD COLUMN slots TEXT")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'tasks'").fetchone()
    if old and version < 2:  # version 1: a rowid table with a status index
        for index in ("tasks_claim", "tasks_lease", "tasks_status", "tasks_dedupe"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("ALTER TABLE tasks RENAME TO tasks_v1")
    elif old:  # version 2: two columns more (ADD COLUMN does not rewrite the rows)
        conn.execute("ALTER TABLE tasks ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0")
        conn.execute("ALTER TABLE tasks ADD COLUMN errors TEXT")
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'record_tasks'").fetchone()
    if found:  # versions 1 and 2 kept no order: the records' first sighting gives one
        conn.execute("DROP INDEX IF EXISTS record_tasks_key")
        conn.execute("ALTER TABLE record_tasks RENAME TO record_tasks_v2")
    for statement in SCHEMA.split(";"):
        conn.execute(statement)
    if old and version < 2:
        conn.execute(f"INSERT INTO tasks ({TASK_COLUMNS}) SELECT {TASK_COLUMNS} FROM tasks_v1")
        conn.execute("DROP TABLE tasks_v1")
    if old:
        conn.execute(_SEED_ERRORS)
    if found:
        conn.execute(
            "INSERT INTO record_tasks (collection, task_id, seq, key)"
            " SELECT t.collection, t.task_id, row_number() OVER (PARTITION BY t.collection,"
            " t.task_id ORDER BY r.first_seen_at, t.key), t.key FROM record_tasks_v2 t"
            " LEFT JOIN records r ON r.collection = t.collection AND r.key = t.key"
        )
        conn.execute("DROP TABLE record_tasks_v2")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
