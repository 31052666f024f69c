// Small building blocks shared by the integration page's Locations, Inbound and Outbound tabs.
import { api, element, urls } from "./api.js";
import { onForbidden } from "./errors.js";

// The tabs' styles, loaded once by whichever tab module comes first (the page shell need not know them).
if (!document.querySelector('link[href$="files.css"]')) {
  const sheet = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "static/files.css" });
  document.head.append(sheet);
}

/** Call the API for a change; on a 403 the page turns read only (``ctx.forbidden()`` redraws the tab) and the
 * rejection is marked ``handled`` (nothing more to show). */
export async function change(ctx, path, method, body) {
  try {
    return await api(path, { method, body });
  } catch (problem) {
    onForbidden(problem, ctx && ctx.forbidden);
    throw problem;
  }
}

/** Whether edit controls are shown: the user may edit and the connection lives in the metadata DB. */
export function editable(connection, ctx) {
  return Boolean(ctx && ctx.canEdit) && connection.writable !== false;
}

/** After a change: the page's reload, or (without one) the connection fetched again and the tab redrawn. */
export async function refresh(container, connection, ctx, draw) {
  if (ctx && typeof ctx.reload === "function") {
    await ctx.reload();
    return;
  }
  draw(container, await api(urls.connection(connection.conn_id)), ctx);
}

export function button(label, id, className) {
  const node = element("button", label, className);
  node.type = "button";
  if (id) { node.id = id; }
  return node;
}

export function errorLine(id) {
  const node = element("p", "", "field-error");
  node.id = id;
  node.setAttribute("role", "alert");
  return node;
}

/** A labelled checkbox; ``disabled`` when read only. */
export function toggle(id, label, checked, disabled) {
  const wrapper = element("label", null, "checkbox");
  const input = Object.assign(document.createElement("input"), { type: "checkbox", id, checked: Boolean(checked) });
  input.disabled = Boolean(disabled);
  wrapper.append(input, label);
  return { wrapper, input };
}

export function section(title, id) {
  const node = element("section", null, "tab-section");
  if (id) { node.id = id; }
  node.append(element("h3", title));
  return node;
}

/** A date as "2026-11-29" (ISO dates from the API), or "never". */
export function day(iso) {
  return iso ? String(iso).slice(0, 10) : "never";
}

// --- Fields, notes and change attempts of the General, Server configuration and Delete tabs ----------

const notes = new Map(); // conn_id -> a message to show once after the next redraw

/** Show ``text`` once at the top of the tab after the next redraw (e.g. "Saved."). */
export function noteAfterRedraw(connection, text) {
  notes.set(connection.conn_id, text);
}

export function field(id, label, input, help) {
  const wrapper = element("div", null, "field");
  const name = element("label", label);
  name.htmlFor = input.id;
  wrapper.append(name, input);
  if (help) { wrapper.append(element("p", help, "help")); }
  wrapper.append(errorLine(`err-${id}`));
  return wrapper;
}

export function textInput(id, value, type = "text") {
  const node = Object.assign(document.createElement("input"), { id, type, value: value ?? "" });
  node.autocomplete = "off";
  node.spellcheck = false;
  return node;
}

export function statusLine(id) {
  return Object.assign(element("span", "", "status"), { id, role: "status" });
}

/** Run a change; a 403 turns the page read only, other refusals are shown next to the control. */
export async function attempt(ctx, container, fallback, work) {
  for (const node of container.querySelectorAll(".field-error")) { node.textContent = ""; }
  try {
    return await work();
  } catch (problem) {
    if (onForbidden(problem, ctx.forbidden)) { return undefined; }
    const target = problem.field && container.querySelector(`#err-${CSS.escape(problem.field)}`);
    (target || container.querySelector(`#${fallback}`)).textContent = problem.message;
    return undefined;
  }
}

export function showNote(container, connection) {
  const note = notes.get(connection.conn_id);
  if (note) {
    notes.delete(connection.conn_id);
    container.prepend(Object.assign(element("p", note, "notice success"), { id: "integration-saved", role: "status" }));
  }
}

export function facts(pairs) {
  const list = element("dl", null, "facts");
  for (const [label, value, id] of pairs) {
    const dd = element("dd", value);
    dd.id = id;
    list.append(element("dt", label), dd);
  }
  return list;
}

