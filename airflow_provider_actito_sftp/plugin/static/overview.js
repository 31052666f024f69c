// The Actito SFTP overview page: connections, overview numbers and three charts (see charts.js). With no
// connection or no transfer in the range it says so instead of drawing empty charts; an invalid Days value or
// a failed request shows the reason and no numbers or charts (never stale ones under an error).
import { api, urls } from "./api.js";
import { cardValues, clearCharts, drawCharts, hasTransfers } from "./charts.js";
import { sortable } from "./sortable.js";
import { NONE_VISIBLE, rights } from "./rights.js";

const charts = {};
const DAYS = { min: 1, max: 366 };
let connectionCount = null; // unknown until the list has loaded
let mayCreate = false; // the user may create connections (known before the first rendering)
let latestRequest = 0; // only the answer to the latest request is shown (typing in Days sends several)

function text(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

function showCards(values) {
  for (const [id, value] of Object.entries(values)) { document.getElementById(id).textContent = value; }
}

/** Instead of the charts: a sentence (null: the charts themselves). */
function showInsteadOfCharts(sentence) {
  const empty = document.getElementById("overview-empty");
  empty.textContent = sentence || "";
  empty.hidden = !sentence;
  document.getElementById("charts").hidden = Boolean(sentence);
  if (sentence) { clearCharts(charts); }
}

function showNothing() {
  showCards({ total: "–", rate: "–", types: "–", volume: "–" });
  showInsteadOfCharts(null);
  document.getElementById("charts").hidden = true;
  clearCharts(charts);
}

function renderOverview(overview, days) {
  showCards(cardValues(overview));
  if (connectionCount === 0 && !mayCreate) {
    showInsteadOfCharts(NONE_VISIBLE);
  } else if (connectionCount === 0) {
    showInsteadOfCharts("No Actito SFTP connection yet: create one with New integration on the Integrations tab "
      + "(or `actito-sftp connection create` on the command line). Its transfers are counted here once they run.");
  } else if (!hasTransfers(overview)) {
    showInsteadOfCharts(`No transfers in the last ${days} day${days === 1 ? "" : "s"}: import and export tasks `
      + "using these connections are counted here once they have run.");
  } else {
    showInsteadOfCharts(null);
    const canvas = (id) => document.getElementById(id);
    drawCharts({ types: canvas("chart-types"), requests: canvas("chart-requests"), volume: canvas("chart-volume") },
      overview, charts);
  }
  document.body.dataset.rendered = "true";
}

/** The Days filter as a number, or null (with the reason shown next to it) when it is not one. */
function chosenDays() {
  const input = document.getElementById("days");
  const raw = input.value.trim();
  const days = Number(raw);
  const valid = /^[0-9]+$/.test(raw) && days >= DAYS.min && days <= DAYS.max;
  document.getElementById("days-error").textContent = valid ? "" : `Days: a whole number from ${DAYS.min} to ${DAYS.max}`;
  input.setAttribute("aria-invalid", String(!valid));
  return valid ? days : null;
}

function keyLinks(conn) {
  const keys = document.createElement("td");
  if (conn.ssh_key) {
    const link = text("a", "SSH public key");
    link.className = "button"; link.href = urls.sshPublicKey(conn.conn_id);
    keys.append(link);
  }
  if (conn.secrets_set.includes("inbound_pgp_private_keys")) {
    const link = text("a", "PGP public key");
    link.className = "button"; link.href = urls.pgpPublicKey(conn.conn_id);
    keys.append(link);
  }
  return keys;
}

// One row per connection, as the API describes it (field names of the connection schema), its technical name
// linked to the integration page (latest runs, their logs, the last file each way); a connection that does
// not validate comes as {conn_id, error} and shows a warning with the reason.
function connectionRow(conn) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  const link = text("a", conn.conn_id);
  link.href = urls.integrationPage(conn.conn_id);
  name.append(link);
  if (conn.error) {
    const problem = text("td", `⚠ Does not validate: ${conn.error}`);
    problem.colSpan = 8;
    problem.className = "invalid";
    row.dataset.invalid = "true";
    row.append(name, problem);
    return row;
  }
  row.append(name, text("td", conn.display_name), text("td", conn.entity || ""),
    text("td", `${conn.host}:${conn.port}`), text("td", conn.auth_type),
    text("td", Object.entries(conn.locations).map(([location, path]) => `${location}: ${path}`).join("\n")),
    text("td", conn.inbound_pgp_required ? "PGP required" : "PGP optional"),
    text("td", `${conn.outbound_lock ? `lock ${conn.outbound_lock_suffix}` : "no lock"}, PGP ${conn.outbound_pgp ? "on" : "off"}`),
    keyLinks(conn));
  return row;
}

function renderConnections(connections) {
  const body = document.querySelector("#connections tbody");
  body.replaceChildren();
  const entities = new Set();
  const connectionSelect = document.getElementById("connection");
  for (const conn of connections) {
    entities.add(conn.entity);
    body.append(connectionRow(conn));
    const option = text("option", conn.display_name ? `${conn.display_name} (${conn.conn_id})` : conn.conn_id);
    option.value = conn.conn_id;
    connectionSelect.append(option);
  }
  const entitySelect = document.getElementById("entity");
  for (const entity of [...entities].filter(Boolean).sort()) {
    const option = text("option", entity);
    option.value = entity;
    entitySelect.append(option);
  }
}

async function refresh() {
  const request = ++latestRequest;
  const connection = document.getElementById("connection").value;
  const entity = document.getElementById("entity").value;
  const days = chosenDays();
  if (days === null) {
    showNothing();
    return;
  }
  const path = connection ? urls.connectionOverview(connection, days) : urls.overview(days, entity);
  try {
    const overview = await api(path);
    if (request !== latestRequest) { return; }
    renderOverview(overview, days);
    document.getElementById("error").textContent = "";
  } catch (error) {
    if (request !== latestRequest) { return; }
    showNothing();
    document.getElementById("error").textContent = `The overview could not be loaded: ${error.message}`;
  }
}

async function main() {
  try {
    const [connections, may] = await Promise.all([api(urls.connections()), rights()]);
    mayCreate = may.create;
    connectionCount = connections.length;
    renderConnections(connections);
  } catch (error) {
    document.getElementById("error").textContent = `The connections could not be loaded: ${error.message}`;
  }
  for (const id of ["connection", "entity"]) {
    document.getElementById(id).addEventListener("change", refresh);
  }
  document.getElementById("days").addEventListener("input", refresh);
  await refresh();
}

sortable(document.getElementById("connections"));
main();
