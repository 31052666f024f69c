// The new-integration wizard's steps once the integration exists: 4 Locations (named folders, checked on the
// server as the Locations tab does) and 5 Test (each check in words; "Test again" once our key is installed).
import { api, element, urls } from "./api.js";
import { NO_CHANGE_PERMISSION, onForbidden } from "./errors.js";
import { NAME_HELP, PATH_HELP, pathProblem } from "./tab_locations.js";

const $ = (id) => document.getElementById(id);
const KEY_REFUSED = /refused (?:SSH key|ssh_key) authentication/; // our key is not installed yet
const CHECK_NEEDS_KEY = "The partner's server does not accept our SSH key yet, so the folder cannot be checked: "
  + "install the public key of step 3 on their server first, or untick “Check on the server” to add the location "
  + "now (the Test step checks it once the key is installed).";
const NOT_CHECKED = "not checked: ";
let current = null; // { connId, publicKey (null: password), locations: Map name -> path }

function textInput(id, placeholder) {
  const node = Object.assign(document.createElement("input"), { type: "text", id, placeholder });
  node.autocomplete = "off";
  node.spellcheck = false;
  return node;
}

function fieldBlock(id, label, control, help) {
  const block = element("div", null, "field");
  block.id = `field-${id}`;
  const caption = element("label", label);
  caption.htmlFor = id;
  const error = element("p", "", "field-error");
  error.id = `err-${id}`;
  error.setAttribute("role", "alert");
  block.append(caption, control, element("p", help, "help"), error);
  return block;
}

function showFieldError(id, message) {
  $(`err-${id}`).textContent = message || "";
  $(`field-${id}`).classList.toggle("has-error", Boolean(message));
}

function drawLocationList() {
  const items = [...current.locations].map(([name, path]) => {
    const item = element("li", `${name}: ${path}`);
    item.dataset.location = name;
    return item;
  });
  $("wizard-locations").replaceChildren(...(items.length ? items : [element("li", "No location yet.", "help")]));
}

/** Step 4's form: the locations added so far, a name and a path, and the server check (on by default). */
function drawLocationsStep() {
  const list = element("ul", null, "wizard-locations");
  list.id = "wizard-locations";
  const fields = element("div", null, "location-fields");
  fields.append(fieldBlock("wizard-location-name", "Name", textInput("wizard-location-name", "inbound"), NAME_HELP),
    fieldBlock("wizard-location-path", "Path", textInput("wizard-location-path", "/inbound"), PATH_HELP));
  const check = Object.assign(document.createElement("input"), { type: "checkbox", id: "wizard-location-check" });
  check.checked = true;
  const checkLabel = element("label", null, "checkbox");
  checkLabel.append(check, "Check on the server that the folder exists");
  const add = Object.assign(element("button", "Add location"), { type: "button", id: "wizard-location-add" });
  add.addEventListener("click", addLocation);
  const actions = element("div", null, "actions");
  actions.append(add);
  $("wizard-locations-step").replaceChildren(
    element("p", "Name the folders on the partner's server that DAGs read from and write to. You can skip this "
      + "and add them later on the integration's Locations tab."), list, fields, checkLabel, actions);
  for (const input of fields.querySelectorAll("input")) { // Enter adds the location (it does not leave the step)
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); addLocation(); } });
  }
  drawLocationList();
}

