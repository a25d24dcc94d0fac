"""Session slots: leasing, cool-downs, retirement; cookie files; settings validation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from roost.core.errors import ConfigError, PermanentError, RetryAfter
from roost.plugins.runtime_playwright.errors import NoUsableSession
from roost.plugins.runtime_playwright.settings import PlaywrightSettings, SessionSettings
from roost.plugins.runtime_playwright.slots import SlotPool, read_cookies_file, session_cookies


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sessions(*names: str) -> list[SessionSettings]:
    return [SessionSettings(name=n, auth_token=f"t-{n}", ct0=f"c-{n}") for n in names]


async def test_lease_rotates_free_slots_and_waits_for_a_busy_one() -> None:
    pool = SlotPool(sessions("a", "b"), clock=Clock())
    first = await pool.lease()
    second = await pool.lease()
    assert {first.name, second.name} == {"a", "b"}
    waiter = asyncio.ensure_future(pool.lease())
    await asyncio.sleep(0)
    assert not waiter.done()
    await pool.release(first)
    assert (await asyncio.wait_for(waiter, 1)).name == first.name


async def test_all_cooling_raises_retry_after_until_the_first_reset() -> None:
    clock = Clock()
    pool = SlotPool(sessions("a", "b"), clock=clock)
    a, b = await pool.lease(), await pool.lease()
    pool.cool(a, clock.now + 300, "429 SearchTimeline")
    pool.cool(b, clock.now + 120, "429 SearchTimeline")
    await pool.release(a)
    await pool.release(b)
    with pytest.raises(RetryAfter) as info:
        await pool.lease()
    assert info.value.seconds == 120
    assert info.value.charge is False
    clock.now += 121
    assert (await pool.lease()).name == "b"


async def test_a_retired_slot_leaves_the_rotation_and_is_reported() -> None:
    pool = SlotPool(sessions("a", "b"), clock=Clock())
    a = await pool.lease()
    pool.retire(a, "account locked (code 326)")
    await pool.release(a)
    assert (await pool.lease()).name == "b"
    report = {r["name"]: r for r in pool.report()}
    assert report["a"]["state"] == "retired" and "326" in report["a"]["reason"]
    assert report["b"]["state"] == "busy"


async def test_no_usable_slot_is_permanent_and_says_why() -> None:
    pool = SlotPool(sessions("a"), clock=Clock())
    a = await pool.lease()
    pool.retire(a, "session 'a' expired")
    with pytest.raises(NoUsableSession, match="a: session 'a' expired") as info:
        await pool.lease()
    assert isinstance(info.value, PermanentError)


def test_cookie_files_json_list_dict_and_netscape(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(
        json.dumps(
            [
                {"name": "auth_token", "value": "A", "domain": ".x.com", "path": "/",
                 "secure": True, "httpOnly": True, "sameSite": "no_restriction",
                 "expirationDate": 1900000000.5},
                {"name": "ct0", "value": "C", "domain": ".x.com", "sameSite": "lax"},
            ]
        )
    )  # fmt: skip
    cookies = session_cookies(SessionSettings(name="s", cookies_file=listed), "https://x.com")
    assert cookies[0] == {
        "name": "auth_token", "value": "A", "domain": ".x.com", "path": "/",
        "expires": 1900000000.5, "httpOnly": True, "secure": True, "sameSite": "None",
    }  # fmt: skip
    assert cookies[1]["sameSite"] == "Lax"

    mapping = tmp_path / "map.json"
    mapping.write_text('{"auth_token": "A", "ct0": "C"}')
    assert session_cookies(SessionSettings(name="s", cookies_file=mapping), "http://h:1") == [
        {"name": "auth_token", "value": "A", "url": "http://h:1/"},
        {"name": "ct0", "value": "C", "url": "http://h:1/"},
    ]

    netscape = tmp_path / "cookies.txt"
    netscape.write_text(
        "# Netscape HTTP Cookie File\n"
        "#HttpOnly_.x.com\tTRUE\t/\tTRUE\t1900000000\tauth_token\tA\n"
        ".x.com\tTRUE\t/\tTRUE\t0\tct0\tC\n"
    )
    parsed = read_cookies_file(netscape)
    assert [(c["name"], c["value"], c["httpOnly"]) for c in parsed] == [
        ("auth_token", "A", True),
        ("ct0", "C", False),
    ]


def test_bad_cookie_files_are_config_errors_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not a cookie file\n")
    with pytest.raises(ConfigError, match="bad.txt"):
        read_cookies_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        read_cookies_file(tmp_path / "missing.json")


def test_settings_validation() -> None:
    assert PlaywrightSettings().headless is True
    assert PlaywrightSettings().block_media is True
    with pytest.raises(ValidationError, match="extra"):
        PlaywrightSettings.model_validate({"headles": False})
    with pytest.raises(ValidationError, match="exactly one"):
        PlaywrightSettings.model_validate({"sessions": [{"name": "a"}]})
    with pytest.raises(ValidationError, match="both auth_token and ct0"):
        PlaywrightSettings.model_validate({"sessions": [{"name": "a", "auth_token": "t"}]})
    with pytest.raises(ValidationError, match="unique"):
        PlaywrightSettings.model_validate({"sessions": sessions("a", "a")})
    with pytest.raises(ValidationError, match="base_url"):
        PlaywrightSettings.model_validate({"base_url": "x.com/"})
