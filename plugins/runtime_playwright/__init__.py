"""The Playwright runtime for X: ``runtime.name = "playwright"`` in settings.toml.

Only light modules are imported here; Playwright itself loads when the runtime starts.
"""

from __future__ import annotations

from collections.abc import Callable

from roost.core.hookspecs import hookimpl
from roost.core.tasktypes import RuntimeSpec

from .settings import PlaywrightSettings


def _factory(settings: PlaywrightSettings) -> object:
    from .runtime import PlaywrightRuntime

    return PlaywrightRuntime(settings)


@hookimpl(trylast=True)
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    register(
        RuntimeSpec(
            name="playwright",
            factory=_factory,
            settings_model=PlaywrightSettings,
            description="X's web app in headless Chromium; captures its GraphQL timelines",
        )
    )
