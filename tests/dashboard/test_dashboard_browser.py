"""The dashboard in real headless Chromium, against a real ``roost serve`` (API + worker)
on a temporary SQLite file, with tasks that succeed, are retried and fail (the mock
runtime's ``failure_rate``, an unknown user). Each test asserts what a person sees on the
page, and checks it against the REST API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from dashkit import TOKEN, Api
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
LATER = (datetime.now(UTC) + timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")


def dashboard(page: Page, api: Api, where: str = "overview") -> Page:
    page.goto(f"{api.served.url}/dashboard#/{where}")
    return page


def scheduled(api: Api, query: str) -> str:
    """A SEARCH task due in ten years: it stays PENDING."""
    return str(api.call("POST", "/tasks/search", {"query": query, "runAt": LATER})["taskId"])


def test_the_overview_counts_match_queue_stats_and_the_charts_have_points(
    page: Page, api: Api
) -> None:
    stats = api.settled()
    dashboard(page, api)
    for status in ("pending", "running", "done", "failed", "cancelled", "total"):
        expect(page.locator(f'[data-count="{status}"] .value')).to_have_text(str(stats[status]))
    assert stats["done"] > 0 and stats["failed"] > 0
    finished = page.locator('[data-chart="finished"] circle.point')
    expect(finished.and_(page.locator('[data-series="done"]')).first).to_be_attached()
    expect(finished.and_(page.locator('[data-series="failed"]')).first).to_be_attached()
    for chart, series in (("depth", "pending"), ("wait", "waitP50"), ("run", "runP95")):
        points = page.locator(f'[data-chart="{chart}"] circle.point[data-series="{series}"]')
        expect(points.first).to_be_attached()
    # the points are the store's series: the done points add up to the DONE count
    series = api.call("GET", "/queue/series")["minutes"]
    done = page.locator('[data-chart="finished"] circle.point[data-series="done"]')
    drawn = sum(float(v or 0) for v in done.evaluate_all("ps => ps.map(p => p.dataset.value)"))
    assert drawn == sum(m["done"] for m in series) == stats["done"]


def test_the_overview_counts_each_type_and_links_to_its_tasks(page: Page, api: Api) -> None:
    stats = api.settled()
    statuses = ("pending", "running", "done", "failed", "cancelled", "total")

    def adding_up() -> list[dict[str, object]] | None:  # the route reads at most every 2 s
        types = api.call("GET", "/queue/types")["types"]
        sums = {s: sum(t[s] for t in types) for s in statuses}
        return types if sums == {s: stats[s] for s in statuses} else None

    types = api.until(adding_up, "the per-type counts to add up to queue/stats")
    assert {"SEARCH", "ACCOUNT"} <= {t["type"] for t in types}
    dashboard(page, api)
    for t in types:
        row = page.locator(f'#by-type tr[data-type="{t["type"]}"]')
        for status in statuses:
            expect(row.locator(f'[data-column="{status}"]')).to_have_text(str(t[status]))
    account = next(t for t in types if t["type"] == "ACCOUNT")
    assert account["failed"] > 0
    page.locator('#by-type tr[data-type="ACCOUNT"] [data-column="failed"] a').click()
    rows = page.locator("#tasks tbody tr[data-task]")
    expect(rows).to_have_count(min(int(account["failed"]), 25))
    expect(rows.locator("td:nth-child(2)")).to_have_text(["ACCOUNT"] * rows.count())
    expect(page.locator("#tasks tbody .badge")).to_have_text(["FAILED"] * rows.count())


def test_the_overview_refreshes_itself(page: Page, api: Api) -> None:
    dashboard(page, api)
    before = api.settled()
    expect(page.locator('[data-count="pending"] .value')).to_have_text(str(before["pending"]))
    scheduled(api, "refresh")
    expect(page.locator('[data-count="pending"] .value')).to_have_text(
        str(before["pending"] + 1), timeout=10_000
    )
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload


def test_cancelling_a_pending_task_shows_it_cancelled(page: Page, api: Api) -> None:
    task_id = scheduled(api, "to cancel")
    dashboard(page, api, f"task/{task_id}")
    expect(page.locator('[data-fact="status"] .badge')).to_have_text("PENDING")
    expect(page.locator("#retry")).to_be_disabled()
    page.locator("#cancel").click()
    expect(page.locator('[data-fact="status"] .badge')).to_have_text("CANCELLED")
    expect(page.locator("#task-note")).to_contain_text("now CANCELLED")
    expect(page.locator("#cancel")).to_be_disabled()
    assert api.call("GET", f"/tasks/{task_id}")["status"] == "CANCELLED"


def test_retrying_a_failed_task_requeues_it(page: Page, api: Api) -> None:
    api.settled()
    failed = api.call("GET", "/tasks?status=FAILED&type=ACCOUNT")["tasks"]
    task_id = failed[0]["taskId"]
    dashboard(page, api, f"task/{task_id}")
    expect(page.locator('[data-fact="status"] .badge')).to_have_text("FAILED")
    expect(page.locator("#errors tbody tr")).to_have_count(1)
    page.locator("#retry").click()
    expect(page.locator("#task-note")).to_contain_text("Retry: the task is now PENDING")
    # it ran again (the unknown user fails again, for good): a second entry in its history
    expect(page.locator("#errors tbody tr")).to_have_count(2, timeout=15_000)
    assert len(api.call("GET", f"/tasks/{task_id}")["errors"]) == 2


def test_a_tasks_tweets_are_listed(page: Page, api: Api) -> None:
    api.settled()
    done = api.call("GET", "/tasks?status=DONE&type=SEARCH&limit=1")["tasks"][0]
    tweets = api.call("GET", f"/tasks/{done['taskId']}/tweets")["tweets"]
    assert tweets
    dashboard(page, api, f"task/{done['taskId']}")
    rows = page.locator("#tweets tbody tr")
    expect(rows).to_have_count(len(tweets))
    first = rows.first
    expect(first).to_contain_text(tweets[0]["text"])
    expect(first).to_contain_text("@" + tweets[0]["author"]["screen_name"])
    expect(first.locator("td.num").first).to_have_text(str(tweets[0]["likes"]))
    link = first.locator("a")
    expect(link).to_have_attribute("href", re.compile(rf"/status/{tweets[0]['id']}$"))
    expect(page.locator('[data-fact="status"] .badge')).to_have_text("DONE")
    expect(page.locator("#cancel")).to_be_disabled()


def test_the_tasks_table_filters_by_status_and_opens_a_task(page: Page, api: Api) -> None:
    stats = api.settled()
    dashboard(page, api, "tasks?status=FAILED")
    rows = page.locator("#tasks tbody tr[data-task]")
    expect(rows).to_have_count(min(stats["failed"], 25))
    expect(page.locator("#tasks tbody .badge")).to_have_text(["FAILED"] * min(stats["failed"], 25))
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_contain_text("Task")
    expect(page.locator('[data-fact="status"] .badge')).to_have_text("FAILED")


def test_the_enqueue_form_creates_a_task(page: Page, api: Api) -> None:
    dashboard(page, api, "enqueue")
    form = page.locator('form[data-route="search"]')
    form.get_by_label("query *").fill("from the dashboard")
    form.locator('input[name="runAt"]').fill(LATER)
    form.get_by_role("button", name="Enqueue").click()
    notice = form.locator(".notice")
    expect(notice).to_contain_text("Created SEARCH task")
    task_id = notice.locator("a").inner_text()
    task = api.call("GET", f"/tasks/{task_id}")
    assert task["payload"]["query"] == "from the dashboard" and task["status"] == "PENDING"
    # every task type with a route has its form, made from the OpenAPI document
    expect(page.locator("form.enqueue")).to_have_count(2)


def test_the_enqueue_form_shows_why_a_payload_is_refused(page: Page, api: Api) -> None:
    before = api.call("GET", "/queue/stats")["total"]
    dashboard(page, api, "enqueue")
    form = page.locator('form[data-route="account"]')
    form.get_by_label("username *").fill("not a handle!")
    form.get_by_role("button", name="Enqueue").click()
    expect(form.locator('[role="alert"]')).to_contain_text("Refused (400)")
    expect(form.locator('[role="alert"]')).to_contain_text("username")
    assert api.call("GET", "/queue/stats")["total"] == before


def test_the_workers_page_lists_the_registry(page: Page, api: Api) -> None:
    workers = api.call("GET", "/workers")["workers"]
    assert workers
    dashboard(page, api, "workers")
    for worker in workers:
        row = page.locator(f'tr[data-worker="{worker["workerId"]}"]')
        expect(row).to_contain_text(f"/{worker['maxConcurrent']}")
    expect(page.locator("#slots")).to_contain_text("No worker's runtime has session slots")
    assert all(w["slots"] is None for w in workers)  # the mock runtime has none


def test_the_workers_page_shows_each_workers_session_slots(page: Page, slotted_api: Api) -> None:
    # the slots come from the registry: each worker writes its runtime's with its entry
    [worker] = slotted_api.call("GET", "/workers")["workers"]
    slots = {s["name"]: s for s in worker["slots"]}
    assert slots == {s["name"]: s for s in slotted_api.call("GET", "/runtime/slots")["slots"]}
    dashboard(page, slotted_api, "workers")
    mine = page.locator(f'[data-worker-slots="{worker["workerId"]}"]')
    expect(mine.locator("h3")).to_contain_text(f"pid {worker['pid']}")
    expect(mine.locator('tr[data-slot="main"] [data-state]')).to_have_text("free")
    spare = mine.locator('tr[data-slot="spare"]')
    expect(spare.locator("[data-state]")).to_have_text("cooling")
    expect(spare).to_contain_text("rate limited")
    expect(spare.locator("time")).to_have_attribute("datetime", slots["spare"]["coolUntil"])
    old = mine.locator('tr[data-slot="old"]')
    expect(old.locator("[data-state]")).to_have_text("retired")
    expect(old).to_contain_text("account locked")


def test_with_a_token_the_dashboard_asks_once_and_refuses_a_wrong_one(
    page: Page, guarded_api: Api
) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    dashboard(page, guarded_api)
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-error")).to_be_hidden()
    page.locator("#token-input").fill("not-the-token")
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator("#token-error")).to_be_visible()
    expect(page.locator("#token-error")).to_contain_text("refused")
    expect(dialog).to_be_visible()
    page.locator("#token-input").fill(TOKEN)
    page.get_by_role("button", name="Use this token").click()
    expect(dialog).to_be_hidden()
    stats = guarded_api.settled()
    expect(page.locator('[data-count="total"] .value')).to_have_text(str(stats["total"]))
    # asked once: other pages and a reload in this tab use the kept token
    page.goto(f"{guarded_api.served.url}/dashboard#/workers")
    page.reload()
    expect(page.locator("#workers tbody tr[data-worker]").first).to_be_visible()
    expect(dialog).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 1
    assert not [u for u in urls if TOKEN in u or "not-the-token" in u]  # never in a URL


def test_with_a_token_a_bulk_redrive_requeues_the_failed_tasks(
    page: Page, guarded_api: Api
) -> None:
    failed = guarded_api.settled()["failed"]
    assert failed > 0
    page.add_init_script(f"sessionStorage.setItem('roost.dashboard.token', {TOKEN!r})")
    page.on("dialog", lambda d: d.accept())  # "Requeue every FAILED task?"
    dashboard(page, guarded_api, "tasks?status=FAILED")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(min(failed, 25))
    page.locator("#redrive").click()
    expect(page.locator("#tasks-note")).to_contain_text(f"{failed} failed task(s) requeued")
    expect(page.locator("#token-dialog")).to_be_hidden()
