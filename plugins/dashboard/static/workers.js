// Workers: every live worker sharing the store (GET /workers), and the session slots of
// each one's runtime (the Playwright runtime has them), as each worker last registered them.
import { get } from "./api.js";
import { ago, el, time } from "./dom.js";

function workerRow(w) {
  return el(
    "tr",
    { "data-worker": w.workerId },
    el("td", {}, w.workerId),
    el("td", {}, `${w.host} (pid ${w.pid})`),
    el("td", {}, w.running ? "working" : "draining"),
    el("td", { class: "num" }, `${w.inflight}/${w.maxConcurrent}`),
    el("td", {}, (w.types || ["every type"]).join(", ")),
    el("td", { title: w.lastSeenAt }, ago(w.lastSeenAt)),
    el("td", {}, time(w.startedAt)),
  );
}

function slotRow(s) {
  const detail = s.state === "cooling" ? ["until ", time(s.coolUntil), s.reason ? ` (${s.reason})` : ""] : s.reason;
  return el(
    "tr",
    { "data-slot": s.name },
    el("td", {}, s.name),
    el("td", { "data-state": s.state }, s.state),
    el("td", {}, detail),
    el("td", { class: "num" }, String(s.leases)),
  );
}

function workerSlots(w) {
  return el(
    "section",
    { class: "worker-slots", "data-worker-slots": w.workerId },
    el("h3", {}, `${w.workerId} (${w.host}, pid ${w.pid})`),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["slot", "state", "detail", "leases"].map((h) => el("th", {}, h)))),
      el("tbody", {}, w.slots.map(slotRow)),
    ),
  );
}

export function render(main) {
  const workers = el("tbody");
  const slots = el("div", { id: "slots" });
  main.replaceChildren(
    el("h1", {}, "Workers"),
    el(
      "table",
      { id: "workers" },
      el("thead", {}, el("tr", {}, ["worker", "host", "state", "inflight", "types", "last heartbeat", "started"].map((h) => el("th", {}, h)))),
      workers,
    ),
    el("h2", {}, "Runtime session slots"),
    slots,
  );
  return async () => {
    const registry = await get("/workers");
    workers.replaceChildren(...registry.workers.map(workerRow));
    if (!registry.workers.length) workers.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No live worker.")));
    const slotted = registry.workers.filter((w) => w.slots);
    slots.replaceChildren(...slotted.map(workerSlots));
    if (!slotted.length) {
      slots.append(el("p", { class: "muted" }, "No worker's runtime has session slots (the Playwright runtime's show once a task started it)."));
    }
  };
}
