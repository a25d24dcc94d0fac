"""Launch mongoeco's MongoDB wire server (run with .venv-wire's Python 3.13, not roost's).

    .venv-wire/bin/python tests/wire_server.py [--port N] [--sqlite FILE]

Prints ``listening <mongodb-url>`` on stdout once the socket accepts connections.
``--port 0`` (the default) lets the OS pick a free port; ``--sqlite FILE`` keeps the data
in a file so a restarted server finds it again (the outage tests), else it lives in memory.
Exits on SIGTERM/SIGINT, and when the process that started it goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys


async def serve(port: int, sqlite: str | None) -> None:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    engine = SQLiteEngine(sqlite, executor_workers=1) if sqlite else MemoryEngine()
    server = AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    await server.start()
    print(f"listening mongodb://127.0.0.1:{server.address.port}/?directConnection=true", flush=True)
    try:
        while not stop.is_set():
            if os.getppid() != parent:  # orphaned: the test run died without stopping us
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sqlite", metavar="FILE", help="persist the data in this file")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.sqlite))
    return 0


if __name__ == "__main__":
    sys.exit(main())
