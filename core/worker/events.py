"""Firing the task event hooks (``task_claimed``, ``task_succeeded``, ``task_retried``,
``task_failed``, ``task_cancelled``): only those with listeners, on the event loop's thread, and a plugin that
raises is logged, never fatal. Which event a transition fires is decided in
:mod:`roost.core.lifecycle`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pluggy

log = logging.getLogger("roost.worker")
TASK_EVENTS = (
    "task_claimed",
    "task_succeeded",
    "task_retried",
    "task_failed",
    "task_cancelled",
    "task_lease_lost",
)


#: a listener's function and the arguments it declares (None: every argument of the hook)
Listener = tuple[Callable[..., Any], tuple[str, ...] | None]


class Events:
    """The task event hooks of one plugin manager. Plugins are registered when the Roost
    is created, so the hooks with listeners are known from then on.

    A hook is fired 2-3 times per task run, so the listeners' functions are called directly
    (pluggy's call machinery cost ~5 us a call, more than a metrics listener's work); one
    that raises is logged and the others still run. A hook with a wrapper goes through
    pluggy, which knows how to run it."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook
        self.retried = 0  # task_retried fired so far (the queue samples count them)
        self.refresh()

    def refresh(self) -> None:
        """Look again which hooks have listeners (a worker does when it starts)."""
        self._listeners: dict[str, list[Listener] | None] = {}
        for name in TASK_EVENTS:
            impls = getattr(self._hook, name).get_hookimpls()
            if not impls:
                continue
            if any(impl.hookwrapper or impl.wrapper for impl in impls):
                self._listeners[name] = None
                continue
            # pluggy's order (the last registered first) and arguments (those each declares;
            # None: all of them, passed as they come)
            every = set(getattr(self._hook, name).spec.argnames)
            self._listeners[name] = [
                (i.function, None if set(i.argnames) == every else tuple(i.argnames))
                for i in reversed(impls)
            ]

    def fire(self, name: str, **kwargs: Any) -> None:
        if name == "task_retried":
            self.retried += 1
        listeners = self._listeners.get(name, ())
        if listeners is None:
            try:
                getattr(self._hook, name)(**kwargs)
            except Exception:
                log.exception("plugin hook %s raised (ignored)", name)
            return
        for function, argnames in listeners:  # none: nobody listens, nothing to do
            try:
                if argnames is None:
                    function(**kwargs)
                else:
                    function(*[kwargs[a] for a in argnames])
            except Exception:
                log.exception("plugin hook %s raised (ignored)", name)
