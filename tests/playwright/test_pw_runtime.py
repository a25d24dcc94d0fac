"""The runtime in real headless Chromium against the fake X: paging, stopping, resuming, errors."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from fakex.server import FakeX
from roost.core.errors import ConfigError, PermanentError, RetryAfter
from roost.plugins.runtime_playwright.errors import (
    CloudflareBlocked,
    NoUsableSession,
    SchemaChanged,
    TargetUnavailable,
)
from roost.plugins.runtime_playwright.runtime import PlaywrightRuntime
from roost.plugins.twitter.models import SearchFilters, Tweet

MakeRuntime = Callable[..., Awaitable[PlaywrightRuntime]]
NO_FILTERS = SearchFilters()
TWO_SLOTS = [
    {"name": "a", "auth_token": "tok-a", "ct0": "csrf-a"},
    {"name": "b", "auth_token": "tok-b", "ct0": "csrf-b"},
]


class Pages:
    """An ``on_page`` that records what a handler would save and checkpoint."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    async def __call__(self, tweets: list[Tweet], cursor: str | None) -> None:
        self.calls.append(([t.id for t in tweets], cursor))

    @property
    def ids(self) -> list[str]:
        return [i for ids, _ in self.calls for i in ids]


def cursors(fake: FakeX, op: str = "SearchTimeline") -> list[str | None]:
    return [r["variables"].get("cursor") for r in fake.calls(op)]


# -- paging and stopping ----------------------------------------------------------------


