// Small DOM helpers: elements are built with textContent, never from HTML strings, so no
// task payload, error or tweet text can inject markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status }, status);
}

export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(seconds);
  const text =
    abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400
      ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

export function time(iso) {
  return iso ? el("time", { datetime: iso, title: iso }, `${iso.replace("T", " ").slice(0, 19)} (${ago(iso)})`) : "";
}

export function taskLink(id) {
  return el("a", { href: `#/task/${id}`, class: "task-link" }, id);
}

export function message(node, text, kind = "error") {
  node.replaceChildren(text ? el("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text) : "");
}
