// Every call the dashboard makes: the API's envelope, and api.token from the tab's session.
// The token is asked for once (a dialog), kept in sessionStorage and sent as
// "Authorization: Bearer"; it is never put in a URL.

const PREFIX = document.querySelector('meta[name="roost-prefix"]').content;
const TOKEN_KEY = "roost.dashboard.token";

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.details = error && error.details;
  }
}

let asking = null; // one prompt for every call refused at once

function askToken(refused) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const message = document.getElementById("token-error");
  message.hidden = !refused;
  message.textContent = refused
    ? "That token was refused by the server (401). Check api.token and try again."
    : "";
  input.value = "";
  asking = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      form.removeEventListener("submit", submit);
      dialog.close();
      asking = null;
      resolve();
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
  });
  if (!dialog.open) dialog.showModal();
  input.focus();
  return asking;
}

export function apiPath(path) {
  return path.startsWith("/api/") ? path : PREFIX + path;
}

// enveloped: false for the OpenAPI document, which is the document itself
export async function call(method, path, body, enveloped = true) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(apiPath(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    if (resp.status === 401) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      await askToken(Boolean(token));
      continue;
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (err) {
      throw new ApiError(resp.status, { message: `the server answered HTTP ${resp.status}` });
    }
    if (!enveloped && resp.ok) return data;
    if (!data.ok) throw new ApiError(resp.status, data.error);
    return data.data;
  }
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const openapi = () => call("GET", "/api/v4/openapi.json", undefined, false);
