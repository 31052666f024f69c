// The integration page's General, Server configuration and Delete tabs.
import { api, element } from "./api.js";
import { connectionUrl, registerTab } from "./integration.js";

const AUTH_LABELS = { ssh_key: "SSH key", password: "Password" };
const notes = new Map(); // conn_id -> a message to show once after the next redraw
let schema = null;

async function advancedFields() {
  if (!schema) { schema = api("api/schema").then((answer) => answer.fields.filter((f) => f.screen === "advanced")); }
  return schema;
}

function button(label, id, className) {
  return Object.assign(element("button", label, className), { type: "button", id });
}

function errorLine(id) {
  const node = element("p", "", "field-error");
  node.id = id;
  node.setAttribute("role", "alert");
  return node;
}

function section(title, id) {
  const node = element("section", null, "tab-section");
  node.id = id;
  node.append(element("h3", title));
  return node;
}

function field(id, label, input, help) {
  const wrapper = element("div", null, "field");
  const name = element("label", label);
  name.htmlFor = input.id;
  wrapper.append(name, input);
  if (help) { wrapper.append(element("p", help, "help")); }
  wrapper.append(errorLine(`err-${id}`));
  return wrapper;
}

function textInput(id, value, type = "text") {
  const node = Object.assign(document.createElement("input"), { id, type, value: value ?? "" });
  node.autocomplete = "off";
  node.spellcheck = false;
  return node;
}

function statusLine(id) {
  return Object.assign(element("span", "", "status"), { id, role: "status" });
}

/** Run a change; a 403 turns the page read only, other refusals are shown next to the control. */
async function attempt(ctx, container, fallback, work) {
  for (const node of container.querySelectorAll(".field-error")) { node.textContent = ""; }
  try {
    return await work();
  } catch (problem) {
    if (problem.status === 403) {
      ctx.forbidden();
      return undefined;
    }
    const target = problem.field && container.querySelector(`#err-${CSS.escape(problem.field)}`);
    (target || container.querySelector(`#${fallback}`)).textContent = problem.message;
    return undefined;
  }
}

function showNote(container, connection) {
  const note = notes.get(connection.conn_id);
  if (note) {
    notes.delete(connection.conn_id);
    container.prepend(Object.assign(element("p", note, "notice ok-notice"), { id: "integration-saved", role: "status" }));
  }
}

function facts(pairs) {
  const list = element("dl", null, "facts");
  for (const [label, value, id] of pairs) {
    const dd = element("dd", value);
    dd.id = id;
    list.append(element("dt", label), dd);
  }
  return list;
}

// --- General --------------------------------------------------------------------------------------

function drawGeneral(container, connection, ctx) {
  showNote(container, connection);
  const box = section("General", "general");
  box.append(facts([["Technical name", connection.conn_id, "general-conn-id"],
    ["Entity", connection.entity || "—", "general-entity"]]));
  const name = textInput("general-display_name", connection.display_name);
  name.disabled = !ctx.canEdit;
  box.append(field("display_name", "Display name", name, "The name shown in lists; the technical name never changes."));
  if (ctx.canEdit) {
    const save = button("Save", "general-save", "primary");
    save.addEventListener("click", async () => {
      save.disabled = true;
      const done = await attempt(ctx, container, "general-error", () => api(connectionUrl(connection.conn_id),
        { method: "PATCH", body: { values: { display_name: name.value.trim() } } }));
      save.disabled = false;
      if (done) { notes.set(connection.conn_id, "Saved."); await ctx.reload(); }
    });
    const actions = element("div", null, "actions");
    actions.append(save);
    box.append(actions, errorLine("general-error"));
  }
  container.append(box);
}

// --- Server configuration -------------------------------------------------------------------------

function valueText(value) {
  return Array.isArray(value) ? value.join(", ") : value === null || value === undefined ? "" : String(value);
}

