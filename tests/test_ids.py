"""Task ids: ObjectId strings, unique within a process and across forked workers."""

from __future__ import annotations

import os
import time

from bson import ObjectId
from roost.core.models import is_task_id, new_id


def test_ids_are_valid_objectids_of_now_and_never_repeat() -> None:
    ids = [new_id() for _ in range(100_000)]
    assert all(is_task_id(i) for i in ids[:100])
    assert len(set(ids)) == len(ids)
    seconds = [i[:8] for i in ids]
    assert seconds == sorted(seconds)  # sortable by creation time, to the second
    assert abs(ObjectId(ids[-1]).generation_time.timestamp() - time.time()) < 5


def test_a_forked_process_makes_other_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its ids and leave at once
        os.write(write, " ".join(new_id() for _ in range(1000)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    ours = {new_id() for _ in range(1000)}
    assert len(theirs) == 1000 and not ours & theirs
    assert {i[8:18] for i in theirs}.isdisjoint({i[8:18] for i in ours})  # per-process part
