"""aiohttp's log of a client's malformed request, cut to one short INFO line.

aiohttp logs a request it cannot parse (a negative Content-Length, Content-Length beside
Transfer-Encoding, a bad chunk size) and a body that fails to decode at ERROR with a full
traceback on ``aiohttp.server``. A client causes these, so anyone who can connect could fill
the log, and there is nothing on the server to fix. :func:`install` replaces each such record
by one line on ``roost.api``; errors of the server itself stay as they are.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from roost.core.problems import shorten

log = logging.getLogger("roost.api")
AIOHTTP_SERVER = "aiohttp.server"
CLIENT_CAUSED = (HttpProcessingError, RequestPayloadError, ConnectionResetError)


class ClientErrorFilter(logging.Filter):
    """Drops ``aiohttp.server`` records caused by a client's bytes, logging one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.exc_info:
            return True  # aiohttp's debug lines, and records without an exception
        chain = _chain(record.exc_info[1])
        if not any(isinstance(e, CLIENT_CAUSED) for e in chain):
            return True  # the server's own error: keep its traceback
        log.info("bad request: %s (%s)", _reason(chain), shorten(record.getMessage(), 80))
        return False


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and its causes/contexts (aiohttp wraps a zlib error in two of its own)."""
    found: list[BaseException] = []
    while exc is not None and len(found) < 10:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _reason(chain: list[BaseException]) -> str:
    """The parser's own words (first line only: it quotes the offending bytes below)."""
    for exc in chain:
        text = exc.message if isinstance(exc, HttpProcessingError) else ""
        if text and str(text).strip():
            return shorten(str(text).strip().splitlines()[0].rstrip(":"), 120)
    return type(chain[0]).__name__


def install() -> None:
    """Add the filter to aiohttp's server logger, once per process."""
    logger = logging.getLogger(AIOHTTP_SERVER)
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
