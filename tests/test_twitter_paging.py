"""The Twitter paging state: dedupe, limit, stop reasons, and resuming a task from its checkpoint.

First the shared state on its own (what a runtime hands over, what a handler checkpoints and
reports), then whole SEARCH tasks through a worker on a real SQLite file: a task checkpointed
in the format the handlers have always stored resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.hookspecs import hookimpl
from roost.core.models import Task, TaskStatus
from roost.core.settings import Settings
from roost.core.tasktypes import RuntimeSpec
from roost.core.worker import Worker
from roost.plugins.runtime_mock import MockRuntime, MockSettings
from roost.plugins.twitter import Paging, SearchFilters, Tweet
from storekit import checkpoint as save_checkpoint
from storekit import release


def tweets(*numbers: int) -> list[Tweet]:
    return [Tweet(id=str(1_900_000_000_000_000_000 + n), text=f"post {n}") for n in numbers]


def ids(found: list[Tweet]) -> list[str]:
    return [t.id for t in found]


# -- the shared state -------------------------------------------------------------------


def test_a_tweet_seen_on_an_earlier_page_is_not_taken_again() -> None:
    paging = Paging(100)

    first = paging.take(tweets(1, 2, 3), "c1")
    second = paging.take(tweets(3, 2, 4), "c2")

    assert ids(first) == ids(tweets(1, 2, 3)) and ids(second) == ids(tweets(4))
    assert ids(paging.tweets) == ids(tweets(1, 2, 3, 4))
    assert paging.summary() == {"count": 4, "firstId": first[0].id, "lastId": second[-1].id}
    assert paging.checkpoint() == {
        "cursor": "c2",
        "saved": 4,
        "firstId": first[0].id,
        "lastId": second[-1].id,
    }
    assert paging.stop_reason is None


def test_the_limit_cuts_a_page_and_ends_the_walk() -> None:
    paging = Paging(5)

    paging.take(tweets(1, 2, 3), "c1")
    last = paging.take(tweets(4, 5, 6), "c2")

    assert ids(last) == ids(tweets(4, 5))
    assert paging.stop_reason == "limit reached"
    assert paging.summary()["count"] == 5
    assert paging.checkpoint()["cursor"] is None  # a retry has nothing left to fetch


def test_a_page_without_a_next_cursor_is_the_end() -> None:
    paging = Paging(100)

    paging.take(tweets(1, 2), None)

    assert paging.stop_reason == "no bottom cursor"
    assert paging.checkpoint() == {
        "cursor": None,
        "saved": 2,
        "firstId": tweets(1)[0].id,
        "lastId": tweets(2)[0].id,
    }


def test_a_limit_of_zero_needs_no_page() -> None:
    assert Paging(0).stop_reason == "limit reached"


def test_the_first_stop_reason_is_the_one_reported() -> None:
    paging = Paging(2)
    paging.stop("time budget used")
    paging.take(tweets(1, 2), None)
    assert paging.stop_reason == "time budget used"


def test_resuming_carries_on_from_the_checkpoint() -> None:
    earlier = Paging(10)
    earlier.take(tweets(1, 2, 3, 4), "c2")

    paging = Paging.resume(earlier.checkpoint(), 10)
    assert (paging.cursor, paging.remaining, paging.stop_reason) == ("c2", 6, None)
    paging.take(tweets(5, 6), None)

    assert paging.summary() == {
        "count": 6,
        "firstId": tweets(1)[0].id,  # from the earlier run
        "lastId": tweets(6)[0].id,
    }


@pytest.mark.parametrize(
    ("checkpoint", "reason"),
    [
        ({"cursor": None, "saved": 3, "firstId": "1", "lastId": "3"}, "no bottom cursor"),
        ({"cursor": "c9", "saved": 10, "firstId": "1", "lastId": "3"}, "limit reached"),
    ],
)
def test_a_checkpoint_of_a_finished_walk_resumes_finished(
    checkpoint: dict[str, Any], reason: str
) -> None:
    paging = Paging.resume(checkpoint, 10)
    assert paging.stop_reason == reason
    assert paging.summary() == {"count": checkpoint["saved"], "firstId": "1", "lastId": "3"}


def test_no_checkpoint_starts_at_the_top() -> None:
    paging = Paging.resume(None, 10)
    assert (paging.cursor, paging.remaining, paging.stop_reason) == (None, 10, None)
    assert paging.summary() == {"count": 0, "firstId": None, "lastId": None}


# -- whole tasks ------------------------------------------------------------------------


@pytest.fixture
def roost(make_settings: Callable[..., Settings]) -> Iterator[Roost]:
    roost = Roost.create(make_settings(worker={"poll_interval": 0.01}))
    roost.store.sync.setup()
    yield roost
    roost.store.close()


def checkpointed(roost: Roost, task: Task, checkpoint: dict[str, Any]) -> None:
    """Leave ``task`` PENDING with ``checkpoint``, as an earlier run that stopped would."""
    (claimed,) = roost.store.sync.claim("earlier-run", ["SEARCH"], 1, 30.0)
    assert claimed.id == task.id and claimed.lease_id is not None
    assert save_checkpoint(roost.store.sync, task.id, claimed.lease_id, checkpoint)
    assert release(roost.store.sync, task.id, claimed.lease_id, claimed.created_at)


def stored(roost: Roost, task: Task) -> list[str]:
    return sorted(r["id"] for r in roost.store.sync.records.find("tweets", task_id=task.id))


async def finish(roost: Roost, task: Task) -> Task:
    await Worker(roost).run(burst=True)
    done = roost.store.sync.get(task.id)
    assert done is not None and done.status == TaskStatus.DONE, done and done.last_error
    return done


async def test_a_task_checkpointed_mid_walk_resumes_at_its_cursor(roost: Roost) -> None:
    everything = await MockRuntime(MockSettings(latency_ms=0)).search(
        "bitcoin", SearchFilters(), 50
    )
    task = await roost.enqueue("SEARCH", {"query": "bitcoin", "limit": 50})
    # what the handlers stored after the first page of 20 (the mock's cursor is an index)
    checkpointed(
        roost,
        task,
        {"cursor": "20", "saved": 20, "firstId": everything[0].id, "lastId": everything[19].id},
    )

    done = await finish(roost, task)

    assert done.result == {"count": 50, "firstId": everything[0].id, "lastId": everything[-1].id}
    assert stored(roost, task) == sorted(ids(everything[20:]))  # not fetched from the top again
    assert done.checkpoint == {
        "cursor": None,
        "saved": 50,
        "firstId": everything[0].id,
        "lastId": everything[-1].id,
    }


@pytest.mark.parametrize(
    "checkpoint",
    [
        {"cursor": None, "saved": 7, "firstId": "1900000000000000107", "lastId": "101"},
        {"cursor": "40", "saved": 40, "firstId": "1900000000000000140", "lastId": "101"},
    ],
    ids=["reached the end", "saved the limit"],
)
async def test_a_task_whose_earlier_run_finished_fetches_nothing_more(
    roost: Roost, checkpoint: dict[str, Any]
) -> None:
    task = await roost.enqueue("SEARCH", {"query": "bitcoin", "limit": 40})
    checkpointed(roost, task, checkpoint)

    done = await finish(roost, task)

    assert done.result == {
        "count": checkpoint["saved"],
        "firstId": checkpoint["firstId"],
        "lastId": checkpoint["lastId"],
    }
    assert stored(roost, task) == []


class OneShot:
    """A runtime that does not page: it hands over everything at the end, repeats included."""

    def __init__(self, _settings: object) -> None:
        self.found = tweets(1, 2, 2, 3, 4, 5)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def search(self, *_args: object, **_kwargs: object) -> list[Tweet]:
        return self.found

    account_tweets = search

    @staticmethod
    @hookimpl
    def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
        register(RuntimeSpec(name="oneshot", factory=OneShot))


async def test_a_runtime_that_does_not_page_is_saved_deduplicated_up_to_the_limit(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(runtime={"name": "oneshot"}, worker={"poll_interval": 0.01})
    roost = Roost.create(settings, plugins=[OneShot])
    try:
        roost.store.sync.setup()
        task = await roost.enqueue("SEARCH", {"query": "bitcoin", "limit": 3})

        done = await finish(roost, task)

        first, _, third = tweets(1, 2, 3)
        assert done.result == {"count": 3, "firstId": first.id, "lastId": third.id}
        assert stored(roost, task) == sorted(ids(tweets(1, 2, 3)))
        assert done.checkpoint is not None and done.checkpoint["cursor"] is None
    finally:
        roost.store.close()
