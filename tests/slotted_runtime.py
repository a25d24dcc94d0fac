"""A plugin for the dashboard tests (``plugins.modules = ["slotted_runtime"]``): the runtime
``slotted``, whose session slots are the Playwright runtime's own :class:`SlotPool`, one of
each state a person can meet (free, cooling down for ten minutes, retired), no browser."""

from __future__ import annotations

import time
from collections.abc import Callable

from roost.core.hookspecs import hookimpl
from roost.core.tasktypes import RuntimeSpec
from roost.plugins.runtime_playwright.settings import SessionSettings
from roost.plugins.runtime_playwright.slots import SlotPool


class Slotted:
    def __init__(self, _: object) -> None:
        names = ("main", "spare", "old")
        self.slots = SlotPool([SessionSettings(name=n, auth_token="a", ct0="c") for n in names])
        self.slots.cool(self.slots.slots[1], time.time() + 600, "rate limited")
        self.slots.retire(self.slots.slots[2], "account locked")

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@hookimpl
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    register(RuntimeSpec("slotted", Slotted))
