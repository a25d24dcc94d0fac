"""A worker, and optionally servers from plugins, until stopped.

The runner opens every :class:`Roost` it uses and closes each one itself, whatever happens:
nothing else in a process starts or closes them. It never touches signals: the CLI installs
those and sets a :class:`StopRequest`'s events, which the runner watches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from .app import Roost
from .settings import Settings
from .worker import Worker

log = logging.getLogger("roost")


@dataclass
class StopRequest:
    """Set from outside (a signal handler): ``stop`` = finish gracefully within
    ``worker.shutdown_timeout``; ``force`` = cancel running tasks now (given back uncharged)."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    force: asyncio.Event = field(default_factory=asyncio.Event)


class Server(Protocol):
    """A server a plugin runs beside the worker (the REST API is one)."""

    def bind(self) -> None:
        """Claim the address, before the store is touched or the worker starts; raise
        :class:`~roost.core.errors.ConfigError` naming the address when it cannot be."""

    async def start(self) -> None:
        """Begin serving: the store is set up and the worker (if any) is running."""

    async def close(self) -> None:
        """Stop serving; called before the worker stops and the store closes."""


#: Builds a server over the Roost the servers share and the in-process worker (or None).
ServerFactory = Callable[[Roost, "Worker | None"], Server]


@asynccontextmanager
async def running(
    roost: Roost, worker: Worker | None, *, owned: Sequence[Roost], burst: bool = False
) -> AsyncIterator[asyncio.Task[None] | None]:
    """The store set up, the runtime and the worker started (its run is what this yields);
    on exit the worker stopped gracefully, then every Roost in ``owned`` closed."""
    job: asyncio.Task[None] | None = None
    try:
        await roost.start()
        if worker is not None:
            await worker.roost.runtime()  # a runtime that cannot start stops start-up, not tasks
            job = asyncio.create_task(worker.run(burst=burst), name="worker")
        yield job
    finally:
        if worker is not None and job is not None:
            worker.stop()
            # a failure was logged by the worker; the caller reports worker.failure
            await asyncio.gather(job, return_exceptions=True)
        for own in owned:
            await own.close()


class Runner:
    """``roost worker`` and ``roost serve``: what runs, from which settings, until stopped."""

    def __init__(
        self,
        settings: Settings,
        *,
        worker: bool = True,
        burst: bool = False,
        max_concurrent: int | None = None,
        servers: Sequence[ServerFactory] = (),
    ) -> None:
        self.settings = settings
        self.with_worker = worker
        self.burst = burst
        self.max_concurrent = max_concurrent
        self.server_factories = servers

    async def run(self, request: StopRequest) -> None:
        """Until ``request.stop`` (or, in a burst, until nothing is due); raise the
        worker's failure when it stopped for good on its own."""
        roost = Roost.create(self.settings)
        owned = [roost]
        worker = None
        try:
            log_start(roost)
            if self.with_worker:
                worker_roost = self._worker_roost(roost)
                if worker_roost is not roost:
                    owned.append(worker_roost)
                worker = Worker(worker_roost, max_concurrent=self.max_concurrent)
            servers = [make(roost, worker) for make in self.server_factories]
            roost.pm.hook.register_servers(register=servers.append, roost=roost, worker=worker)
            for server in servers:
                server.bind()
        except BaseException:
            for own in owned:
                await own.close()
            raise
        watcher = asyncio.create_task(_forward(request, worker))
        job = None
        try:
            async with running(roost, worker, owned=owned, burst=self.burst) as job:
                try:
                    for server in servers:
                        await server.start()
                    await _until_stopped(request, worker, job, servers)
                finally:
                    for server in reversed(servers):
                        await server.close()
        finally:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher
        if job is not None and not job.cancelled() and job.exception() is not None:
            raise job.exception()  # type: ignore[misc]  # the worker's failure, after its shutdown

    def _worker_roost(self, roost: Roost) -> Roost:
        """With servers, the in-process worker gets its own Roost: its own store connection,
        threads and runtime, as a separate ``roost worker`` has.

        When the database stalls (a locked SQLite file, an unreachable MongoDB), requests
        must not queue behind the worker's blocked claims and writes (a GET waited 40 s
        behind four 10 s lock waits). An in-memory SQLite database exists once per
        connection, so that one is shared.
        """
        if not self.server_factories or ":memory:" in roost.settings.store.url:
            return roost
        own = Roost.create(roost.settings)
        own.store.on_enqueue = roost.store.on_enqueue  # an API enqueue wakes the worker at once
        return own


async def _forward(request: StopRequest, worker: Worker | None) -> None:
    """The stop request, passed on to the worker: gracefully, then by force."""
    await request.stop.wait()
    if worker is None:
        return
    worker.stop()
    await request.force.wait()
    worker.stop(force=True)


async def _until_stopped(
    request: StopRequest,
    worker: Worker | None,
    job: asyncio.Task[None] | None,
    servers: Sequence[Server],
) -> None:
    """Until asked to stop, or the worker's run is over: in a burst that is the end; with
    servers it means the worker stopped for good, and the process must exit so that its
    supervisor restarts it, not serve on, healthy-looking, with no worker."""
    waits: list[asyncio.Future[object]] = [asyncio.ensure_future(request.stop.wait())]
    if worker is not None and job is not None:
        waits.append(asyncio.ensure_future(worker.wait_stopped()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    if servers and worker is not None and worker.failure is not None:
        log.error(
            "the in-process worker stopped (%s): roost exits, so that its supervisor can "
            "restart it",
            worker.failure,
        )


def log_start(roost: Roost) -> None:
    """Which settings file and store a long-running command uses: the first thing to check
    when it shows other tasks than expected (started in another folder)."""
    where = roost.store.sync.location()
    file = roost.settings.file
    log.info(
        "settings file=%s store.url=%s%s",
        file.resolve() if file else "none (defaults, ROOST_*)",
        roost.settings.public()["store"]["url"],
        f" ({where})" if where else "",
    )
