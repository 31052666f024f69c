// Connections defined outside the metadata DB (an environment variable, a secrets backend) on the
// General and Server configuration tabs: their changes are downloaded as connection JSON, never saved.
import { api, element, urls } from "./api.js";
import { attempt, button, errorLine, statusLine } from "./tab_kit.js";

// --- Connections defined outside the metadata DB ----------------------------------------------------
// They cannot be saved from here. A user with the edit right changes the values and downloads the
// updated connection JSON (secrets left out: they never reach the browser) to store where it is defined.

const exportDenied = new Set(); // conn_ids whose connection-json call was refused (403) since the page loaded
export const KEY_ACTIONS_NOTE = "Key actions (generate or rotate our SSH key, set a password, re-pin the host key, "
  + "PGP keys) need the connection's secrets, which never reach the browser: use the actito-sftp CLI where the "
  + "connection is defined.";

/** A connection outside the metadata DB that the user may edit: its changes are downloaded, not saved. */
export function mayExport(connection) {
  return !connection.writable && (connection.rights || {}).edit === true && !exportDenied.has(connection.conn_id);
}

export function exportNote(id) {
  const text = "Changes to this connection cannot be saved here: “Download updated connection JSON” gives the "
    + "changed connection without its secrets, to store where it is defined.";
  return Object.assign(element("p", text, "help"), { id });
}

function saveJson(filename, data) {
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: "application/json" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function exportResult(prefix, answer) {
  const names = answer.secrets_left_out || [];
  const secrets = element("p", names.length
    ? `Left out (keep their values from the stored definition): ${names.join(", ")}.` : "No secret is set.");
  secrets.id = `${prefix}-export-secrets`;
  const nodes = [element("p", answer.instructions, "help"), secrets];
  if (answer.cli_command) {
    const line = element("p", "The same change with the CLI: ");
    const code = element("code", answer.cli_command);
    code.id = `${prefix}-export-cli`;
    line.append(code);
    nodes.push(line);
  }
  return nodes;
}

/** The "Download updated connection JSON" control; values() gives the changes (null: nothing to send). */
export function exportControls(prefix, container, connection, ctx, values) {
  const download = button("Download updated connection JSON", `${prefix}-export`, "primary");
  const status = statusLine(`${prefix}-export-status`);
  const result = element("div", null, "export-result");
  result.id = `${prefix}-export-result`;
  result.hidden = true;
  const filename = `${connection.conn_id}.connection.json`;
  download.addEventListener("click", async () => {
    const changes = values(status);
    if (!changes) { return; }
    download.disabled = true;
    status.textContent = "";
    result.hidden = true;
    const refused = { ...ctx, forbidden() { exportDenied.add(connection.conn_id); ctx.forbidden(); } };
    const answer = await attempt(refused, container, `${prefix}-error`, () => api(urls.connectionJson(connection.conn_id),
      { method: "POST", body: { values: changes } }));
    download.disabled = false;
    if (!answer) { return; }
    saveJson(filename, answer.connection);
    status.textContent = `Downloaded ${filename}: nothing was saved on the server.`;
    result.replaceChildren(...exportResult(prefix, answer));
    result.hidden = false;
  });
  const actions = element("div", null, "actions");
  actions.append(download, status);
  return [actions, result, errorLine(`${prefix}-error`)];
}

