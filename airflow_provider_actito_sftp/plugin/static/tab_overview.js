// The integration page's Overview tab: this connection's cards and three charts over 30 days (a sentence
// instead when nothing ran), the last file moved each way, its latest transfer tries linked to their Airflow
// run and log pages, and the files those tries refused or failed, with the reasons.
import { api, element, urls } from "./api.js";
import { cardValues, drawCharts, formatBytes, hasTransfers } from "./charts.js";
import { registerTab } from "./integration.js";
import { section } from "./tab_kit.js";

const DAYS = 30;
const drawn = {};
const DIRECTION_LABELS = { download: "Download", upload: "Upload" };
const CARDS = [["total", "Total requests"], ["rate", "Success rate"], ["types", "Downloads / uploads"],
  ["volume", "Data down / up"]];
const CHARTS = [["types", "Requests by type and status"], ["requests", "Requests per day"],
  ["volume", "Data transferred per day"]];

/** A link to a page of Airflow's own UI, opened in the whole window. */
function airflowLink(label, segments, params) {
  const link = element("a", label, "airflow-link");
  link.href = urls.airflowPage(segments, params);
  link.target = "_top";
  return link;
}

function runLink(run) {
  return airflowLink(run.run_id, ["dags", run.dag_id, "runs", run.run_id]);
}

/** The task instance's page (Airflow opens it on its logs), on the try that pushed the numbers. */
function logLink(run) {
  const segments = ["dags", run.dag_id, "runs", run.run_id, "tasks", run.task_id];
  if (run.map_index >= 0) { segments.push("mapped", run.map_index); }
  return airflowLink(`${run.dag_id} › ${run.task_id}`, segments, { try_number: run.try_number || null });
}

function when(iso) {
  return iso ? String(iso).replace("T", " ").slice(0, 19) : "—";
}

function cell(content, className) {
  const node = element("td", null, className);
  node.append(content);
  return node;
}

function drawCards(box, overview) {
  const cards = element("div", null, "cards");
  for (const [name, value] of Object.entries(cardValues(overview))) {
    const label = CARDS.find(([key]) => key === name)[1];
    const card = element("div", null, "card");
    const number = element("span", value, "value");
    number.id = `overview-${name}`;
    card.append(element("span", label, "label"), number);
    cards.append(card);
  }
  box.append(cards);
  if (!hasTransfers(overview)) {
    box.append(element("p", `No transfers in the last ${DAYS} days: import and export tasks using this connection `
      + "are counted here once they have run.", "notice"));
    return;
  }
  const figures = element("div", null, "charts");
  const canvases = {};
  for (const [name, caption] of CHARTS) {
    const figure = document.createElement("figure");
    canvases[name] = Object.assign(document.createElement("canvas"), { id: `overview-chart-${name}` });
    figure.append(element("figcaption", caption), canvases[name]);
    figures.append(figure);
  }
  box.append(figures);
  drawCharts(canvases, overview, drawn);
}

function drawLastFiles(box, lastFiles) {
  const list = element("dl", null, "facts");
  for (const direction of ["download", "upload"]) {
    const run = lastFiles[direction];
    const value = element("dd");
    value.id = `last-${direction}`;
    if (run) {
      value.append(element("span", run.last_file, "mono"),
        ` (${formatBytes(run.last_file_bytes)}, ${when(run.end_date || run.start_date)}, location ${run.location}) `,
        logLink(run));
    } else {
      value.textContent = "none yet";
    }
    list.append(element("dt", direction === "download" ? "Last file downloaded" : "Last file uploaded"), value);
  }
  box.append(list);
}

function runRow(run) {
  const row = element("tr");
  row.dataset.task = run.task_id;
  row.dataset.state = run.state || "";
  const state = element("span", run.state || "unknown", `badge ${run.state === "success" ? "ok" : "warning"}`);
  row.append(element("td", when(run.start_date)), cell(logLink(run)), cell(runLink(run)),
    element("td", DIRECTION_LABELS[run.direction] || run.direction), element("td", run.location),
    element("td", `${run.succeeded} ok, ${run.failed} failed`), element("td", formatBytes(run.wire_bytes)), cell(state));
  return row;
}

function drawRuns(box, runs) {
  if (!runs.length) {
    box.append(element("p", "No transfers yet: import and export tasks using this connection are listed here "
      + "once they have run.", "help empty"));
    return;
  }
  const table = element("table", null, "runs");
  table.id = "runs-table";
  const head = element("tr");
  for (const title of ["Started", "Task (logs)", "Run", "Direction", "Location", "Files", "Data", "State"]) {
    head.append(element("th", title));
  }
  const rows = element("tbody");
  rows.append(...runs.map(runRow));
  const thead = element("thead");
  thead.append(head);
  table.append(thead, rows);
  box.append(table);
}

function drawProblems(box, runs) {
  const problems = runs.flatMap((run) => run.problems.map((problem) => ({ run, ...problem })));
  if (!problems.length) {
    box.append(element("p", "None among the latest runs.", "help empty"));
    return;
  }
  const table = element("table", null, "runs");
  table.id = "problems-table";
  const head = element("tr");
  for (const title of ["When", "File", "Outcome", "Reason", "Task (logs)"]) { head.append(element("th", title)); }
  const thead = element("thead");
  thead.append(head);
  const rows = element("tbody");
  for (const { run, file, outcome, reason } of problems) {
    const row = element("tr");
    row.append(element("td", when(run.start_date)), cell(element("span", file || "(the whole try)", "mono")),
      cell(element("span", outcome, `badge ${outcome === "refused" ? "error" : "warning"}`)), element("td", reason),
      cell(logLink(run)));
    rows.append(row);
  }
  table.append(thead, rows);
  box.append(table);
}

async function drawOverview(container, connection) {
  const numbers = section(`Last ${DAYS} days`, "overview-numbers");
  const lastFiles = section("Last file each way", "overview-last-files");
  const runs = section("Latest runs", "overview-runs");
  const problems = section("Files refused or failed in these runs", "overview-problems");
  const body = element("div");
  body.id = "tab-overview";
  body.append(numbers, lastFiles, runs, problems);
  container.append(body);
  try {
    const [overview, activity] = await Promise.all([
      api(urls.connectionOverview(connection.conn_id, DAYS)),
      api(urls.activity(connection.conn_id, 10)),
    ]);
    drawCards(numbers, overview);
    drawLastFiles(lastFiles, activity.last_files);
    drawRuns(runs, activity.runs);
    drawProblems(problems, activity.runs);
    body.dataset.rendered = "true";
  } catch (problem) {
    body.append(element("p", `The overview could not be loaded: ${problem.message}`, "form-error"));
    body.dataset.rendered = "error";
  }
}

registerTab("overview", "Overview", drawOverview);
