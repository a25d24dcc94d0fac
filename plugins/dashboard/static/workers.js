// Workers: every live worker sharing the store (GET /workers), and the session slots of the
// runtime in the API's own process (GET /runtime/slots: the Playwright runtime has them).
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
    el("h2", {}, "Runtime session slots (this server's process)"),
    slots,
  );
  return async () => {
    const [registry, runtime] = await Promise.all([get("/workers"), get("/runtime/slots")]);
    workers.replaceChildren(...registry.workers.map(workerRow));
    if (!registry.workers.length) workers.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No live worker.")));
    if (runtime.slots === null) {
      const why = runtime.started ? "has no session slots" : "has not started in this process";
      slots.replaceChildren(el("p", { class: "muted" }, `The ${runtime.runtime} runtime ${why}.`));
      return;
    }
    slots.replaceChildren(
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, ["slot", "state", "detail", "leases"].map((h) => el("th", {}, h)))),
        el("tbody", {}, runtime.slots.map(slotRow)),
      ),
    );
  };
}