function advancedInput(spec, value, disabled) {
  let input;
  if (spec.kind === "boolean") {
    input = Object.assign(document.createElement("input"), { type: "checkbox", checked: Boolean(value) });
  } else {
    input = textInput("", valueText(value), spec.kind === "integer" ? "number" : "text");
    if (spec.minimum != null) { input.min = spec.minimum; }
    if (spec.maximum != null) { input.max = spec.maximum; }
  }
  input.id = `server-${spec.name}`;
  input.disabled = disabled;
  return input;
}

function readInput(spec, input) {
  if (spec.kind === "boolean") { return input.checked; }
  if (spec.kind === "integer") { return input.value.trim() === "" ? null : Number(input.value); }
  if (spec.kind === "list") { return input.value.split(",").map((item) => item.trim()).filter(Boolean); }
  return input.value.trim();
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

async function drawServer(container, connection, ctx) {
  showNote(container, connection);
  const disabled = !ctx.canEdit;
  const main = section("Server", "server-main");
  const specs = [
    { name: "host", label: "Host", kind: "text" },
    { name: "port", label: "Port", kind: "integer", minimum: 1, maximum: 65535 },
    { name: "username", label: "Username", kind: "text" },
  ];
  const inputs = new Map();
  for (const spec of specs) {
    const input = advancedInput(spec, connection[spec.name], disabled);
    inputs.set(spec.name, [spec, input]);
    main.append(field(spec.name, spec.label, input));
  }
  const auth = document.createElement("select");
  auth.id = "server-auth_type";
  auth.disabled = disabled;
  for (const [value, label] of Object.entries(AUTH_LABELS)) {
    auth.append(Object.assign(document.createElement("option"), { value, textContent: label }));
  }
  auth.value = connection.auth_type;
  inputs.set("auth_type", [{ name: "auth_type", kind: "choice" }, auth]);
  main.append(field("auth_type", "Authentication", auth));
  const password = textInput("server-password", "", "password");
  password.placeholder = (connection.secrets_set || []).includes("password") ? "(set: leave empty to keep it)" : "";
  password.autocomplete = "new-password";
  const passwordField = field("password", "Set a new password", password, "Write only: the current password is never shown.");
  const syncAuth = () => { passwordField.hidden = auth.value !== "password"; };
  auth.addEventListener("change", syncAuth);
  syncAuth();
  if (!disabled) { main.append(passwordField); }

  const advanced = section("Advanced parameters", "server-advanced");
  try {
    for (const spec of await advancedFields()) {
      const input = advancedInput(spec, connection[spec.name], disabled);
      inputs.set(spec.name, [spec, input]);
      advanced.append(spec.kind === "boolean" ? checkboxField(spec, input, spec.help)
        : field(spec.name, spec.label, input, spec.help));
    }
  } catch (problem) {
    advanced.append(element("p", problem.message, "form-error"));
  }
  container.append(main, advanced);
  if (!disabled) {
    const save = button("Save", "server-save", "primary");
    const status = statusLine("server-status");
    save.addEventListener("click", async () => {
      const values = {};
      for (const [name, [spec, input]] of inputs) {
        const value = readInput(spec, input);
        if (!same(value, connection[name])) { values[name] = value; }
      }
      if (auth.value === "password" && password.value) { values.password = password.value; }
      if (!Object.keys(values).length) { status.textContent = "Nothing changed."; return; }
      save.disabled = true;
      const done = await attempt(ctx, container, "server-error", () => api(connectionUrl(connection.conn_id),
        { method: "PATCH", body: { values } }));
      save.disabled = false;
      if (done) { notes.set(connection.conn_id, "Saved."); await ctx.reload(); }
    });
    const actions = element("div", null, "actions");
    actions.append(save, status);
    container.append(actions, errorLine("server-error"));
  }
  container.append(hostKeySection(container, connection, ctx));
  if (connection.auth_type === "ssh_key") { container.append(sshKeySection(container, connection, ctx)); }
  if (!disabled) { container.append(testSection(container, connection, ctx)); }
}

function checkboxField(spec, input, help) {
  const wrapper = element("div", null, "field");
  const label = element("label", null, "checkbox");
  label.append(input, spec.label);
  wrapper.append(label, element("p", help, "help"), errorLine(`err-${spec.name}`));
  return wrapper;
}

function hostKeySection(container, connection, ctx) {
  const box = section("Server identity (host key)", "server-host-key");
  const pins = element("ul", null, "fingerprints");
  pins.id = "host-key-fingerprints";
  for (const fingerprint of connection.host_key || []) { pins.append(element("li", fingerprint, "mono")); }
  if (!pins.children.length) { pins.append(element("li", "No host key pinned.")); }
  box.append(pins);
  if (!ctx.canEdit) { return box; }
  const repin = button("Re-pin", "repin-fetch");
  const offer = element("div", null, "repin");
  offer.hidden = true;
  const actions = element("div", null, "actions");
  actions.append(repin);
  box.append(actions, offer, errorLine("repin-error"));
  repin.addEventListener("click", async () => {
    repin.disabled = true;
    const seen = await attempt(ctx, container, "repin-error", () => api("api/host-key/fetch",
      { method: "POST", body: { host: connection.host, port: connection.port } }));
    repin.disabled = false;
    if (!seen) { return; }
    const expected = textInput("repin-expected", "");
    expected.placeholder = "SHA256:...";
    const tofu = Object.assign(document.createElement("input"), { type: "checkbox", id: "repin-tofu" });
    const tofuLabel = element("label", null, "checkbox");
    tofuLabel.append(tofu, " Trust on first use (pin it without checking with the partner)");
    const confirm = button("Pin this key", "repin-confirm", "primary");
    const shown = element("code", seen.fingerprint);
    shown.id = "repin-fingerprint";
    const intro = element("p", `The server presents a ${seen.algorithm} key: `);
    intro.append(shown);
    offer.replaceChildren(intro, field("expected_fingerprint", "Fingerprint given by the partner", expected), tofuLabel, confirm);
    offer.hidden = false;
    confirm.addEventListener("click", async () => {
      const body = tofu.checked ? { trust_on_first_use: true } : { expected_fingerprint: expected.value.trim() };
      const pinned = await attempt(ctx, container, "repin-error", () => api(connectionUrl(connection.conn_id, "host-key"),
        { method: "POST", body }));
      if (pinned) { notes.set(connection.conn_id, `Host key ${pinned.fingerprint} pinned.`); await ctx.reload(); }
    });
  });
  return box;
}

function keyBox(id, line) {
  return Object.assign(document.createElement("textarea"), { id, readOnly: true, rows: 3, value: line, className: "key" });
}

function sshKeySection(container, connection, ctx) {
  const box = section("Our SSH public key", "server-ssh-key");
  const active = connection.ssh_key;
  if (active) {
    box.append(element("p", `Active key ${active.fingerprint}:`), keyBox("ssh-active-key", active.public_key));
  } else {
    box.append(element("p", "No SSH key yet."));
  }
  const actions = element("div", null, "actions");
  const download = element("a", "Download", "button");
  download.id = "ssh-download";
  download.href = connectionUrl(connection.conn_id, "ssh-public-key");
  download.download = `${connection.conn_id}.pub`;
  if (active) { actions.append(download); }
  const pending = connection.ssh_pending_key;
  if (ctx.canEdit) {
    const rotate = button("Generate a new key pair", "ssh-rotate");
    actions.append(rotate);
    rotate.addEventListener("click", async () => {
      rotate.disabled = true;
      const made = await attempt(ctx, container, "ssh-error", () => api(connectionUrl(connection.conn_id, "ssh-key/rotate"),
        { method: "POST", body: { restart: true } }));
      rotate.disabled = false;
      if (made) { notes.set(connection.conn_id, `New key ${made.fingerprint} created: install it on the server.`); await ctx.reload(); }
    });
  }
  box.append(actions);
  if (ctx.canEdit) {
    box.append(element("p", "A new key pair does not cut anything off: the new key is offered beside the old one "
      + "until the server accepts it. Send its line to the partner, then press Activate to drop the old key.", "help"));
  }
  if (pending) {
    const wrap = element("div", null, "pending-key");
    wrap.id = "ssh-pending";
    wrap.append(element("p", `Pending key ${pending.fingerprint}: add this line to the account's authorized_keys:`),
      keyBox("ssh-pending-key", pending.public_key));
    const buttons = element("div", null, "actions");
    const copy = button("Copy", "ssh-pending-copy");
    const status = statusLine("ssh-copy-status");
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(pending.public_key); } catch {
        wrap.querySelector("textarea").select();
        document.execCommand("copy");
      }
      status.textContent = "Copied to the clipboard";
    });
    buttons.append(copy);
    if (ctx.canEdit) {
      const activate = button("Activate", "ssh-activate", "primary");
      activate.addEventListener("click", async () => {
        activate.disabled = true;
        const done = await attempt(ctx, container, "ssh-error", () => api(connectionUrl(connection.conn_id, "ssh-key/rotate"),
          { method: "POST", body: {} }));
        activate.disabled = false;
        if (done) { notes.set(connection.conn_id, `Key ${done.fingerprint} is now active; the old key was dropped.`); await ctx.reload(); }
      });
      buttons.append(activate);
    }
    buttons.append(status);
    wrap.append(buttons);
    box.append(wrap);
  }
  box.append(errorLine("ssh-error"));
  return box;
}

