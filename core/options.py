"""Options a plugin adds to another plugin's verb (``--metrics-port`` on ``roost worker``).

Registered through ``register_command_options``; the CLI adds each to its verb's parser and
treats it like the verb's own ``flags``: the value overrides a setting, so a bad one is a
settings error naming the flag.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

FLAG = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
SETTING = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class CommandOption:
    """``roost <command> --<flag> VALUE`` sets ``setting`` (``"table.key"``) for that run."""

    command: str
    flag: str
    setting: str
    help: str
    type: Callable[[str], Any] = str
    metavar: str | None = None

    def __post_init__(self) -> None:
        if not FLAG.match(self.flag) or not SETTING.match(self.setting):
            raise ConfigError(
                f"command option {self.flag!r}: the flag must be lower-case with '-' (no "
                f"leading '--') and the setting 'table.key', got {self.setting!r}"
            )

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            f"--{self.flag}", dest=self.dest, type=self.type, help=self.help, metavar=self.metavar
        )


def options_for(command: str, options: Iterable[CommandOption]) -> list[CommandOption]:
    return [option for option in options if option.command == command]
