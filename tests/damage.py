"""Real damaged SQLite files, made the way disks and stray writes make them.

A roost.db is built through the engine (schema, a few pages of tasks), closed (so the WAL
is checkpointed into the file and removed), then part of it is overwritten:

- ``"header"``: the first 100 bytes; SQLite says "file is not a database";
- ``"tasks"``: the tasks table's root page; the schema still reads, every access to the
  tasks says "database disk image is malformed".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from roost.core.models import NewTask
from roost.core.stores.sqlite import SQLiteStore

Damage = Literal["header", "tasks"]


def damaged_db(path: Path, how: Damage, tasks: int = 300) -> Path:
    """``path``, a real roost.db holding ``tasks`` SEARCH tasks, damaged ``how``."""
    store = SQLiteStore(f"sqlite:///{path}")
    store.setup()
    store.enqueue_many([NewTask(type="SEARCH", payload={"query": f"q{i}"}) for i in range(tasks)])
    store.close()
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()[0]
    conn.close()
    assert not Path(f"{path}-wal").exists()  # everything is in the file we overwrite
    with path.open("r+b") as file:
        if how == "header":
            file.write(b"\xee" * 100)
        else:
            file.seek((root - 1) * page_size)
            file.write(b"\xee" * page_size)
    return path
