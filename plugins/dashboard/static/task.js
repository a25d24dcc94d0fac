// A task's page: its facts, payload, result, checkpoint, error history, the tweets it found,
// and the Cancel and Retry buttons.
import { get, post } from "./api.js";
import { badge, el, message, time } from "./dom.js";

const CANCELLABLE = ["PENDING", "RUNNING"];
const RETRYABLE = ["FAILED", "CANCELLED"];

function json(value) {
  return value === null || value === undefined ? el("span", { class: "muted" }, "none") : el("pre", {}, JSON.stringify(value, null, 2));
}

function facts(task) {
  const rows = [
    ["Status", [badge(task.status), task.cancelRequested ? el("span", { class: "muted" }, " cancel requested") : ""]],
    ["Type", task.type],
    ["Attempts", `${task.attempts} of ${task.maxAttempts}`],
    ["Priority", String(task.priority)],
    ["Created", time(task.createdAt)],
    ["Due", time(task.nextRunAt)],
    ["Claimed", task.lockedAt ? [time(task.lockedAt), task.lockedBy ? ` by ${task.lockedBy}` : ""] : ""],
    ["Finished", time(task.finishedAt)],
    ["Updated", time(task.updatedAt)],
    ["Last error", task.lastError ? el("span", { class: "error" }, task.lastError) : ""],
  ];
  return el("dl", { class: "facts", id: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k.toLowerCase() }, v)]));
}

function errors(task) {
  if (!task.errors.length) return el("p", { class: "muted", id: "errors" }, "No errors.");
  return el(
    "table",
    { id: "errors" },
    el("thead", {}, el("tr", {}, el("th", {}, "attempt"), el("th", {}, "at"), el("th", {}, "error"))),
    el("tbody", {}, task.errors.map((e) => el("tr", {}, el("td", { class: "num" }, String(e.attempt)), el("td", {}, time(e.at)), el("td", { class: "error" }, e.error)))),
  );
}

function tweetRow(t) {
  const author = t.author || {};
  const handle = author.screen_name || "";
  const link = handle ? `https://x.com/${encodeURIComponent(handle)}/status/${encodeURIComponent(t.id)}` : `https://x.com/i/status/${encodeURIComponent(t.id)}`;
  const n = (v) => (v === null || v === undefined ? "" : String(v));
  return el(
    "tr",
    { "data-tweet": t.id },
    el("td", {}, handle ? `@${handle}` : "", author.name ? el("div", { class: "muted" }, author.name) : ""),
    el("td", { class: "tweet-text" }, t.text || ""),
    el("td", {}, t.created_at ? time(t.created_at) : ""),
    el("td", { class: "num" }, n(t.likes)),
    el("td", { class: "num" }, n(t.retweets)),
    el("td", { class: "num" }, n(t.replies)),
    el("td", { class: "num" }, n(t.views)),
    el("td", {}, el("a", { href: link, target: "_blank", rel: "noopener noreferrer" }, "open")),
  );
}

export function render(main, id) {
  const note = el("div", { id: "task-note" });
  const head = el("div");
  const body = el("tbody");
  const more = el("button", { class: "secondary", type: "button", hidden: true }, "More tweets");
  const tweetCount = el("span", { class: "muted", id: "tweet-count" });
  let next = null;
  let shown = 0;
  let last = null;

  async function act(action) {
    try {
      const out = await post(`/tasks/${id}/${action}`);
      message(note, `${action === "cancel" ? "Cancel" : "Retry"}: the task is now ${out.status}.`, "notice");
    } catch (err) {
      message(note, `${action === "cancel" ? "Cancel" : "Retry"} refused: ${err.message}`);
    }
    await refresh();
  }
  const cancel = el("button", { type: "button", id: "cancel", onclick: () => act("cancel") }, "Cancel");
  const retry = el("button", { type: "button", id: "retry", onclick: () => act("retry") }, "Retry");

  async function tweets(reset) {
    const q = new URLSearchParams({ limit: "100" });
    if (!reset && next) q.set("cursor", next);
    const page = await get(`/tasks/${id}/tweets?${q}`);
    if (reset) { body.replaceChildren(); shown = 0; }
    body.append(...page.tweets.map(tweetRow));
    shown += page.tweets.length;
    next = page.nextCursor;
    more.hidden = !next;
    tweetCount.textContent = shown ? `${shown}${next ? "+" : ""} tweet(s)` : "No tweets found (yet).";
  }
  more.addEventListener("click", () => tweets(false));

  async function refresh() {
    let task;
    try {
      task = await get(`/tasks/${id}`);
    } catch (err) {
      if (err.status === 404 || err.status === 400) {
        main.replaceChildren(el("h1", {}, "Task"), el("p", { class: "error", role: "alert" }, err.message));
        return;
      }
      throw err;
    }
    cancel.disabled = !CANCELLABLE.includes(task.status);
    retry.disabled = !RETRYABLE.includes(task.status);
    head.replaceChildren(
      facts(task),
      el("h2", {}, "Payload"), json(task.payload),
      el("h2", {}, "Result"), json(task.result),
      el("h2", {}, "Checkpoint"), json(task.checkpoint),
      el("h2", {}, "Error history"), errors(task),
    );
    const changed = last === null || last.status !== task.status || task.status === "RUNNING";
    last = task;
    if (changed && shown <= 100) await tweets(true); // the first page follows the task
  }

  main.replaceChildren(
    el("h1", {}, "Task ", el("code", {}, id)),
    el("div", { class: "toolbar" }, cancel, retry, el("a", { href: "#/tasks" }, "all tasks")),
    note,
    head,
    el("h2", {}, "Tweets found ", tweetCount),
    el(
      "table",
      { id: "tweets" },
      el("thead", {}, el("tr", {}, ["author", "text", "date", "likes", "retweets", "replies", "views", "link"].map((h) => el("th", {}, h)))),
      body,
    ),
    el("div", { class: "pager" }, more),
  );
  return refresh;
}
