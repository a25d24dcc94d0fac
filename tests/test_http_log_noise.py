"""A client cannot flood the server's log: what a client causes is at most one short INFO line.

A real ``roost serve`` process and real sockets: disconnects in the middle of a body, requests
aiohttp's parser refuses, a body that does not decompress. The log is the process's stderr.
"""

from __future__ import annotations

import gzip
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from served import serve

pytestmark = pytest.mark.slow
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+)\s+(\S+) (.*)$")


class Server:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def mark(self) -> int:
        return len(self.text())

    def since(self, mark: int) -> str:
        return self.text()[mark:]

    def wait_for(self, mark: int, done: Callable[[str], bool], what: str) -> str:
        """Poll the log after ``mark`` until ``done(text)``; fail after a deadline."""
        deadline = time.monotonic() + 20
        while not done(text := self.since(mark)):
            if time.monotonic() > deadline:
                pytest.fail(f"the server never logged {what}; log: {text[-2000:]!r}")
            time.sleep(0.02)
        return text

    def send(self, data: bytes, *, read: bool) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            if not read:
                return b""  # hang up with the body half sent
            chunks = []  # until the server closes (parse errors; Connection: close)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the access log (one line per request, by design: tests/test_metrics_served.py) is off:
    # what is counted here is what a client's errors add to the log
    with serve(tmp_path_factory.mktemp("noise"), env={"ROOST_API__ACCESS_LOG": "false"}) as served:
        yield Server(served.port, served.log)


def post(path: str, headers: str, body: bytes = b"") -> bytes:
    return (
        f"POST /api/v4/twitter{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\n{headers}\r\n"
    ).encode() + body


def assert_quiet(text: str, events: int) -> None:
    """At most one short line per event, none above INFO, no traceback."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text, text[:3000]
    assert len(lines) <= events, text[:3000]
    for line in lines:
        match = LINE.match(line)
        assert match is not None, f"not a log line: {line!r}"
        assert match.group(1) in ("DEBUG", "INFO"), line
        assert len(line) < 250, line


def test_clients_hanging_up_mid_body_cost_one_short_line_each(server: Server) -> None:
    count = 100
    mark = server.mark()
    for _ in range(count):
        server.send(post("/tasks/account", "Content-Length: 1000\r\n", b'{"user'), read=False)
    text = server.wait_for(
        mark, lambda t: t.count("/tasks/account") >= count, f"{count} disconnects"
    )
    assert_quiet(text, count)
    assert len(text) < count * 120


PARSE_ERRORS = [
    ("negative Content-Length", "Content-Length: -5\r\n"),
    (
        "Content-Length with Transfer-Encoding",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    ),
    ("bad chunk size", "Transfer-Encoding: chunked\r\n"),
]


@pytest.mark.parametrize(("case", "headers"), PARSE_ERRORS, ids=[c[0] for c in PARSE_ERRORS])
def test_a_request_aiohttp_cannot_parse_costs_one_short_line(
    server: Server, case: str, headers: str
) -> None:
    mark = server.mark()
    answer = server.send(post("/tasks/search", headers, b"zz\r\nabc\r\n0\r\n\r\n"), read=True)
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:200]
    # aiohttp logs before it answers: the line is there once the answer is
    assert_quiet(server.since(mark), 1)


def test_a_body_that_does_not_decompress_costs_one_short_line(server: Server) -> None:
    body = b"\x1f\x8b\x08\x00 this is not gzip"
    headers = f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n"
    mark = server.mark()
    answer = server.send(post("/tasks/search", headers, body), read=True)
    assert answer.startswith(b"HTTP/1.1 400 ") and b'"invalid_body"' in answer, answer[:300]
    text = server.wait_for(mark, lambda t: "content-encoding: gzip" in t.lower(), "the gzip error")
    assert_quiet(text, 1)


def test_a_good_compressed_request_logs_nothing(server: Server) -> None:
    mark = server.mark()
    body = gzip.compress(b'{"query": "fine"}')
    headers = f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n"
    answer = server.send(post("/tasks/search", headers, body), read=True)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
    assert server.since(mark) == ""
