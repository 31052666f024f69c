// The new-integration wizard: 1 details (fields from api/schema), 2 server identity, 3 our public key, then
// (wizard_steps.js) 4 locations and 5 test, so a new integration ends tested and usable.
import { api, element, urls } from "./api.js";
import { NO_PERMISSION, onForbidden } from "./errors.js";
import { choiceLabel, fieldLabel, schemaFields, usesPassword } from "./schema.js";
import { beginSteps, leaveLocations, runTest } from "./wizard_steps.js";

const SCREENS = ["general", "server"];
const CONN_ID = { name: "conn_id", kind: "text", required: true, placeholder: "acme_exchange",
  help: "The connection id DAGs use (letters, digits, '_', '-', '.'); fixed after creation." };
const dialog = document.getElementById("wizard");
const form = document.getElementById("wizard-form");
const $ = (id) => document.getElementById(id);
let state = {}; // this opening's step, callbacks and schema fields

function fieldInput(field) {
  if (field.kind === "choice") {
    const group = element("div", null, "choices");
    group.setAttribute("role", "radiogroup");
    for (const choice of field.choices) {
      const label = element("label");
      const radio = Object.assign(document.createElement("input"), { type: "radio", name: field.name, value: choice });
      radio.checked = choice === field.default;
      label.append(radio, choiceLabel(field, choice) + (choice === field.default ? " (recommended)" : ""));
      group.append(label);
    }
    return group;
  }
  const input = document.createElement("input");
  input.id = `f-${field.name}`;
  input.name = field.name;
  input.type = field.secret ? "password" : field.kind === "integer" ? "number" : "text";
  if (field.secret) { input.autocomplete = "new-password"; } else { input.autocomplete = "off"; }
  if (field.kind === "integer") {
    if (field.minimum !== null) { input.min = field.minimum; }
    if (field.maximum !== null) { input.max = field.maximum; }
  }
  if (field.default !== null && field.default !== undefined) { input.value = field.default; }
  if (field.placeholder) { input.placeholder = field.placeholder; }
  return input;
}

function fieldBlock(field) {
  const block = element("div", null, "field");
  block.id = `field-${field.name}`;
  const label = element("label", fieldLabel(field.name) + (field.required ? " *" : ""));
  if (field.kind !== "choice") { label.htmlFor = `f-${field.name}`; }
  const error = element("p", "", "field-error");
  error.id = `err-${field.name}`;
  error.setAttribute("role", "alert");
  block.append(label, fieldInput(field), element("p", field.help, "help"), error);
  return block;
}

function stepOneFields() {
  return [CONN_ID, ...state.fields.filter((f) => SCREENS.includes(f.screen) && !f.generated)];
}

function authType() {
  const checked = form.querySelector('input[name="auth_type"]:checked');
  return checked ? checked.value : "ssh_key";
}

function syncPassword() {
  const block = $("field-password");
  if (block) { block.hidden = !usesPassword(authType()); }
}

function value(field) {
  if (field.kind === "choice") { return authType(); }
  const raw = $(`f-${field.name}`).value;
  if (field.secret) { return raw; }
  if (field.kind === "integer") { return raw.trim() === "" ? null : Number(raw); }
  return raw.trim();
}

function values() {
  const result = {};
  for (const field of stepOneFields()) {
    if (field.name === "conn_id" || (field.name === "password" && !usesPassword(authType()))) { continue; }
    const current = value(field);
    if (current !== "" && current !== null) { result[field.name] = current; }
  }
  return result;
}

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) { node.textContent = ""; }
  for (const node of form.querySelectorAll(".has-error")) { node.classList.remove("has-error"); }
  $("wizard-error").textContent = "";
}

function showError(name, message) {
  const block = name && $(`field-${name}`);
  const target = name === "expected_fingerprint" ? $("expected-fingerprint-error") : name && $(`err-${name}`);
  if (!target || !block) { $("wizard-error").textContent = message; return; }
  target.textContent = message;
  block.classList.add("has-error");
}

function goto(step) {
  state.step = step;
  for (const section of form.querySelectorAll("section[data-step]")) { section.hidden = Number(section.dataset.step) !== step; }
  for (const item of form.querySelectorAll("ol.steps li")) { item.classList.toggle("current", Number(item.dataset.step) === step); }
  $("wizard-back").hidden = ![2, 4, 5].includes(step); // not back over the creation
  $("wizard-cancel").hidden = step >= 3;
  $("wizard-next").textContent = { 1: "Next", 2: "Create integration", 3: "Next", 4: "Next", 5: "Done" }[step];
  dialog.dataset.step = String(step);
}

/** A 403: said in the wizard, and the page offers no more "New integration"; whether it was one. */
function refused(error) {
  return onForbidden(error, () => {
    $("wizard-error").textContent = NO_PERMISSION;
    state.callbacks.forbidden();
  });
}

