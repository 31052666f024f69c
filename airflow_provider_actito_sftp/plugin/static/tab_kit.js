// Small building blocks shared by the integration page's Locations, Inbound and Outbound tabs.
import { api, element } from "./api.js";

// The tabs' styles, loaded once by whichever tab module comes first (the page shell need not know them).
if (!document.querySelector('link[href$="files.css"]')) {
  const sheet = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "static/files.css" });
  document.head.append(sheet);
}

/** The connection's API path, with an optional suffix ("locations/inbound", "pgp-key/rotate"). */
export function connectionPath(connection, suffix = "") {
  const base = `api/connections/${encodeURIComponent(connection.conn_id)}`;
  return suffix ? `${base}/${suffix}` : base;
}

/** Call the API for a change; on a 403 the page turns read only (``ctx.forbidden()`` redraws the tab). */
export async function change(ctx, path, method, body) {
  try {
    return await api(path, { method, body });
  } catch (problem) {
    if (problem.status === 403) {
      if (ctx && typeof ctx.forbidden === "function") { ctx.forbidden(); }
      problem.handled = Boolean(ctx && typeof ctx.forbidden === "function");
    }
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
  draw(container, await api(connectionPath(connection)), ctx);
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
