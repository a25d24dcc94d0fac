"""The browser run: the shared paging state plus the stops only a browser walk needs. Pure."""

from __future__ import annotations

from roost.plugins.runtime_playwright.paging import Run
from roost.plugins.runtime_playwright.parser import Page
from roost.plugins.twitter.models import Tweet


def tweets(*numbers: int) -> list[Tweet]:
    return [Tweet(id=str(1_800_000_000_000_000_000 + n), text=f"post {n}") for n in numbers]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pages_without_a_new_tweet_end_the_run_with_nothing_to_resume() -> None:
    run = Run(100, max_empty_pages=2)
    run.add(Page(tweets(1), "c1"))
    run.add(Page(tweets(1), "c2"))  # only a repeat: nothing new
    assert run.stop_reason is None and run.checkpoint()["cursor"] == "c2"

    run.add(Page([], "c3"))

    assert run.stop_reason == "2 pages without a new tweet"
    assert run.checkpoint()["cursor"] is None  # a retry would not page on either
    assert run.summary()["count"] == 1


def test_a_resumed_cursor_answered_with_itself_ends_the_run() -> None:
    run = Run(100, "c1")
    new = run.add(Page(tweets(1, 2), "c1"))
    assert len(new) == 2 and run.stop_reason == "cursor repeated"


def test_the_time_budget_ends_the_run_with_what_was_found() -> None:
    clock = Clock()
    run = Run(100, budget=10, clock=clock)
    run.add(Page(tweets(1), "c1"))
    clock.now = 10

    run.add(Page(tweets(2), "c2"))

    assert run.stop_reason == "time budget used"
    assert run.summary() == {"count": 2, "firstId": tweets(1)[0].id, "lastId": tweets(2)[0].id}


def test_the_limit_wins_over_the_browser_stops() -> None:
    run = Run(2, max_empty_pages=1, budget=0.0)
    run.add(Page(tweets(1, 2, 3), "c1"))
    assert run.stop_reason == "limit reached"
