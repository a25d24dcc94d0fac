"""Logged-in X sessions ("slots"): who may be used now, who waits for a reset, who is out.

A call leases one free slot for its whole run, so one account never runs two
timelines at once. A rate-limited slot cools down until X's reset time; an expired,
locked or suspended one is retired for the life of the process and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from roost.core.errors import ConfigError, RetryAfter

from .errors import NoUsableSession
from .settings import SessionSettings

log = logging.getLogger("roost.playwright")
SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None", "no_restriction": "None"}


@dataclass
class Slot:
    """One session and its state in the rotation."""

    session: SessionSettings
    busy: bool = False
    cool_until: float = 0.0
    cool_reason: str = ""
    retired: str | None = None
    last_used: float = 0.0
    leases: int = field(default=0)

    @property
    def name(self) -> str:
        return self.session.name


class SlotPool:
    """Hands out free slots; raises when waiting cannot help."""

    def __init__(
        self, sessions: list[SessionSettings], clock: Callable[[], float] = time.time
    ) -> None:
        self.slots = [Slot(s) for s in sessions]
        self._clock = clock
        self._changed = asyncio.Condition()

    async def lease(self) -> Slot:
        """A free slot; waits while others are busy; ``RetryAfter`` when all are cooling down."""
        async with self._changed:
            while True:
                usable = [s for s in self.slots if s.retired is None]
                if not usable:
                    reasons = "; ".join(f"{s.name}: {s.retired}" for s in self.slots)
                    raise NoUsableSession(
                        f"no usable X session left ({reasons or 'none configured'})"
                    )
                now = self._clock()
                free = [s for s in usable if not s.busy and s.cool_until <= now]
                if free:
                    slot = min(free, key=lambda s: s.last_used)
                    slot.busy, slot.last_used = True, now
                    slot.leases += 1
                    return slot
                cooling = [s for s in usable if s.cool_until > now]
                if len(cooling) == len(usable):
                    soonest = min(cooling, key=lambda s: s.cool_until)
                    raise RetryAfter(
                        soonest.cool_until - now,
                        f"all X sessions rate-limited; first free: {soonest.name} "
                        f"({soonest.cool_reason})",
                    )
                wait = min((s.cool_until - now for s in cooling), default=None)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)

    async def release(self, slot: Slot) -> None:
        async with self._changed:
            slot.busy = False
            self._changed.notify_all()

    def cool(self, slot: Slot, until: float, reason: str) -> None:
        """Keep ``slot`` out until ``until`` (unix seconds, X's ``x-rate-limit-reset``)."""
        slot.cool_until = max(slot.cool_until, until)
        slot.cool_reason = reason
        log.warning("slot cooling slot=%s until=%.0f reason=%s", slot.name, until, reason)

    def retire(self, slot: Slot, reason: str) -> None:
        """Take ``slot`` out of rotation for good (expired, locked, suspended)."""
        slot.retired = reason
        log.error("slot retired slot=%s reason=%s", slot.name, reason)

    def report(self) -> list[dict[str, Any]]:
        """The state of every slot, for logs and status pages."""
        now = self._clock()
        return [
            {
                "name": s.name,
                "state": "retired"
                if s.retired
                else "cooling"
                if s.cool_until > now
                else "busy"
                if s.busy
                else "free",
                "reason": s.retired or (s.cool_reason if s.cool_until > now else ""),
                "coolUntil": s.cool_until or None,
                "leases": s.leases,
            }
            for s in self.slots
        ]


# -- cookies -----------------------------------------------------------------------------


def session_cookies(session: SessionSettings, base_url: str) -> list[dict[str, Any]]:
    """Playwright cookies for a cookies-file or inline session (storage states load as is)."""
    if session.auth_token is not None and session.ct0 is not None:
        return [
            _cookie(
                {"name": "auth_token", "value": session.auth_token.get_secret_value()}, base_url
            ),
            _cookie({"name": "ct0", "value": session.ct0.get_secret_value()}, base_url),
        ]
    if session.cookies_file is None:
        return []
    return [_cookie(c, base_url) for c in read_cookies_file(session.cookies_file)]


def read_cookies_file(path: Path) -> list[dict[str, Any]]:
    """A JSON list (extension export), a JSON ``{name: value}`` or a Netscape cookies.txt."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read cookies file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _netscape(text, path)
    if isinstance(data, dict) and isinstance(data.get("cookies"), list):
        data = data["cookies"]
    if isinstance(data, dict):
        return [{"name": str(k), "value": str(v)} for k, v in data.items()]
    if isinstance(data, list) and all(isinstance(c, dict) and "name" in c for c in data):
        return data
    raise ConfigError(f"{path}: expected a list of cookies or a {{name: value}} object")


def _netscape(text: str, path: Path) -> list[dict[str, Any]]:
    cookies = []
    for line in text.splitlines():
        http_only = line.startswith("#HttpOnly_")
        line = line.removeprefix("#HttpOnly_")
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise ConfigError(
                f"{path}: neither JSON nor a Netscape cookies.txt line: {line[:40]!r}"
            )
        domain, _, cpath, secure, expires, name, value = parts
        cookie: dict[str, Any] = {
            "name": name,
            "value": value,
            "domain": domain,
            "path": cpath,
            "secure": secure.upper() == "TRUE",
            "httpOnly": http_only,
        }
        if expires.isdigit() and int(expires) > 0:
            cookie["expires"] = int(expires)
        cookies.append(cookie)
    return cookies


def _cookie(raw: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Normalise one exported cookie to what ``BrowserContext.add_cookies`` accepts."""
    cookie: dict[str, Any] = {"name": str(raw["name"]), "value": str(raw.get("value", ""))}
    domain = raw.get("domain")
    if domain:
        cookie["domain"] = str(domain)
        cookie["path"] = str(raw.get("path") or "/")
    else:
        cookie["url"] = base_url.rstrip("/") + "/"
    expires = raw.get("expires", raw.get("expirationDate"))
    if isinstance(expires, int | float) and expires > 0:
        cookie["expires"] = float(expires)
    for key in ("httpOnly", "secure"):
        if key in raw:
            cookie[key] = bool(raw[key])
    same_site = SAME_SITE.get(str(raw.get("sameSite", "")).lower())
    if same_site:
        cookie["sameSite"] = same_site
    if cookie.get("sameSite") == "None" and urlsplit(base_url).scheme == "https":
        cookie["secure"] = True
    return cookie