function testSection(container, connection, ctx) {
  const box = section("Test", "server-test-section");
  const run = button("Test", "server-test");
  const results = element("ul", null, "checks");
  results.id = "test-results";
  box.append(element("p", "Connect, check the host key, log in and check every location.", "help"), run, results,
    errorLine("test-error"));
  run.addEventListener("click", async () => {
    run.disabled = true;
    results.replaceChildren(element("li", "Testing…"));
    const answer = await attempt(ctx, container, "test-error", () => api(connectionUrl(connection.conn_id, "test"),
      { method: "POST", body: {} }));
    run.disabled = false;
    if (!answer) { results.replaceChildren(); return; }
    results.replaceChildren(...answer.checks.map((check) => element("li",
      `${check.ok ? "✓" : "✗"} ${check.name}: ${check.message}`, check.ok ? "ok" : "fail")));
    results.dataset.ok = String(answer.ok);
  });
  return box;
}

// --- Delete ---------------------------------------------------------------------------------------

function drawDelete(container, connection, ctx) {
  const box = section("Delete this integration", "delete");
  if (!ctx.canEdit) {
    box.append(element("p", "You cannot delete this integration.", "help"));
    container.append(box);
    return;
  }
  box.append(element("p", "Deleting removes the connection, our SSH and PGP keys and its import ledgers. "
    + "This cannot be undone."));
  const confirm = textInput("delete-confirm", "");
  confirm.placeholder = connection.conn_id;
  box.append(field("confirm", `Type the technical name “${connection.conn_id}” to confirm`, confirm));
  const remove = button("Delete", "delete-button", "danger");
  remove.disabled = true;
  confirm.addEventListener("input", () => { remove.disabled = confirm.value !== connection.conn_id; });
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    const done = await attempt(ctx, container, "delete-error", () => api(connectionUrl(connection.conn_id),
      { method: "DELETE", body: { confirm: confirm.value } }));
    if (!done) { remove.disabled = confirm.value !== connection.conn_id; return; }
    const r = done.removed;
    const notice = document.getElementById("integrations-notice");
    notice.textContent = `Deleted ${r.connection}: ${r.ssh_keys} SSH key(s), ${r.pgp_keys} PGP key(s) `
      + `and ${r.ledger_variables} ledger variable(s) removed.`;
    notice.hidden = false;
    notice.classList.add("removed");
    location.hash = "#integrations";
  });
  const actions = element("div", null, "actions");
  actions.append(remove);
  box.append(actions, errorLine("delete-error"));
  container.append(box);
}

registerTab("general", "General", drawGeneral);
registerTab("server", "Server configuration", (container, connection, ctx) => { drawServer(container, connection, ctx); });
registerTab("delete", "Delete", drawDelete);
