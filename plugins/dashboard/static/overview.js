// Overview: the counts now (queue/stats, and per type: queue/types) and the last hour per
// minute (queue/series).
import { get } from "./api.js";
import { lineChart } from "./charts.js";
import { ago, el } from "./dom.js";

const STATUSES = ["pending", "running", "done", "failed", "cancelled", "total"];

function cards(stats) {
  return el(
    "div",
    { class: "cards", id: "counts" },
    STATUSES.map((s) =>
      el(
        "a",
        { class: "card", href: s === "total" ? "#/tasks" : `#/tasks?status=${s.toUpperCase()}`, "data-count": s },
        el("div", { class: "label" }, s),
        el("div", { class: `value s-${s}` }, String(stats[s])),
      ),
    ),
  );
}

const TYPE_COLUMNS = ["pending", "running", "done", "failed", "cancelled", "total"];

function typeTable(types) {
  const link = (type, status, n) =>
    n ? el("a", { href: `#/tasks?type=${encodeURIComponent(type)}${status ? `&status=${status}` : ""}` }, String(n)) : "0";
  return el(
    "table",
    { id: "by-type" },
    el("thead", {}, el("tr", {}, ["type", ...TYPE_COLUMNS, "oldest due"].map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      types.map((t) =>
        el(
          "tr",
          { "data-type": t.type },
          el("td", {}, t.type),
          TYPE_COLUMNS.map((c) =>
            el("td", { "data-column": c }, link(t.type, c === "total" ? "" : c.toUpperCase(), t[c])),
          ),
          el("td", { title: t.oldestDueAt || "" }, t.oldestDueAt ? ago(t.oldestDueAt) : ""),
        ),
      ),
    ),
  );
}

function charts(series) {
  const m = series.minutes;
  return el(
    "div",
    { class: "charts", id: "charts" },
    lineChart("finished", "Tasks finished per minute", m, [
      { name: "done", cls: "s-done", key: "done" },
      { name: "retried", cls: "s-retried", key: "retried" },
      { name: "failed", cls: "s-failed", key: "failed" },
      { name: "cancelled", cls: "s-cancelled", key: "cancelled" },
    ]),
    lineChart("depth", "Queue depth", m, [
      { name: "pending", cls: "s-pending", key: "pending" },
      { name: "running", cls: "s-running", key: "running" },
    ]),
    lineChart("wait", "Wait (due → claimed)", m, [
      { name: "p50", cls: "s-wait", key: "waitP50" },
      { name: "p95", cls: "s-retried", key: "waitP95" },
    ], "s"),
    lineChart("run", "Run time", m, [
      { name: "p50", cls: "s-run", key: "runP50" },
      { name: "p95", cls: "s-retried", key: "runP95" },
    ], "s"),
    lineChart("retry", "Retry rate", m, [{ name: "retries per attempt", cls: "s-retried", key: "retryRate" }], "%"),
  );
}

export function render(main) {
  main.replaceChildren(
    el("h1", {}, "Overview"),
    el("div", { id: "counts" }),
    el("h2", {}, "By type"),
    el("div", { id: "by-type" }),
    el("h2", {}, "The last hour, per minute"),
    el("div", { id: "charts" }),
  );
  return async () => {
    const [stats, types, series] = await Promise.all([
      get("/queue/stats"),
      get("/queue/types"),
      get("/queue/series"),
    ]);
    main.querySelector("#counts").replaceWith(cards(stats));
    main.querySelector("#by-type").replaceWith(typeTable(types.types));
    main.querySelector("#charts").replaceWith(charts(series));
  };
}
