"""The worker: claims due tasks into free slots, runs their handlers, writes the outcomes.

:mod:`.loop` (``Worker``, the poll loop), :mod:`.executor` (one run -> a verdict),
:mod:`.completer` (batched DONE writes), :mod:`.maintenance` (heartbeat, rescuer),
:mod:`.events` (task event hooks), :mod:`.shutdown` (the bounded stop), :mod:`.runs`.
"""

from .loop import Worker, make_worker_id

__all__ = ["Worker", "make_worker_id"]
