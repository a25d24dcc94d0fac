// The dashboard's shell: a hash router over the pages, and a refresh every few seconds
// (the page's data only, never a reload of the page).
import { el } from "./dom.js";
import * as enqueue from "./enqueue.js";
import * as overview from "./overview.js";
import * as task from "./task.js";
import * as tasks from "./tasks.js";
import * as workers from "./workers.js";

const REFRESH_MS = 3000;
const main = document.getElementById("main");
const status = document.getElementById("status");
let refresh = null;
let timer = null;
let generation = 0;

function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [path] = hash.split("?");
  const [page, arg] = path.split("/");
  for (const link of document.querySelectorAll("header nav a")) {
    link.classList.toggle("active", link.dataset.page === (page === "task" ? "tasks" : page));
  }
  if (page === "tasks") return tasks.render(main);
  if (page === "task" && arg) return task.render(main, arg);
  if (page === "workers") return workers.render(main);
  if (page === "enqueue") return enqueue.render(main);
  return overview.render(main);
}

async function tick(mine) {
  if (mine !== generation || !refresh) return;
  try {
    await refresh();
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.classList.remove("error");
  } catch (err) {
    status.textContent = `cannot reach the API: ${err.message}`;
    status.classList.add("error");
  }
  if (mine === generation) timer = setTimeout(() => tick(mine), REFRESH_MS);
}

function show() {
  clearTimeout(timer);
  generation += 1;
  refresh = null;
  try {
    refresh = route();
  } catch (err) {
    main.replaceChildren(el("p", { class: "error", role: "alert" }, err.message));
  }
  tick(generation);
}

window.addEventListener("hashchange", show);
show();
