// Enqueue: one form per task type, generated from the request schemas of the OpenAPI
// document (POST .../tasks/<route>), so a plugin's task type appears without dashboard code.
import { openapi, post } from "./api.js";
import { el, message, taskLink } from "./dom.js";

const REF = "#/components/schemas/";

function resolve(doc, schema) {
  while (schema && schema.$ref && schema.$ref.startsWith(REF)) schema = doc.components.schemas[schema.$ref.slice(REF.length)];
  return schema || {};
}

// anyOf [X, null] is an optional X: blank leaves the field out
function unwrap(doc, schema) {
  schema = resolve(doc, schema);
  const options = schema.anyOf || schema.oneOf;
  if (options) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return { ...resolve(doc, real[0]), description: schema.description, default: schema.default, title: schema.title };
  }
  return schema;
}

// a field: {node, read() -> [present, value]}
function field(doc, name, raw, required, path) {
  const schema = unwrap(doc, raw);
  const id = `f-${path.join("-")}`;
  const hint = schema.description || "";
  const label = (control) => el("div", { class: "field" }, el("label", { for: id }, `${name}${required ? " *" : ""}`), control, hint ? el("span", { class: "hint" }, hint) : "");
  if (schema.type === "object" && schema.properties) {
    const inner = form(doc, schema, path);
    return {
      node: el("fieldset", {}, el("legend", {}, name), hint ? el("span", { class: "hint" }, hint) : "", inner.nodes),
      read: () => {
        const value = inner.read();
        return [Object.keys(value).length > 0 || required, value];
      },
    };
  }
  if (schema.enum) {
    const select = el("select", { id, name }, required ? [] : el("option", { value: "" }, "—"), schema.enum.map((v) => el("option", { value: String(v), selected: v === schema.default }, String(v))));
    return { node: label(select), read: () => [select.value !== "" && select.value !== String(schema.default ?? ""), select.value] };
  }
  if (schema.type === "boolean") {
    const box = el("input", { id, name, type: "checkbox", checked: schema.default === true });
    return { node: label(box), read: () => [box.checked !== (schema.default === true), box.checked] };
  }
  if (schema.type === "integer" || schema.type === "number") {
    const input = el("input", { id, name, type: "number", step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, placeholder: schema.default ?? "" });
    return { node: label(input), read: () => [input.value !== "", Number(input.value)] };
  }
  if (schema.type === "string") {
    const kind = schema.format === "date" ? "date" : "text";
    const placeholder = schema.format === "date-time" ? "2030-01-01T00:00:00Z" : schema.default ?? "";
    const input = el("input", { id, name, type: kind, placeholder, required: required || undefined });
    return { node: label(input), read: () => [input.value !== "", input.value] };
  }
  if (schema.type === "array" && unwrap(doc, schema.items || {}).type === "string") {
    const input = el("input", { id, name, placeholder: "comma, separated" });
    return { node: label(input), read: () => [input.value.trim() !== "", input.value.split(",").map((s) => s.trim()).filter(Boolean)] };
  }
  const area = el("textarea", { id, name, rows: 3, placeholder: "JSON" });
  return { node: label(area), read: () => [area.value.trim() !== "", JSON.parse(area.value)] };
}

function form(doc, schema, path) {
  const required = new Set(schema.required || []);
  const fields = Object.entries(schema.properties || {}).map(([name, raw]) => [name, field(doc, name, raw, required.has(name), [...path, name])]);
  return {
    nodes: fields.map(([, f]) => f.node),
    read: () => {
      const out = {};
      for (const [name, f] of fields) {
        const [present, value] = f.read();
        if (present) out[name] = value;
      }
      return out;
    },
  };
}

function problems(err) {
  const details = Array.isArray(err.details) ? err.details : [];
  return el("div", { class: "error", role: "alert" }, el("p", {}, `Refused (${err.status}): ${err.message}`), details.length ? el("ul", {}, details.map((d) => el("li", {}, `${(d.loc || []).join(".")}: ${d.msg}`))) : "");
}

function typeForm(doc, path, op) {
  const schema = resolve(doc, op.requestBody.content["application/json"].schema);
  const route = path.split("/").pop();
  const inner = form(doc, schema, [route]);
  const result = el("div", { class: "result" });
  const node = el(
    "form",
    {
      class: "enqueue",
      "data-route": route,
      onsubmit: async (e) => {
        e.preventDefault();
        let body;
        try {
          body = inner.read();
        } catch (err) {
          return message(result, `A JSON field does not parse: ${err.message}`);
        }
        try {
          const created = await post(path, body);
          result.replaceChildren(el("p", { class: "notice", role: "status" }, `Created ${created.type} task `, taskLink(created.taskId), ` (${created.status}).`));
        } catch (err) {
          result.replaceChildren(problems(err));
        }
      },
    },
    el("h2", {}, op.summary || route),
    op.description ? el("p", { class: "muted" }, op.description) : "",
    inner.nodes,
    el("div", {}, el("button", { type: "submit" }, "Enqueue")),
    result,
  );
  return node;
}

export function render(main) {
  main.replaceChildren(el("h1", {}, "Enqueue"), el("p", { class: "muted" }, "Loading the task types…"));
  (async () => {
    const doc = await openapi();
    const forms = Object.entries(doc.paths)
      .filter(([, ops]) => ops.post && ops.post.operationId && ops.post.operationId.startsWith("enqueue_"))
      .map(([path, ops]) => typeForm(doc, path, ops.post));
    main.replaceChildren(el("h1", {}, "Enqueue"), ...(forms.length ? forms : [el("p", { class: "muted" }, "No task type has an HTTP route.")]));
  })().catch((err) => main.replaceChildren(el("h1", {}, "Enqueue"), el("p", { class: "error", role: "alert" }, err.message)));
  return null; // not refreshed: it would clear what is being typed
}
