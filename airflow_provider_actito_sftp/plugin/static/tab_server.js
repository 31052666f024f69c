// The integration page's Server configuration tab: connection values, advanced parameters, the pinned
// host key (re-pin), our SSH key (download, rotation) and the Test report.
import { api, element, urls } from "./api.js";
import { registerTab } from "./integration.js";
import { exportControls, exportNote, KEY_ACTIONS_NOTE, mayExport } from "./tab_external.js";
import {
  attempt, button, errorLine, field, noteAfterRedraw, section, showNote, statusLine, textInput,
} from "./tab_kit.js";
import { choiceLabel, fieldLabel, schemaField, schemaFields, usesKey, usesPassword } from "./schema.js";

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
  let fields = [];
  let schemaProblem = null;
  try { fields = await schemaFields(); } catch (problem) { schemaProblem = problem; }
  showNote(container, connection);
  const exporting = !ctx.canEdit && mayExport(connection);
  const disabled = !ctx.canEdit && !exporting;
  if (!connection.writable) {
    container.append(Object.assign(element("p", KEY_ACTIONS_NOTE, "notice"), { id: "server-key-actions-note" }));
  }
  const main = section("Server", "server-main");
  const specs = [
    { name: "host", kind: "text" },
    { name: "port", kind: "integer", minimum: 1, maximum: 65535 },
    { name: "username", kind: "text" },
  ];
  const inputs = new Map();
  for (const spec of specs) {
    const input = advancedInput(spec, connection[spec.name], disabled);
    inputs.set(spec.name, [spec, input]);
    main.append(field(spec.name, fieldLabel(spec.name), input));
  }
  const auth = document.createElement("select");
  auth.id = "server-auth_type";
  auth.disabled = disabled;
  const authField = schemaField("auth_type") || { choices: [connection.auth_type] };
  for (const value of authField.choices) {
    auth.append(Object.assign(document.createElement("option"), { value, textContent: choiceLabel(authField, value) }));
  }
  auth.value = connection.auth_type;
  inputs.set("auth_type", [{ name: "auth_type", kind: "choice" }, auth]);
  main.append(field("auth_type", fieldLabel("auth_type"), auth));
  const password = textInput("server-password", "", "password");
  password.placeholder = (connection.secrets_set || []).includes("password") ? "(set: leave empty to keep it)" : "";
  password.autocomplete = "new-password";
  const passwordField = field("password", "Set a new password", password,
    "Write only: the current password is never shown. Enter it again when you change the host or port: "
    + "a stored password is only sent to the server it was entered for.");
  const syncAuth = () => { passwordField.hidden = !usesPassword(auth.value); };
  auth.addEventListener("change", syncAuth);
  syncAuth();
  if (ctx.canEdit) { main.append(passwordField); }
  // the weaker algorithms accepted from an old server: the schema's label and help say they are weaker
  const legacy = schemaField("legacy_algorithms");
  if (legacy) {
    const input = advancedInput(legacy, connection[legacy.name], disabled);
    inputs.set(legacy.name, [legacy, input]);
    main.append(field(legacy.name, legacy.label, input, legacy.help));
  }

  const advanced = section("Advanced parameters", "server-advanced");
  if (schemaProblem) { advanced.append(element("p", schemaProblem.message, "form-error")); }
  for (const spec of fields.filter((f) => f.screen === "advanced")) {
    const input = advancedInput(spec, connection[spec.name], disabled);
    inputs.set(spec.name, [spec, input]);
    advanced.append(spec.kind === "boolean" ? checkboxField(spec, input, spec.help)
      : field(spec.name, spec.label, input, spec.help));
  }
  container.append(main, advanced);
  const changed = () => {
    const values = {};
    for (const [name, [spec, input]] of inputs) {
      const value = readInput(spec, input);
      if (!same(value, connection[name])) { values[name] = value; }
    }
    return values;
  };
  if (ctx.canEdit) {
    const save = button("Save", "server-save", "primary");
    const status = statusLine("server-status");
    save.addEventListener("click", async () => {
      const values = changed();
      if (usesPassword(auth.value) && password.value) { values.password = password.value; }
      if (!Object.keys(values).length) { status.textContent = "Nothing changed."; return; }
      save.disabled = true;
      const done = await attempt(ctx, container, "server-error", () => api(urls.connection(connection.conn_id),
        { method: "PATCH", body: { values } }));
      save.disabled = false;
      if (done) {
        noteAfterRedraw(connection, done.password_removed ? "Saved. The password was removed: SSH key "
          + "authentication does not use it." : "Saved.");
        await ctx.reload();
      }
    });
    const actions = element("div", null, "actions");
    actions.append(save, status);
    container.append(actions, errorLine("server-error"));
  } else if (exporting) {
    const values = (status) => {
      const changes = changed();
      if (Object.keys(changes).length) { return changes; }
      status.textContent = "Nothing changed.";
      return null;
    };
    container.append(exportNote("server-export-note"), ...exportControls("server", container, connection, ctx, values));
  }
  container.append(hostKeySection(container, connection, ctx));
  if (usesKey(connection.auth_type)) { container.append(sshKeySection(container, connection, ctx)); }
  if (ctx.canEdit) { container.append(testSection(container, connection, ctx)); }
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
    const seen = await attempt(ctx, container, "repin-error", () => api(urls.hostKeyFetch(),
      { method: "POST", body: { host: connection.host, port: connection.port,
        legacy_algorithms: connection.legacy_algorithms || [] } }));
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
    offer.replaceChildren(intro, field("expected_fingerprint", "Fingerprint given by the partner", expected), tofuLabel);
    // A stored password is only sent to the server it was entered for: a new pin needs it again.
    const password = textInput("repin-password", "", "password");
    password.autocomplete = "new-password";
    if (usesPassword(connection.auth_type) && (connection.secrets_set || []).includes("password")) {
      offer.append(field("password", fieldLabel("password"), password,
        "Enter the account's password again: it is sent only to the server whose key is pinned."));
    }
    offer.append(confirm);
    offer.hidden = false;
    confirm.addEventListener("click", async () => {
      const body = tofu.checked ? { trust_on_first_use: true } : { expected_fingerprint: expected.value.trim() };
      if (password.value) { body.password = password.value; }
      // errors within this section: its own password field, not the one of the server form above
      const pinned = await attempt(ctx, box, "repin-error", () => api(urls.hostKey(connection.conn_id),
        { method: "POST", body }));
      if (pinned) { noteAfterRedraw(connection, `Host key ${pinned.fingerprint} pinned.`); await ctx.reload(); }
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
  download.href = urls.sshPublicKey(connection.conn_id);
  download.download = `${connection.conn_id}.pub`;
  // ProFTPD (mod_sftp) and some commercial servers read only the RFC 4716 form in their authorized keys
  const rfc4716 = element("a", "Download for ProFTPD (RFC 4716)", "button");
  rfc4716.id = "ssh-download-rfc4716";
  rfc4716.href = urls.sshPublicKey(connection.conn_id, "rfc4716");
  rfc4716.download = `${connection.conn_id}.rfc4716.pub`;
  if (active) { actions.append(download, rfc4716); }
  const pending = connection.ssh_pending_key;
  if (ctx.canEdit) {
    const rotate = button("Generate a new key pair", "ssh-rotate");
    actions.append(rotate);
    rotate.addEventListener("click", async () => {
      rotate.disabled = true;
      // the first key pair is generated; later ones start a rotation (the active key keeps working)
      const step = active ? ["rotate", { restart: true }] : ["generate", {}];
      const made = await attempt(ctx, container, "ssh-error", () => api(urls.sshKey(connection.conn_id, step[0]),
        { method: "POST", body: step[1] }));
      rotate.disabled = false;
      if (made) { noteAfterRedraw(connection, `New key ${made.fingerprint} created: install it on the server.`); await ctx.reload(); }
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
        const done = await attempt(ctx, container, "ssh-error", () => api(urls.sshKey(connection.conn_id, "rotate"),
          { method: "POST", body: {} }));
        activate.disabled = false;
        if (done) { noteAfterRedraw(connection, `Key ${done.fingerprint} is now active; the old key was dropped.`); await ctx.reload(); }
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
    const answer = await attempt(ctx, container, "test-error", () => api(urls.test(connection.conn_id),
      { method: "POST", body: {} }));
    run.disabled = false;
    if (!answer) { results.replaceChildren(); return; }
    results.replaceChildren(...answer.checks.map((check) => element("li",
      `${check.ok ? "✓" : "✗"} ${check.name}: ${check.message}`, check.ok ? "ok" : "fail")));
    results.dataset.ok = String(answer.ok);
  });
  return box;
}

registerTab("server", "Server configuration", (container, connection, ctx) => { drawServer(container, connection, ctx); });
