// The integration page (#integration/<conn_id>): a header, a tab bar and a registry of tabs.
// Tab modules call registerTab(id, label, render); render(container, connection, ctx) draws the tab,
// with ctx = {reload(), api, canEdit, canDelete, forbidden()}: canEdit/canDelete come from the rights the
// server reports for this user (controls the user may not use are not drawn), forbidden() after a 403.
import { api, element, urls } from "./api.js";
import { NO_EDIT_PERMISSION, NO_READ_PERMISSION, onForbidden } from "./errors.js";
import { fieldLabel, schemaFields } from "./schema.js";

const tabs = [];
const TAB_MODULES = ["./tab_overview.js", "./tab_general.js", "./tab_server.js", "./tab_locations.js", "./tab_files.js"];
const ORDER = ["overview", "general", "server", "locations", "inbound", "outbound", "delete"];

/** Add a tab to the integration page (a later call with the same id replaces it). */
export function registerTab(id, label, render) {
  const index = tabs.findIndex((tab) => tab.id === id);
  const tab = { id, label, render };
  if (index >= 0) { tabs[index] = tab; } else { tabs.push(tab); }
}

function sorted() {
  const rank = (tab) => { const at = ORDER.indexOf(tab.id); return at < 0 ? ORDER.length - 1 : at; };
  return [...tabs].sort((a, b) => rank(a) - rank(b));
}

let loading = null;
function loadTabs() {
  if (!loading) {
    loading = Promise.all(TAB_MODULES.map(async (path) => {
      try { await import(path); } catch (problem) { console.warn(`integration page: ${path} not loaded`, problem); }
    }));
  }
  return loading;
}

const state = { connId: null, connection: null, current: null, denied: new Set() };

function statusBadge(connection) {
  if (connection.error) { return element("span", "Invalid", "badge warning"); }
  if (!connection.writable) { return element("span", "Read only", "badge warning"); }
  return element("span", "OK", "badge ok");
}

function drawHeader(connection) {
  const header = document.getElementById("integration-header");
  const title = element("h2", connection.display_name || connection.conn_id);
  title.id = "integration-title";
  const facts = element("dl", null, "integration-facts");
  const add = (label, value, id) => {
    const dd = typeof value === "string" ? element("dd", value) : Object.assign(document.createElement("dd"), {});
    if (typeof value !== "string") { dd.append(value); }
    dd.id = id;
    facts.append(element("dt", label), dd);
  };
  add(fieldLabel("conn_id"), connection.conn_id, "integration-conn-id");
  add(fieldLabel("entity"), connection.entity || "—", "integration-entity");
  add("Status", statusBadge(connection), "integration-status");
  const back = element("a", "← Integrations", "back");
  back.href = "#integrations";
  header.replaceChildren(back, title, facts);
  const notice = document.getElementById("integration-notice");
  const reason = !connection.writable ? readOnlyReason(connection) : !mayEdit(connection) ? NO_EDIT_PERMISSION : "";
  notice.textContent = reason;
  notice.hidden = !reason;
}

function readOnlyReason(connection) {
  const reason = `Read only: this connection is ${connection.read_only_reason}.`;
  return (connection.rights || {}).edit ? `${reason} Value changes can be downloaded as updated connection JSON `
    + "(General and Server configuration tabs); key actions need the actito-sftp CLI." : reason;
}

/** The user may change this connection: the server says so and no change was refused since. */
function mayEdit(connection) {
  const rights = connection.rights || {};
  return rights.edit !== false && !state.denied.has(connection.conn_id);
}

function context() {
  const connection = state.connection;
  const rights = connection.rights || {};
  return {
    api,
    reload,
    canEdit: Boolean(connection.writable) && mayEdit(connection),
    canDelete: Boolean(connection.writable) && rights.delete !== false && !state.denied.has(connection.conn_id),
    /** Call after a 403 on a change: the page turns read only. */
    forbidden() {
      state.denied.add(connection.conn_id);
      drawHeader(connection);
      drawTab();
    },
  };
}

function drawTabBar() {
  const bar = document.getElementById("integration-tabs");
  const list = sorted();
  if (!list.some((tab) => tab.id === state.current)) { state.current = list.length ? list[0].id : null; }
  bar.replaceChildren(...list.map((tab) => {
    const link = element("button", tab.label);
    link.type = "button";
    link.dataset.tab = tab.id;
    link.setAttribute("role", "tab");
    link.setAttribute("aria-selected", String(tab.id === state.current));
    link.addEventListener("click", () => { state.current = tab.id; drawTabBar(); drawTab(); });
    return link;
  }));
}

function drawTab() {
  const panel = document.getElementById("integration-panel");
  const tab = tabs.find((item) => item.id === state.current);
  const container = document.createElement("div");
  container.className = "tab-panel";
  container.dataset.panel = tab ? tab.id : "";
  panel.replaceChildren(container);
  if (!tab) { return; }
  try {
    tab.render(container, state.connection, context());
  } catch (problem) {
    container.append(element("p", `This tab could not be shown: ${problem.message}`, "form-error"));
  }
}

/** Fetch the connection again and redraw the header and the current tab. */
export async function reload() {
  const view = document.getElementById("view-integration");
  const error = document.getElementById("integration-error");
  try {
    state.connection = await api(urls.connection(state.connId));
    error.textContent = "";
  } catch (problem) {
    if (!onForbidden(problem, () => { error.textContent = NO_READ_PERMISSION; })) { error.textContent = problem.message; }
    view.dataset.loaded = "error";
    return;
  }
  drawHeader(state.connection);
  drawTabBar();
  drawTab();
  view.dataset.loaded = "true";
}

/** Open the page of one connection (called by the router). */
export async function openIntegration(connId) {
  const view = document.getElementById("view-integration");
  view.dataset.loaded = "false";
  if (state.connId !== connId) { state.current = null; }
  state.connId = connId;
  document.getElementById("integration-header").replaceChildren();
  document.getElementById("integration-panel").replaceChildren();
  await Promise.all([loadTabs(), schemaFields().catch(() => null)]); // tabs read labels from the schema
  await reload();
}
