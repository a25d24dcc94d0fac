"""Settings: ``settings.toml`` < ``ROOST_*`` environment < explicit arguments.

Nested keys use ``__`` in the environment: ``ROOST_STORE__URL``, ``ROOST_API__PORT``.
The file comes from ``--config`` or ``ROOST_SETTINGS``, else ``./settings.toml`` when
it exists. Unknown keys and bad values are errors that name the key.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, PrivateAttr, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from .errors import ConfigError, RenamedSettingWarning, RoostDeprecationWarning
from .origins import Origins, env_parse_error, env_settings, unknown_env_table
from .plugin_settings import Tables, env_tree, public_table, registered_tables, validate_tables
from .problems import SETTINGS_HINT
from .problems import format_errors as format_errors  # re-exported: its old home
from .sections import (
    RENAMED,
    PluginSettings,
    RetentionSettings,
    RetrySettings,
    RuntimeSettings,
    Section,
    StoreSettings,
    WorkerSettings,
)

__all__ = [
    "PluginSettings",
    "RetentionSettings",
    "RetrySettings",
    "RenamedSettingWarning",
    "RoostDeprecationWarning",
    "RuntimeSettings",
    "Section",
    "Settings",
    "StoreSettings",
    "WorkerSettings",
    "format_errors",
    "plugin_choice",
    "load_settings",
    "resolve_file",
]

DEFAULT_FILE = "settings.toml"
M = TypeVar("M", bound=BaseModel)


class _FromFile(BaseSettings):
    """Sources in pydantic-settings' priority: arguments, the environment, then the file's
    tables (:attr:`file_tables`, set on a subclass per file by :func:`load_settings`)."""

    file_tables: ClassVar[dict[str, Any]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file = InitSettingsSource(settings_cls, init_kwargs=cls.file_tables)
        return init_settings, env_settings, file


class Settings(_FromFile):
    model_config = SettingsConfigDict(
        env_prefix="ROOST_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    _file: Path | None = PrivateAttr(None)
    _origins: Origins = PrivateAttr(default_factory=Origins)
    _tables: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    store: StoreSettings = Field(default_factory=StoreSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            """A plugin's table as an attribute too: ``settings.api``."""
            try:
                return super().__getattr__(name)
            except AttributeError:
                tables = (self.__pydantic_private__ or {}).get("_tables") or {}
                if name in tables:
                    return tables[name]
                raise

    def table(self, name: str, model: type[M]) -> M:
        """The validated ``[name]`` table a plugin registered with ``model``."""
        value = self._tables.get(name)
        if not isinstance(value, model):
            raise ConfigError(f"settings: no [{name}] table of {model.__name__} is registered")
        return value

    @property
    def file(self) -> Path | None:
        """The settings file these settings were read from, if any."""
        return self._file

    def where(self) -> str:
        """Where these settings came from, for error messages."""
        return f"settings ({self._file})" if self._file else "settings"

    def source(self, *key: str) -> str:
        """Where the value at ``key`` came from: ``environment variable ROOST_API__PORT``,
        the settings file, ``--port``, ``arguments``; else :meth:`where`."""
        return self._origins.of(key) or self.where()

    def public(self) -> dict[str, Any]:
        """The effective settings with secrets masked (``roost config``)."""
        data = self.model_dump(mode="json")
        data["store"]["url"] = _mask_url(self.store.url)
        for name, table in self._tables.items():
            data[name] = public_table(table)
        return data


