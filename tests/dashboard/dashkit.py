"""What the dashboard tests share: a real ``roost serve`` (API + worker, mock runtime with
failures) on a temporary SQLite file, plain HTTP calls to check what the page shows, and
which Chromium to drive (it must be present: the tests fail, never skip, without it)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from served import Served, serve

P = "/api/v4/twitter"
TOKEN = "dash-s3cret-token"
#: a few failures: 30% of runtime calls raise (retried at once), the unknown user is permanent
ENV = {
    "ROOST_RUNTIME__MOCK__LATENCY_MS": "5",
    "ROOST_RUNTIME__MOCK__FAILURE_RATE": "0.3",
    "ROOST_RETRY__STRATEGY": "fixed",
    "ROOST_RETRY__BASE_DELAY": "0.1",
    "ROOST_WORKER__POLL_INTERVAL": "0.05",
    "ROOST_WORKER__MAX_POLL_INTERVAL": "0.2",
}
SEARCHES = 12


@dataclass
class Api:
    """Plain HTTP calls to the served API, to set up and to check what the page shows."""

    served: Served
    token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.served.url + P + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())["data"]

    def until(self, check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def settled(self) -> dict[str, int]:
        """``queue/stats`` once nothing runs and nothing is due (scheduled tasks may wait)."""

        def quiet() -> dict[str, int] | None:
            stats = self.call("GET", "/queue/stats")
            due = self.call("GET", "/tasks?status=PENDING&limit=500")["tasks"]
            now = time.time()
            soon = [t for t in due if _epoch(t["nextRunAt"]) <= now + 5]  # retries due soon
            return stats if not stats["running"] and not soon else None

        return self.until(quiet, "the queue to settle")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def enqueue_mix(api: Api) -> None:
    """Searches (some retried, maybe failed), one ACCOUNT of an unknown user (FAILED)."""
    for i in range(SEARCHES):
        api.call("POST", "/tasks/search", {"query": f"roost {i}", "limit": 5})
    api.call("POST", "/tasks/account", {"username": "unknown_user"})


@contextmanager
def started(folder: Path, env: dict[str, str]) -> Iterator[Served]:
    with serve(folder, env={**ENV, **env}, worker=True) as served:
        yield served
    log = served.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log