async def test_search_pages_to_the_end_in_a_real_browser(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    runtime = await make_runtime()
    pages = Pages()
    filters = SearchFilters.model_validate({"lang": "en", "min_faves": 5})

    tweets = await runtime.search("bitcoin lang:en", filters, 100, on_page=pages)

    assert [t.id for t in tweets] == fake.expected_ids("SearchTimeline")
    assert len(tweets) == 12 and pages.ids == [t.id for t in tweets]
    first = fake.calls("SearchTimeline")[0]
    assert first["variables"]["rawQuery"] == "bitcoin lang:en min_faves:5"
    assert first["variables"]["product"] == "Latest"
    # three pages of tweets, then three pages with only cursors: X never says "the end"
    assert cursors(fake) == [None] + [f"DAACCgACGRkZ:{n}" for n in (5, 10, 15, 20, 25)]
    assert pages.calls[-1][1] is None  # nothing left to resume
    assert pages.calls[0][1] == "DAACCgACGRkZ:5"
    texts = {t.id: t.text for t in tweets}
    assert any(text.startswith("RT @satoshi: tweet number 9004") for text in texts.values())
    assert any(text.endswith("end & done") for text in texts.values())  # the long post


async def test_search_stops_at_the_limit_without_taking_more_pages(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    runtime = await make_runtime()
    pages = Pages()
    tweets = await runtime.search("bitcoin", NO_FILTERS, 7, on_page=pages)
    assert [t.id for t in tweets] == fake.expected_ids("SearchTimeline")[:7]
    # two pages of 5 hold the 7: the handler is given those two, and told the run is over;
    # X is not asked for a third
    assert len(pages.calls) == 2 and pages.ids == [t.id for t in tweets]
    assert pages.calls[-1][1] is None
    assert cursors(fake) == [None, "DAACCgACGRkZ:5"]


@pytest.mark.parametrize(
    ("limit", "cursor", "asked"),
    [
        (7, None, [None, "DAACCgACGRkZ:5"]),
        (100, None, [None] + [f"DAACCgACGRkZ:{n}" for n in (5, 10, 15, 20, 25)]),
        (3, "DAACCgACGRkZ:10", ["DAACCgACGRkZ:10"]),
    ],
)
async def test_an_app_that_pages_on_its_own_asks_x_only_for_the_pages_taken(
    fake: FakeX, make_runtime: MakeRuntime, limit: int, cursor: str | None, asked: list[str | None]
) -> None:
    # like x.com when a page does not fill the window: the app asks for the next page
    # without a scroll, as soon as it shows one; the account's rate budget is not spent
    # on pages the run will not take
    fake.reset(eager=True)
    runtime = await make_runtime()
    pages = Pages()
    tweets = await runtime.search("bitcoin", NO_FILTERS, limit, cursor=cursor, on_page=pages)
    assert cursors(fake) == asked
    assert len(pages.calls) == len(asked) and pages.ids == [t.id for t in tweets]


@pytest.mark.parametrize(
    ("end", "reason"), [("none", "no bottom cursor"), ("repeat", "cursor repeated")]
)
async def test_search_stops_when_the_cursor_ends_or_repeats(
    fake: FakeX, make_runtime: MakeRuntime, end: str, reason: str
) -> None:
    fake.reset(end=end)
    runtime = await make_runtime()
    pages = Pages()
    tweets = await runtime.search("bitcoin", NO_FILTERS, 100, on_page=pages)
    assert len(tweets) == 12
    # the fourth page has no new tweet and no usable cursor: the run ends on that page,
    # before any page timeout, and tells the handler nothing is left to resume
    assert len(pages.calls) == 4 and pages.calls[-1][0] == [], reason
    assert pages.calls[-2][1] == "DAACCgACGRkZ:15" and pages.calls[-1][1] is None


async def test_time_budget_returns_what_was_found(fake: FakeX, make_runtime: MakeRuntime) -> None:
    fake.reset(rate_limit=100_000)  # a fast browser pages 50 times in 2 s: only time may stop it
    runtime = await make_runtime(time_budget=2.0, max_empty_pages=10_000)
    # the feed never ends (empty pages with new cursors) and empty pages do not stop the
    # run: without the budget this call would page for hours
    tweets = await runtime.search("bitcoin", NO_FILTERS, 100)
    assert [t.id for t in tweets] == fake.expected_ids("SearchTimeline")


async def test_resume_starts_at_the_saved_cursor(fake: FakeX, make_runtime: MakeRuntime) -> None:
    runtime = await make_runtime()
    tweets = await runtime.search("bitcoin", NO_FILTERS, 100, cursor="DAACCgACGRkZ:10")
    assert cursors(fake)[0] == "DAACCgACGRkZ:10"  # the app's first request was rewritten
    expected = fake.expected_ids("SearchTimeline")
    # that page also repeats tweet 5 (as X does): dedupe is per run; the store upserts by id
    assert [t.id for t in tweets] == expected[8:] + [expected[4]]


async def test_graphql_on_the_api_host_layout_is_captured(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(api_prefix="/graphql")  # api.x.com/graphql/<id>/<Op>
    runtime = await make_runtime()
    assert len(await runtime.search("bitcoin", NO_FILTERS, 100)) == 12


@pytest.mark.parametrize("shape", ["2026", "2024"])
async def test_account_pages_pins_and_conversations(
    fake: FakeX, make_runtime: MakeRuntime, shape: str
) -> None:
    fake.reset(user_shape=shape)
    runtime = await make_runtime()
    tweets = await runtime.account_tweets("@elonmusk", 100)
    assert [t.id for t in tweets] == fake.expected_ids("UserTweets")
    assert len(tweets) == 15  # 12 posts + the pinned one + a two-post conversation module
    assert all(t.author and t.author.screen_name == "elonmusk" for t in tweets)
    assert fake.calls("UserByScreenName")[0]["variables"] == {"screen_name": "elonmusk"}


@pytest.mark.parametrize(
    ("handle", "state", "message"),
    [
        ("nobody_here", None, "@nobody_here does not exist"),
        ("gone", "suspended", "@gone is unavailable: suspended"),
        ("secret", "protected", "@secret is protected"),
    ],
)
async def test_unusable_accounts_are_permanent_errors(
    fake: FakeX, make_runtime: MakeRuntime, handle: str, state: str | None, message: str
) -> None:
    if state:
        fake.reset(users={handle: state})
    runtime = await make_runtime()
    with pytest.raises(TargetUnavailable, match=message) as info:
        await runtime.account_tweets(handle, 10)
    assert isinstance(info.value, PermanentError)
    assert fake.calls("UserTweets") == []


# -- rate limits and slots --------------------------------------------------------------


async def test_429_reschedules_at_the_reset_and_keeps_the_pages_found(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(fail={2: "429"}, reset_in=600)
    runtime = await make_runtime()
    pages = Pages()
    with pytest.raises(RetryAfter) as info:
        await runtime.search("bitcoin", NO_FILTERS, 100, on_page=pages)
    assert 590 <= info.value.seconds <= 601 and info.value.charge is False
    assert pages.calls == [(fake.expected_ids("SearchTimeline")[:3], "DAACCgACGRkZ:5")]
    assert runtime.slots.report()[0]["state"] == "cooling"
    calls = len(fake.requests)
    with pytest.raises(RetryAfter):  # the slot is cooling: not even a request is made
        await runtime.search("bitcoin", NO_FILTERS, 100)
    assert len(fake.requests) == calls


async def test_remaining_zero_cools_the_slot_before_the_next_call(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(zero_remaining_on=1)
    runtime = await make_runtime()
    pages = Pages()
    with pytest.raises(RetryAfter, match="rate budget used up"):
        await runtime.search("bitcoin", NO_FILTERS, 100, on_page=pages)
    assert len(fake.calls("SearchTimeline")) == 1  # X was not asked for a refused page
    assert len(pages.calls) == 1 and pages.calls[0][1] == "DAACCgACGRkZ:5"


async def test_an_app_that_pages_on_its_own_is_held_when_the_budget_is_used_up(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(zero_remaining_on=1, eager=True)
    runtime = await make_runtime()
    with pytest.raises(RetryAfter, match="rate budget used up"):
        await runtime.search("bitcoin", NO_FILTERS, 100)
    assert len(fake.calls("SearchTimeline")) == 1


async def test_a_rate_limited_slot_hands_over_to_the_next_at_the_same_cursor(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(fail={2: "429"}, tokens={"tok-a": "ok", "tok-b": "ok"})
    runtime = await make_runtime(sessions=TWO_SLOTS)
    tweets = await runtime.search("bitcoin", NO_FILTERS, 100)
    assert [t.id for t in tweets] == fake.expected_ids("SearchTimeline")
    calls = [(c["token"], c["status"], c["variables"].get("cursor")) for c in fake.requests]
    assert calls[:2] == [("tok-a", 200, None), ("tok-a", 429, "DAACCgACGRkZ:5")]
    handover = next(c for c in calls if c[0] == "tok-b")
    assert handover == ("tok-b", 200, "DAACCgACGRkZ:5")  # b resumed where a was refused
    states = {r["name"]: r["state"] for r in runtime.slots.report()}
    assert states == {"a": "cooling", "b": "free"}


async def test_a_locked_account_is_retired_and_reported(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(tokens={"tok-a": "locked", "tok-b": "ok"})
    runtime = await make_runtime(sessions=TWO_SLOTS)
    tweets = await runtime.search("bitcoin", NO_FILTERS, 100)
    assert len(tweets) == 12
    report = {r["name"]: r for r in runtime.slots.report()}
    assert report["a"]["state"] == "retired" and "locked (code 326)" in report["a"]["reason"]
    fake.reset(tokens={"tok-a": "ok", "tok-b": "suspended"})
    with pytest.raises(NoUsableSession, match="suspended"):  # b goes too: nothing left
        await runtime.search("bitcoin", NO_FILTERS, 100)


async def test_two_tasks_at_once_use_two_slots(fake: FakeX, make_runtime: MakeRuntime) -> None:
    fake.reset(tokens={"tok-a": "ok", "tok-b": "ok"})
    runtime = await make_runtime(sessions=TWO_SLOTS)
    found = await asyncio.gather(
        runtime.search("bitcoin", NO_FILTERS, 100), runtime.account_tweets("satoshi", 100)
    )
    assert [len(f) for f in found] == [12, 15]
    assert {r["token"] for r in fake.calls("SearchTimeline")} != {
        r["token"] for r in fake.calls("UserTweets")
    }


# -- sessions ---------------------------------------------------------------------------


@pytest.mark.parametrize("check_sessions", [True, False])
async def test_an_expired_session_fails_clearly_instead_of_retrying(
    fake: FakeX, make_runtime: MakeRuntime, check_sessions: bool
) -> None:
    fake.reset(tokens={})  # every cookie is now unknown: X redirects to /login
    runtime = await make_runtime(check_sessions=check_sessions)
    with pytest.raises(NoUsableSession, match="session 'main' expired") as info:
        await runtime.search("bitcoin", NO_FILTERS, 10)
    assert isinstance(info.value, PermanentError)
    assert fake.calls("SearchTimeline") == []


async def test_a_session_expiring_mid_run_is_reported(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(fail={2: "expired"})  # 401 code 32; the app then goes to /login
    runtime = await make_runtime()
    with pytest.raises(NoUsableSession, match="expired"):
        await runtime.search("bitcoin", NO_FILTERS, 100)


async def test_cookies_file_and_storage_state_sessions(
    fake: FakeX, make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    host = fake.origin.split("//")[1].split(":")[0]
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        f"{host}\tFALSE\t/\tFALSE\t0\tauth_token\ttok-a\n{host}\tFALSE\t/\tFALSE\t0\tct0\tc1\n"
    )
    state = tmp_path / "state.json"
    state.write_text(
        '{"cookies": ['
        f'{{"name": "auth_token", "value": "tok-b", "domain": "{host}", "path": "/", '
        '"expires": -1, "httpOnly": true, "secure": false, "sameSite": "Lax"},'
        f'{{"name": "ct0", "value": "c2", "domain": "{host}", "path": "/", '
        '"expires": -1, "httpOnly": false, "secure": false, "sameSite": "Lax"}'
        '], "origins": []}'
    )
    fake.reset(tokens={"tok-a": "ok", "tok-b": "ok"})
    runtime = await make_runtime(
        sessions=[
            {"name": "file", "cookies_file": str(cookies)},
            {"name": "state", "storage_state": str(state)},
        ]
    )
    await asyncio.gather(
        runtime.search("bitcoin", NO_FILTERS, 3), runtime.search("ether", NO_FILTERS, 3)
    )
    assert {r["token"] for r in fake.calls("SearchTimeline")} == {"tok-a", "tok-b"}
    assert all(r["status"] == 200 for r in fake.requests)  # csrf header matched ct0


# -- X errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "match"),
    [
        ({"fail": {1: "336"}}, "code 336"),
        ({"fail": {2: "404"}}, "stale query id"),
        ({"garbage_on": 1}, "no timeline instructions"),
    ],
)
async def test_schema_changes_fail_with_the_raw_response_saved(
    fake: FakeX, make_runtime: MakeRuntime, tmp_path: Path, scenario: dict, match: str
) -> None:
    fake.reset(**scenario)
    runtime = await make_runtime()
    with pytest.raises(SchemaChanged, match=match) as info:
        await runtime.search("bitcoin", NO_FILTERS, 100)
    assert isinstance(info.value, PermanentError)
    assert info.value.dump is not None and info.value.dump.parent == tmp_path / "dumps"
    assert info.value.dump.exists()


async def test_cloudflare_block_is_a_retryable_error(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    fake.reset(fail={1: "cloudflare"})
    runtime = await make_runtime()
    with pytest.raises(CloudflareBlocked, match="Cloudflare") as info:
        await runtime.search("bitcoin", NO_FILTERS, 100)
    assert not isinstance(info.value, PermanentError | RetryAfter)
    assert runtime.slots.report()[0]["state"] == "free"  # not the account's fault


# -- the browser ------------------------------------------------------------------------


@pytest.mark.parametrize(("block", "loaded"), [(True, False), (False, True)])
async def test_media_is_blocked_by_default(
    fake: FakeX, make_runtime: MakeRuntime, block: bool, loaded: bool
) -> None:
    runtime = await make_runtime(block_media=block)
    await runtime.search("bitcoin", NO_FILTERS, 100)
    assert (fake.media_hits > 0) is loaded


def browser_pids() -> list[int]:
    """Chromium main processes started by this test process (they own the debugging pipe)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"--remote-debugging-pipe" not in cmdline or stat[0] == "Z":
            continue
        pid = int(entry.name)
        parent = int(stat[1])
        for _ in range(4):  # python -> playwright driver -> chromium
            if parent == os.getpid():
                found.append(pid)
                break
            try:
                parent = int(
                    (Path("/proc") / str(parent) / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError):
                break
    return found


async def test_a_crashed_browser_is_restarted_and_the_run_resumes(
    fake: FakeX, make_runtime: MakeRuntime
) -> None:
    runtime = await make_runtime()
    (pid,) = browser_pids()
    killed = False

    async def crash_after_first_page(tweets: list[Tweet], cursor: str | None) -> None:
        nonlocal killed
        if not killed:
            killed = True
            os.kill(pid, signal.SIGKILL)

    tweets = await runtime.search("bitcoin", NO_FILTERS, 100, on_page=crash_after_first_page)

    assert [t.id for t in tweets] == fake.expected_ids("SearchTimeline")
    assert runtime.browser.launches == 2
    assert "DAACCgACGRkZ:5" in cursors(fake)[1:3]  # picked up at the saved cursor
    assert browser_pids() != [pid]


async def test_close_ends_the_browser(fake: FakeX, make_runtime: MakeRuntime) -> None:
    runtime = await make_runtime()
    assert len(browser_pids()) == 1
    await runtime.close()
    for _ in range(50):
        if not browser_pids():
            break
        await asyncio.sleep(0.1)
    assert browser_pids() == []


async def test_start_refuses_without_sessions_or_browser(
    make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"\[\[runtime.playwright.sessions\]\]"):
        await make_runtime(sessions=[])
    with pytest.raises(ConfigError, match="executable_path .* does not exist"):
        await make_runtime(executable_path=str(tmp_path / "no-chrome"))
    assert browser_pids() == []


async def test_start_without_playwright_installed_says_how_to_install(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)
    with pytest.raises(ConfigError, match=r"pip install 'roost\[playwright\]'"):
        await make_runtime()
