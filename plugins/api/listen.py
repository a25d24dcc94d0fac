"""Binding ``api.host:api.port`` before anything else starts.

``roost serve`` binds first, so that a busy port (or a host that is not this machine's) is
one line naming ``host:port`` and the fix, before the store is touched or a worker starts.
"""

from __future__ import annotations

import errno
import socket

from roost.core.errors import ConfigError

BACKLOG = 128  # aiohttp's default

HINTS = {
    errno.EADDRINUSE: "another process listens there: stop it, or choose another port "
    "(--port, api.port or ROOST_API__PORT)",
    errno.EACCES: "not allowed to listen there (ports below 1024 need privileges): choose "
    "another port (--port, api.port or ROOST_API__PORT)",
    errno.EADDRNOTAVAIL: "that address is not one of this machine's: fix api.host "
    "(--host or ROOST_API__HOST), e.g. 127.0.0.1 or 0.0.0.0",
}


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` resolves to (as asyncio's
    ``create_server`` would bind them); :class:`ConfigError` naming ``host:port`` if not."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen on {where}: {exc.strerror}: fix api.host (--host or ROOST_API__HOST)"
        ) from None
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        for sock in socks:
            sock.close()
        hint = HINTS.get(exc.errno or 0, "")
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {where}: {reason}" + (f"; {hint}" if hint else "")
        ) from None
    return socks
