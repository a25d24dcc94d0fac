"""``[runtime.playwright]`` in settings.toml: the browser, the X sessions, the paging limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class SessionSettings(BaseModel):
    """One logged-in X account ("slot"): a cookies file, a storage-state file or inline cookies."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    cookies_file: Path | None = Field(
        None, description="JSON list/dict of cookies or a Netscape cookies.txt"
    )
    storage_state: Path | None = Field(None, description="a Playwright storage_state JSON file")
    auth_token: SecretStr | None = None
    ct0: SecretStr | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SessionSettings:
        inline = self.auth_token is not None or self.ct0 is not None
        sources = [self.cookies_file is not None, self.storage_state is not None, inline]
        if sum(sources) != 1:
            raise ValueError("give exactly one of cookies_file, storage_state, or auth_token + ct0")
        if inline and (self.auth_token is None or self.ct0 is None):
            raise ValueError("inline cookies need both auth_token and ct0")
        return self


class PlaywrightSettings(BaseModel):
    """Validated by the core only when ``runtime.name = "playwright"`` is in use."""

    model_config = ConfigDict(extra="forbid")

    executable_path: Path | None = Field(
        None,
        description="browser binary; default: Playwright's own Chromium, else /usr/bin/chromium",
    )
    headless: bool = True
    block_media: bool = Field(True, description="abort image/media/font requests")
    base_url: str = Field("https://x.com", pattern=r"^https?://[^/\s]+$")
    sessions: list[SessionSettings] = Field(default_factory=list)
    check_sessions: bool = Field(True, description="open /home per session at start")
    time_budget: float = Field(300.0, gt=0, description="seconds per search/account call")
    page_timeout: float = Field(30.0, gt=0, description="seconds to wait for the next page")
    scroll_pause: float = Field(
        2.0, gt=0, description="seconds to wait after a scroll before scrolling again"
    )
    max_empty_pages: int = Field(
        3, ge=1, description="stop after this many pages without new tweets"
    )
    schema_dump_dir: Path = Field(Path("x-schema-dumps"), description="raw responses X changed")
    user_agent: str | None = Field(None, description="default: the browser's, minus 'Headless'")
    locale: str = "en-US"
    launch_args: list[str] = Field(default_factory=lambda: list(DEFAULT_ARGS))
    max_browser_restarts: int = Field(2, ge=0, description="per call, after a crash")

    @field_validator("sessions")
    @classmethod
    def _unique(cls, sessions: list[SessionSettings]) -> list[SessionSettings]:
        names = [s.name for s in sessions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"session names must be unique: {', '.join(dupes)}")
        return sessions