/** Add the location typed in step 4 (PUT, checked on the server if asked); whether it was added. */
async function addLocation() {
  const name = $("wizard-location-name").value.trim();
  const path = $("wizard-location-path").value.trim();
  showFieldError("wizard-location-name", name ? "" : "Enter a name, e.g. inbound");
  showFieldError("wizard-location-path", pathProblem(path));
  $("wizard-error").textContent = "";
  if (!name || pathProblem(path)) { return false; }
  if (current.locations.has(name)) {
    showFieldError("wizard-location-name", `There is already a location “${name}”`);
    return false;
  }
  const controls = [...$("wizard-locations-step").querySelectorAll("input, button")];
  for (const control of controls) { control.disabled = true; }
  try {
    await api(urls.location(current.connId, name),
      { method: "PUT", body: { path, check: $("wizard-location-check").checked } });
  } catch (failure) {
    if (onForbidden(failure, () => { $("wizard-error").textContent = NO_CHANGE_PERMISSION; })) { return false; }
    if (KEY_REFUSED.test(failure.message)) { $("wizard-error").textContent = CHECK_NEEDS_KEY; return false; }
    showFieldError(/location name /.test(failure.message) ? "wizard-location-name" : "wizard-location-path",
      failure.message);
    return false;
  } finally {
    for (const control of controls) { control.disabled = false; }
  }
  current.locations.set(name, path);
  $("wizard-location-name").value = "";
  $("wizard-location-path").value = "";
  drawLocationList();
  $("wizard-location-name").focus();
  return true;
}

/** Leaving step 4: a location typed but not added yet is added first; whether the wizard may go on. */
export async function leaveLocations() {
  const typed = $("wizard-location-name").value.trim() || $("wizard-location-path").value.trim();
  return typed ? addLocation() : true;
}

/** One check of the test in words: "Authentication: failed (the server refused ...)". */
function checkLine(check) {
  const skipped = !check.ok && check.message.startsWith(NOT_CHECKED);
  const verdict = check.ok ? "passed" : skipped ? "not checked" : "failed";
  const reason = skipped ? check.message.slice(NOT_CHECKED.length) : check.message;
  const title = check.name.charAt(0).toUpperCase() + check.name.slice(1);
  const line = element("li", `${title}: ${verdict} (${reason})`, check.ok ? "ok" : "fail");
  Object.assign(line.dataset, { check: check.name, result: verdict });
  return line;
}

/** Step 5: test the integration (POST .../test) and show each check, what to do next and "Test again". */
export async function runTest() {
  const results = $("wizard-test-results");
  const again = $("wizard-test-again");
  $("wizard-no-location").hidden = current.locations.size > 0;
  $("wizard-install-key").hidden = true;
  $("wizard-test-summary").textContent = "";
  $("wizard-test-summary").className = "";
  again.disabled = true;
  results.dataset.ok = "";
  results.replaceChildren(element("li", "Testing…"));
  try {
    const answer = await api(urls.test(current.connId), { method: "POST", body: {} });
    results.replaceChildren(...answer.checks.map(checkLine));
    const keyRefused = answer.checks.some((check) => check.name === "authentication" && !check.ok);
    $("wizard-install-key").hidden = !(keyRefused && current.publicKey);
    $("wizard-test-summary").className = answer.ok ? "notice success" : ""; // a success looks like one
    $("wizard-test-summary").textContent = answer.ok
      ? "Every check passed: the integration is ready to use."
      : "Not every check passed: fix what failed (or have the partner do it), then test again; you can also finish "
        + "now and test later from the integration's Server configuration tab.";
    results.dataset.ok = String(answer.ok);
  } catch (failure) {
    results.replaceChildren();
    if (!onForbidden(failure, () => { $("wizard-error").textContent = NO_CHANGE_PERMISSION; })) {
      $("wizard-error").textContent = failure.message;
    }
  } finally {
    again.disabled = false;
  }
}

/** Prepare steps 4 and 5 for a newly created integration (``created``: the answer of POST api/connections). */
export function beginSteps(created) {
  current = { connId: created.conn_id, publicKey: created.ssh_key ? created.ssh_key.public_key : null,
    locations: new Map() };
  drawLocationsStep();
  $("wizard-test-key").value = current.publicKey || "";
  $("wizard-test-results").replaceChildren();
  $("wizard-test-summary").textContent = "";
  $("wizard-install-key").hidden = true;
}

$("wizard-test-again").addEventListener("click", () => { $("wizard-error").textContent = ""; runTest(); });
