// The Actito SFTP overview page: connections, overview numbers and three charts (see charts.js).
import { cardValues, drawCharts } from "./charts.js";

const charts = {};

function text(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) { throw new Error(`${path}: ${response.status} ${response.statusText}`); }
  return response.json();
}

function renderOverview(overview) {
  for (const [id, value] of Object.entries(cardValues(overview))) { document.getElementById(id).textContent = value; }
  const canvas = (id) => document.getElementById(id);
  drawCharts({ types: canvas("chart-types"), requests: canvas("chart-requests"), volume: canvas("chart-volume") },
    overview, charts);
  document.body.dataset.rendered = "true";
}

function keyLinks(conn) {
  const keys = document.createElement("td");
  const id = encodeURIComponent(conn.conn_id);
  if (conn.ssh_key) {
    const link = text("a", "SSH public key");
    link.className = "button"; link.href = `api/connections/${id}/ssh-public-key`;
    keys.append(link);
  }
  if (conn.secrets_set.includes("inbound_pgp_private_keys")) {
    const link = text("a", "PGP public key");
    link.className = "button"; link.href = `api/connections/${id}/pgp-public-key`;
    keys.append(link);
  }
  return keys;
}

// One row per connection, as the API describes it (field names of the connection schema); a connection
// that does not validate comes as {conn_id, error} and shows the error.
function connectionRow(conn) {
  const row = document.createElement("tr");
  if (conn.error) {
    const problem = text("td", conn.error);
    problem.colSpan = 8;
    problem.className = "invalid";
    row.append(text("td", conn.conn_id), problem);
    return row;
  }
  row.append(text("td", conn.conn_id), text("td", conn.display_name), text("td", conn.entity || ""),
    text("td", `${conn.host}:${conn.port}`), text("td", conn.auth_type),
    text("td", Object.entries(conn.locations).map(([name, path]) => `${name}: ${path}`).join("\n")),
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
  const connection = document.getElementById("connection").value;
  const entity = document.getElementById("entity").value;
  const days = document.getElementById("days").value || 30;
  const path = connection
    ? `api/connections/${encodeURIComponent(connection)}/overview?days=${days}`
    : `api/overview?days=${days}${entity ? `&entity=${encodeURIComponent(entity)}` : ""}`;
  try {
    renderOverview(await getJson(path));
    document.getElementById("error").textContent = "";
  } catch (error) {
    document.getElementById("error").textContent = String(error);
  }
}

async function main() {
  try {
    renderConnections(await getJson("api/connections"));
  } catch (error) {
    document.getElementById("error").textContent = String(error);
  }
  for (const id of ["connection", "entity", "days"]) {
    document.getElementById(id).addEventListener("change", refresh);
  }
  await refresh();
}

main();