def _mask_url(url: str) -> str:
    """Hide a password in ``scheme://user:password@host``."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        creds, _, rest = tail.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{head}://{user}:****@{rest}" if ":" in creds else url
    return url


def resolve_file(path: str | os.PathLike[str] | None) -> Path | None:
    """The settings file to read: the argument, ``ROOST_SETTINGS``, or ./settings.toml."""
    chosen = path or os.environ.get("ROOST_SETTINGS")
    if chosen:
        file = Path(chosen)
        if not file.is_file():
            raise ConfigError(f"settings file {file} does not exist")
        return file
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    argument_names: Mapping[str, str] | None = None,
    tables: Tables | None = None,
    **overrides: Any,
) -> Settings:
    """Read settings; raise :class:`ConfigError` naming the source, key and problem.

    ``overrides`` are explicit arguments (``api={"port": 80}``); ``argument_names`` names
    them in errors by dotted key (``{"api.port": "--port"}``), else they are ``arguments``.
    ``tables`` are the plugins' tables (``{"api": ApiSettings}``); by default those that the
    plugins chosen by ``[plugins]`` register through ``register_settings``.
    """
    file = resolve_file(path)
    where = f"settings ({file})" if file else "settings"
    document = _read(file)
    names = argument_names or {}
    origins = Origins()
    origins.add_tree(overrides, lambda key: names.get(".".join(key), "arguments"))
    core = set(Settings.model_fields)
    env = env_settings(os.environ, core, strict=False)
    for key, name in env:
        origins.add(key, f"environment variable {name}")
    origins.add_tree(document, lambda _: str(file))
    _check_renamed(origins)
    attrs = {"file_tables": _only(document, core), "__module__": __name__}
    cls: type[Settings] = type("Settings", (Settings,), attrs)
    problems: list[str] = []
    settings = None
    try:
        settings = cls(**_only(overrides, core))
    except ValidationError as exc:
        problems.append(format_errors(exc, label=lambda loc: origins.of(loc) or where))
    except SettingsError as exc:  # a ROOST_<table> or list variable that is not JSON
        raise ConfigError(env_parse_error(str(exc), os.environ, env)) from None
    if tables is None:
        p = settings.plugins if settings is not None else _plugins_alone(document, overrides)
        tables = registered_tables(p.entry_points, p.modules, p.disable)
    known = core | set(tables)
    unknown_env_table(env, known)
    for source in (overrides, document):
        problems += [
            f"{origins.of((name,)) or where}: {name}: {SETTINGS_HINT}"
            for name in source
            if name not in known
        ]
    try:
        sources = [document, env_tree(os.environ, env, tables), overrides]
        validated = validate_tables(tables, sources, origins, where)
    except ConfigError as exc:
        problems.append(str(exc))
    if problems or settings is None:
        raise ConfigError("; ".join(problems))
    settings._file = file
    settings._origins = origins
    settings._tables = validated
    _check_runtime_tables(settings)
    return settings


class _PluginsAlone(_FromFile):
    """The ``[plugins]`` table read alone, when another core table is wrong: which plugins'
    tables to check too, so that one message lists every problem."""

    model_config = SettingsConfigDict(env_prefix="ROOST_", env_nested_delimiter="__")
    plugins: PluginSettings = Field(default_factory=PluginSettings)


def plugin_choice(path: Path | None) -> PluginSettings:
    """The ``[plugins]`` table alone (file and environment), defaults when it is wrong:
    which plugins to load before the rest of the settings can be checked (``roost``
    collects its verbs from them; their error is reported when all are loaded)."""
    try:
        document = _read(path)
    except ConfigError:
        return PluginSettings()
    return _plugins_alone(document, {})


def _plugins_alone(document: Mapping[str, Any], overrides: Mapping[str, Any]) -> PluginSettings:
    attrs = {"file_tables": _only(document, {"plugins"}), "__module__": __name__}
    cls: type[_PluginsAlone] = type("_PluginsAlone", (_PluginsAlone,), attrs)
    try:
        return cls(**_only(overrides, {"plugins"})).plugins
    except (ValidationError, SettingsError):
        return PluginSettings()


def _read(file: Path | None) -> dict[str, Any]:
    """The settings file as a dict (empty without one)."""
    if file is None:
        return {}
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from exc


def _only(data: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key in names}


def _check_renamed(origins: Origins) -> None:
    """An old key (:data:`RENAMED`) still works, with a warning naming where it is set; set
    beside its new name it is an error naming both sources."""
    for old, new in RENAMED.items():
        old_at = origins.exactly(tuple(old.split(".")))
        if old_at is None:
            continue
        new_at = origins.exactly(tuple(new.split(".")))
        if new_at is not None:
            raise ConfigError(
                f"{old_at}: {old} and {new_at}: {new} are both set: keep only {new} "
                f"({old} is its old name)"
            )
        warnings.warn(
            f"{old_at}: {old} is deprecated: rename it {new} (same meaning)",
            RenamedSettingWarning,
            stacklevel=3,
        )


def _check_runtime_tables(settings: Settings) -> None:
    """``[runtime.<name>]`` must be a table; its keys are checked by that runtime."""
    for name, value in (settings.runtime.model_extra or {}).items():
        if not isinstance(value, dict):
            raise ConfigError(
                f"{settings.source('runtime', name)}: runtime.{name}: must be a table of "
                f"settings ([runtime.{name}] in a file, ROOST_RUNTIME__{name.upper()}__<KEY> "
                "in the environment)"
            )
