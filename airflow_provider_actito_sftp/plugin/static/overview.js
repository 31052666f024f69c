"use strict";
// The Actito SFTP overview page: connections, overview numbers and three charts (Chart.js, shipped locally).

const charts = {};
const COLORS = { ok: "#2f9e44", fail: "#e03131", down: "#1c7ed6", up: "#f08c00", total: "#5c7cfa" };

function text(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) { throw new Error(`${path}: ${response.status} ${response.statusText}`); }
  return response.json();
}

function draw(id, config) {
  if (charts[id]) { charts[id].destroy(); }
  charts[id] = new Chart(document.getElementById(id), config);
}

function renderOverview(overview) {
  document.getElementById("total").textContent = overview.total_requests;
  document.getElementById("rate").textContent =
    overview.success_rate === null ? "–" : `${(overview.success_rate * 100).toFixed(1)} %`;
  document.getElementById("types").textContent = `${overview.downloads} / ${overview.uploads}`;
  document.getElementById("volume").textContent = `${formatBytes(overview.bytes_down)} / ${formatBytes(overview.bytes_up)}`;
  const byType = overview.by_type_status;
  draw("chart-types", {
    type: "bar",
    data: {
      labels: ["Downloads", "Uploads"],
      datasets: [
        { label: "Success", data: [byType.download.succeeded, byType.upload.succeeded], backgroundColor: COLORS.ok },
        { label: "Fail", data: [byType.download.failed, byType.upload.failed], backgroundColor: COLORS.fail },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const days = overview.per_day.map((point) => point.day.slice(5));
  draw("chart-requests", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "Success", data: overview.per_day.map((p) => p.succeeded), backgroundColor: COLORS.ok },
        { label: "Fail", data: overview.per_day.map((p) => p.failed), backgroundColor: COLORS.fail },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  draw("chart-volume", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        { label: "Downloaded", data: overview.per_day.map((p) => p.bytes_down), borderColor: COLORS.down, tension: 0.2 },
        { label: "Uploaded", data: overview.per_day.map((p) => p.bytes_up), borderColor: COLORS.up, tension: 0.2 },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { callback: (value) => formatBytes(value) } } } },
  });
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
