"""Schemathesis against a running ``roost serve``: no 5xx, every response as documented."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``roost serve --no-worker`` process on a fresh SQLite file."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update(
        ROOST_STORE__URL=f"sqlite:///{folder / 'fuzz.db'}",
        ROOST_API__PORT=str(port),
        ROOST_NO_ENTRY_POINTS="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "roost.core.cli", "serve", "--no-worker"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"roost serve did not start: {proc.stderr.read()!r}") from None
            time.sleep(0.05)
    yield url
    proc.terminate()
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err, err.decode()


@pytest.fixture(scope="module")
def api_schema(server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server + "/api/v4/openapi.json")


def operations(api_schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(api_schema: schemathesis.BaseSchema) -> None:
    """Generated valid and invalid requests for every operation: no 5xx, responses as documented."""
    ops = operations(api_schema)
    assert len(ops) == 6
    for op, mode in itertools.product(ops, schemathesis.GenerationMode):
        if mode is schemathesis.GenerationMode.NEGATIVE and not (op.body or op.path_parameters):
            continue  # nothing to make invalid

        @hypothesis.settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=op.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()