async function fetchHostKey() {
  const missing = stepOneFields().filter((f) => f.required && (value(f) === "" || value(f) === null));
  for (const field of missing) { showError(field.name, `${fieldLabel(field.name)} is required`); }
  if (usesPassword(authType()) && !value({ name: "password", secret: true })) { showError("password", `${fieldLabel("password")} is required`); return; }
  if (missing.length) { return; }
  // the server's address and the weaker algorithms the new connection accepts, as typed in step 1: an old
  // server refused without them says which one it needs (the field's label)
  const { host, port = 22, legacy_algorithms: legacy = "" } = values();
  const body = { host, port, legacy_algorithms: legacy };
  try {
    const offer = await api(urls.hostKeyFetch(), { method: "POST", body });
    state.offer = offer;
    $("identity-server").textContent = `${body.host}:${body.port}`;
    $("host-algorithm").textContent = offer.algorithm;
    $("host-fingerprint").textContent = offer.fingerprint;
    const others = (offer.keys || []).slice(1);
    $("host-other-keys").replaceChildren(...others.map((key) => {
      const item = document.createElement("li");
      item.textContent = `${key.fingerprint} (${key.algorithm})`;
      return item;
    }));
    $("host-other-keys-box").hidden = !others.length;
    goto(2);
    $("expected-fingerprint").focus();
  } catch (error) {
    if (refused(error)) { return; }
    const onStepOne = stepOneFields().some((f) => f.name === error.field); // port, legacy_algorithms
    showError(onStepOne ? error.field : "host", error.message);
  }
}

async function create() {
  const tofu = $("trust-on-first-use").checked;
  const expected = $("expected-fingerprint").value.trim();
  if (!tofu && !expected) {
    showError("expected_fingerprint", "Paste the fingerprint the partner gave you, or tick “Trust on first use”");
    return;
  }
  const body = { conn_id: value(CONN_ID), values: values(),
    host_key: tofu ? { trust_on_first_use: true } : { expected_fingerprint: expected } };
  try {
    const created = await api(urls.connections(), { method: "POST", body });
    showCreated(created);
  } catch (error) {
    if (refused(error)) { return; }
    const onStepOne = stepOneFields().some((f) => f.name === error.field);
    const field = onStepOne ? error.field : error.status === 409 ? "conn_id" : "expected_fingerprint";
    if (field !== "expected_fingerprint") { goto(1); }
    showError(field, error.message);
  }
}

function showCreated(created) {
  state.created = created;
  $("created-id").textContent = created.conn_id;
  $("created-host-key").textContent = created.host_key_fingerprint || "";
  const key = created.ssh_key;
  $("created-ssh-key").hidden = !key;
  $("no-ssh-key").hidden = Boolean(key);
  $("public-key").value = key ? key.public_key : "";
  $("public-key-fingerprint").textContent = key ? `Key fingerprint: ${key.fingerprint}` : "";
  $("copy-status").textContent = "";
  beginSteps(created);
  goto(3);
  state.callbacks.created();
}

async function copyKey() {
  const text = $("public-key").value;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    $("public-key").select();
    document.execCommand("copy");
  }
  $("copy-status").textContent = "Copied to the clipboard";
}

function downloadKey() {
  const blob = new Blob([`${$("public-key").value}\n`], { type: "text/plain" });
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `${state.created.conn_id}.pub` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function toTest() {
  if (await leaveLocations()) {
    goto(5);
    await runTest();
  }
}

async function next(event) {
  event.preventDefault();
  const button = $("wizard-next");
  if (state.step === 5) { dialog.close(); return; }
  clearErrors();
  button.disabled = true;
  try {
    await { 1: fetchHostKey, 2: create, 3: async () => goto(4), 4: toTest }[state.step]();
  } finally {
    button.disabled = false;
  }
}

/** Open the wizard afresh; ``callbacks.created()`` after a creation, ``callbacks.forbidden()`` on a 403. */
export async function openWizard(callbacks) {
  let fields;
  try {
    fields = await schemaFields();
  } catch (error) {
    document.getElementById("integrations-error").textContent = error.message;
    return;
  }
  state = { step: 1, callbacks, fields };
  $("wizard-fields").replaceChildren(...stepOneFields().map(fieldBlock));
  $("expected-fingerprint").value = "";
  $("trust-on-first-use").checked = false;
  $("tofu-warning").hidden = true;
  clearErrors();
  syncPassword();
  goto(1);
  dialog.showModal();
  $("f-conn_id").focus();
}

form.addEventListener("submit", next);
form.addEventListener("input", (event) => { // editing a field withdraws its error
  const block = event.target.closest(".field");
  if (block) { block.classList.remove("has-error"); block.querySelector(".field-error").textContent = ""; }
});
form.addEventListener("change", (event) => { if (event.target.name === "auth_type") { syncPassword(); } });
$("trust-on-first-use").addEventListener("change", (event) => { $("tofu-warning").hidden = !event.target.checked; });
$("wizard-back").addEventListener("click", () => { clearErrors(); goto(state.step === 2 ? 1 : state.step - 1); });
$("wizard-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => { if (state.created) { state.callbacks.created(); } }); // its locations
$("copy-key").addEventListener("click", copyKey);
$("download-key").addEventListener("click", downloadKey);
