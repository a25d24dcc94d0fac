"""Firing the task event hooks (``task_claimed``, ``task_succeeded``, ``task_retried``,
``task_failed``, ``task_cancelled``): only those with listeners, on the event loop's thread, and a plugin that
raises is logged, never fatal. Which event a transition fires is decided in
:mod:`roost.core.lifecycle`."""

from __future__ import annotations

import logging
from typing import Any

import pluggy

log = logging.getLogger("roost.worker")
TASK_EVENTS = (
    "task_claimed",
    "task_succeeded",
    "task_retried",
    "task_failed",
    "task_cancelled",
)


class Events:
    """The task event hooks of one plugin manager. Plugins are registered when the Roost
    is created, so the hooks with listeners are known from then on."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook
        self.retried = 0  # task_retried fired so far (the queue samples count them)
        self.refresh()

    def refresh(self) -> None:
        """Look again which hooks have listeners (a worker does when it starts)."""
        self._listened = {n for n in TASK_EVENTS if getattr(self._hook, n).get_hookimpls()}

    def fire(self, name: str, **kwargs: Any) -> None:
        if name == "task_retried":
            self.retried += 1
        if name not in self._listened:  # nobody listens: skip pluggy's call (2 a task)
            return
        try:
            getattr(self._hook, name)(**kwargs)
        except Exception:
            log.exception("plugin hook %s raised (ignored)", name)
