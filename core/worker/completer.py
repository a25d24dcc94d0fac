"""Batched outcome writes: the DONE writes of the runs that finish in one loop turn share
one fenced :meth:`~roost.core.store.AsyncStore.apply` (one commit, one thread hop), like
River's BatchCompleter. A run's slot stays taken until its outcome is written. Every write
is retried through short store outages while the leases can still hold.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from .. import lifecycle
from ..errors import StoreCorrupt, StoreUnavailable
from ..store import AsyncStore
from .runs import Run

log = logging.getLogger("roost.worker")


async def write(
    store: AsyncStore, verdicts: Sequence[lifecycle.Verdict], patience: float
) -> list[bool] | None:
    """Apply ``verdicts``' changes, retried through outages for up to ``patience`` seconds;
    None when the store stayed away (recovery then re-runs the tasks: at-least-once)."""
    ident = verdicts[0].task.id + (f" (+{len(verdicts) - 1})" if len(verdicts) > 1 else "")
    delay, deadline = 0.05, time.monotonic() + patience
    while True:
        try:
            return await store.apply([v.change for v in verdicts])
        except StoreUnavailable as exc:
            if time.monotonic() + delay > deadline:
                log.error("write gave up id=%s: %s (recovery will re-run it)", ident, exc)
                return None
            log.warning("write failed id=%s, retrying: %s", ident, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


class Completer:
    """Queues successful runs and writes them in batches the store makes on the loop."""

    def __init__(
        self,
        store: AsyncStore,
        patience: float,
        fire: lifecycle.Fire,
        free_slot: Callable[[Run], None],
        fatal: Callable[[BaseException], None],
    ) -> None:
        self._store = store
        self._patience = patience
        self._fire = fire
        self._free_slot = free_slot
        self._fatal = fatal
        self._queued: list[tuple[Run, lifecycle.Verdict]] = []
        self.flusher: asyncio.Task[None] | None = None

    def add(self, run: Run, verdict: lifecycle.Verdict) -> None:
        run.completing = True
        self._queued.append((run, verdict))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush(), name="completions")

    def clear(self) -> None:
        """Forget what is queued (a shutdown gives those tasks back instead)."""
        self._queued.clear()

    async def _flush(self) -> None:
        while self._queued:
            await asyncio.sleep(0)  # let the runs finishing in this loop turn join the batch
            size = self._store.claim_size or len(self._queued)  # a write the loop can make
            batch, self._queued = self._queued[:size], self._queued[size:]
            verdicts = [verdict for _, verdict in batch]
            try:
                applied = await write(self._store, verdicts, self._patience)
            except StoreCorrupt as exc:
                self._fatal(exc)
                applied = None
            except Exception:
                log.exception(
                    "complete failed id=%s (recovery will re-run it)", verdicts[0].task.id
                )
                applied = None
            finally:  # also when cancelled: never keep a slot for a write that is over
                for run, _ in batch:
                    self._free_slot(run)
            if applied is not None:
                lifecycle.announce(verdicts, applied, self._fire)
