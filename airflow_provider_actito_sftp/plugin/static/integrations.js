// The Overview / Integrations router and the Integrations list.
import { api, element, urls } from "./api.js";
import { NO_PERMISSION } from "./errors.js";
import { openIntegration } from "./integration.js";
import { sortable } from "./sortable.js";
import { NONE_VISIBLE, rights } from "./rights.js";
import { choiceLabel, schemaField, schemaFields } from "./schema.js";
import { openWizard } from "./wizard.js";

const VIEWS = ["overview", "integrations"];
let createRefused = false; // a creation was refused (403) though the general right allowed it

function statusCell(conn) {
  const cell = document.createElement("td");
  if (conn.error) {
    cell.append(element("span", "Invalid", "badge warning"), element("span", conn.error, "reason"));
  } else {
    cell.append(element("span", "OK", "badge ok"));
  }
  return cell;
}

function nameCell(conn) {
  const cell = document.createElement("td");
  const link = element("a", conn.conn_id, "conn-link");
  link.href = urls.integrationPage(conn.conn_id);
  cell.append(link);
  return cell;
}

function integrationRow(conn, authField) {
  const row = document.createElement("tr");
  row.dataset.connId = conn.conn_id;
  if (conn.error) {
    row.className = "invalid-row";
    const empty = element("td", "—");
    empty.colSpan = 7;
    row.append(nameCell(conn), empty, statusCell(conn));
    return row;
  }
  const locations = Object.entries(conn.locations || {}).map(([name, path]) => `${name}: ${path}`).join("\n");
  row.append(nameCell(conn), element("td", conn.display_name || ""), element("td", conn.entity || ""),
    element("td", `${conn.host}:${conn.port}`), element("td", conn.username || ""),
    element("td", choiceLabel(authField, conn.auth_type)), element("td", locations || "—"),
    element("td", "…", "last-exchange"), statusCell(conn));
  return row;
}

/** Fill a row's "Last exchange" cell from the connection's latest transfer try. */
async function showLastExchange(row) {
  const cell = row.querySelector("td.last-exchange");
  try {
    const activity = await api(urls.activity(row.dataset.connId, 1));
    const run = activity.runs[0];
    if (!run) { cell.textContent = "none yet"; return; }
    const direction = run.direction === "upload" ? "upload" : "download";
    const badge = element("span", run.state || "unknown", `badge ${run.state === "success" ? "ok" : "warning"}`);
    cell.replaceChildren(badge, ` ${direction}, ${String(run.end_date || run.start_date || "").slice(0, 16).replace("T", " ")}`);
  } catch (problem) {
    cell.textContent = problem.message;
  }
}

export async function loadIntegrations() {
  const body = document.querySelector("#integrations tbody");
  const error = document.getElementById("integrations-error");
  try {
    const [connections, may] = await Promise.all([api(urls.connections()), rights(),
      schemaFields().catch(() => null)]); // without the schema, the auth column shows the value itself
    const authField = schemaField("auth_type");
    const create = may.create && !createRefused;
    document.getElementById("new-integration").hidden = !create; // hidden in the HTML until known
    body.replaceChildren(...connections.map((conn) => integrationRow(conn, authField)));
    for (const row of body.querySelectorAll("tr:not(.invalid-row)")) { showLastExchange(row); }
    if (!connections.length) {
      const cell = element("td", create ? "No integration yet: create one with “New integration”." : NONE_VISIBLE);
      cell.colSpan = 9;
      const row = document.createElement("tr");
      row.append(cell);
      body.append(row);
    }
    error.textContent = "";
    document.getElementById("view-integrations").dataset.loaded = "true";
  } catch (problem) {
    error.textContent = problem.message;
  }
}

/** After a 403 on creation: say so once and offer no more "New integration". */
export function cannotCreate() {
  createRefused = true;
  document.getElementById("new-integration").hidden = true;
  const notice = document.getElementById("integrations-notice");
  notice.textContent = NO_PERMISSION;
  notice.classList.remove("success"); // a refusal: the warning colours
  notice.hidden = false;
}

function show(view, connId) {
  for (const node of document.querySelectorAll("[data-for-view]")) { node.hidden = node.dataset.forView !== view; }
  for (const link of document.querySelectorAll("nav.tabs a")) {
    if (link.dataset.view === view || (view === "integration" && link.dataset.view === "integrations")) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
  }
  if (view === "integrations") { loadIntegrations(); }
  if (view === "integration") { openIntegration(connId); }
}

function route() {
  const view = location.hash.replace(/^#\/?/, "");
  const page = /^integration\/(.+)$/.exec(view);
  if (page) {
    show("integration", decodeURIComponent(page[1]));
    return;
  }
  show(VIEWS.includes(view) ? view : "overview");
}

document.getElementById("new-integration").addEventListener("click", () => {
  openWizard({ created: loadIntegrations, forbidden: cannotCreate });
});
document.getElementById("open-integration").addEventListener("submit", (event) => {
  event.preventDefault();
  const connId = document.getElementById("open-conn-id").value.trim();
  if (connId) { location.hash = urls.integrationPage(connId); }
});
sortable(document.getElementById("integrations"));
window.addEventListener("hashchange", route);
route();
