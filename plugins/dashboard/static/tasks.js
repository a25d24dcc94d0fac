// Tasks: the table (filters by status and type, cursor paging, search by id) and a bulk
// Redrive of failed tasks.
import { get, post } from "./api.js";
import { ago, badge, el, message, taskLink } from "./dom.js";

const STATUSES = ["", "PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"];
const PAGE = 25;

function params() {
  const query = location.hash.split("?")[1] || "";
  return new URLSearchParams(query);
}

function row(task) {
  return el(
    "tr",
    { "data-task": task.taskId },
    el("td", {}, taskLink(task.taskId)),
    el("td", {}, task.type),
    el("td", {}, badge(task.status)),
    el("td", { class: "num" }, `${task.attempts}/${task.maxAttempts}`),
    el("td", { title: task.createdAt }, ago(task.createdAt)),
    // a DONE task's error is an earlier attempt's: shown, not alarming
    el("td", { class: task.status === "DONE" ? "muted" : "error" }, task.lastError || ""),
  );
}

export function render(main) {
  const p = params();
  const status = p.get("status") || "";
  const type = p.get("type") || "";
  const cursors = [null]; // the cursor of each page seen; the last one is shown
  const note = el("div", { id: "tasks-note" });
  const body = el("tbody");
  const pageInfo = el("span", { class: "muted" });
  const prev = el("button", { class: "secondary", type: "button", disabled: true }, "← Newer");
  const next = el("button", { class: "secondary", type: "button", disabled: true }, "Older →");
  let nextCursor = null;

  const statusSelect = el(
    "select",
    { name: "status", "aria-label": "status" },
    STATUSES.map((s) => el("option", { value: s, selected: s === status }, s || "any status")),
  );
  const typeInput = el("input", { name: "type", value: type, placeholder: "any type", "aria-label": "type", size: 10 });
  const filters = el(
    "form",
    {
      class: "toolbar",
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        if (statusSelect.value) q.set("status", statusSelect.value);
        if (typeInput.value.trim()) q.set("type", typeInput.value.trim().toUpperCase());
        location.hash = `#/tasks${q.toString() ? `?${q}` : ""}`;
      },
    },
    el("label", {}, "Status", statusSelect),
    el("label", {}, "Type", typeInput),
    el("button", { type: "submit" }, "Filter"),
  );
  const idInput = el("input", { name: "id", placeholder: "24-hex task id", "aria-label": "task id", size: 26 });
  const search = el(
    "form",
    {
      class: "toolbar",
      onsubmit: (e) => {
        e.preventDefault();
        const id = idInput.value.trim().toLowerCase();
        if (!/^[0-9a-f]{24}$/.test(id)) return message(note, "A task id is 24 hexadecimal characters.");
        location.hash = `#/task/${id}`;
      },
    },
    el("label", {}, "Find a task", idInput),
    el("button", { type: "submit", class: "secondary" }, "Open"),
  );
  const redrive = el(
    "button",
    {
      type: "button",
      id: "redrive",
      onclick: async () => {
        const scope = type ? ` of type ${type}` : "";
        if (!confirm(`Requeue every FAILED task${scope}?`)) return;
        redrive.disabled = true;
        try {
          const out = await post("/queue/redrive", type ? { type, status: "FAILED" } : { status: "FAILED" });
          message(note, `Redrive: ${out.requeued} failed task(s) requeued.`, "notice");
          await load();
        } catch (err) {
          message(note, `Redrive refused: ${err.message}`);
        } finally {
          redrive.disabled = false;
        }
      },
    },
    "Redrive failed",
  );

  async function load() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (status) q.set("status", status);
    if (type) q.set("type", type);
    const cursor = cursors[cursors.length - 1];
    if (cursor) q.set("cursor", cursor);
    let page;
    try {
      page = await get(`/tasks?${q}`);
    } catch (err) {
      if (err.status === 400) return message(note, err.message);
      throw err;
    }
    body.replaceChildren(...page.tasks.map(row));
    if (!page.tasks.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No tasks.")));
    nextCursor = page.nextCursor;
    next.disabled = !nextCursor;
    prev.disabled = cursors.length <= 1;
    pageInfo.textContent = `page ${cursors.length}`;
  }
  next.addEventListener("click", () => { if (nextCursor) { cursors.push(nextCursor); load(); } });
  prev.addEventListener("click", () => { if (cursors.length > 1) { cursors.pop(); load(); } });

  main.replaceChildren(
    el("h1", {}, "Tasks"),
    el("div", { class: "toolbar" }, filters, search, redrive),
    note,
    el(
      "table",
      { id: "tasks" },
      el("thead", {}, el("tr", {}, ["id", "type", "status", "attempts", "created", "last error"].map((h) => el("th", {}, h)))),
      body,
    ),
    el("div", { class: "pager" }, prev, next, pageInfo),
  );
  return load;
}
