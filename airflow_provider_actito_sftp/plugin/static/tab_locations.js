// The integration page's Locations tab: the named folders on the partner's server, added, edited, removed.
import { element, urls } from "./api.js";
import { registerTab } from "./integration.js";
import {
  button, change, editable, errorLine, refresh, section,
} from "./tab_kit.js";

export const NAME_HELP = "Letters, digits, '_', '-' or '.', e.g. inbound; DAGs refer to the folder by this name.";
export const PATH_HELP = "An absolute folder on the partner's server, e.g. /inbound (no '..').";

/** A client-side check of a path, in the server's terms; null when it looks fine. */
export function pathProblem(path) {
  if (!path) { return "Enter the folder's path, e.g. /inbound"; }
  if (!path.startsWith("/")) { return `The path must be absolute (start with /), e.g. /${path.replace(/^\.?\/*/, "")}`; }
  if (path.split("/").includes("..")) { return "The path must not contain '..'"; }
  return null;
}

function input(id, value, placeholder) {
  const node = Object.assign(document.createElement("input"), { type: "text", id, value: value || "" });
  node.autocomplete = "off";
  node.spellcheck = false;
  if (placeholder) { node.placeholder = placeholder; }
  return node;
}

function busy(nodes, on) {
  for (const node of nodes) { node.disabled = on; }
}

function editRow(row, connection, ctx, container, name, path) {
  const cell = row.querySelector("td.path");
  const field = input(`location-edit-path-${name}`, path, "/inbound");
  field.className = "location-edit-path";
  const save = button("Save", null, "primary location-save");
  const cancel = button("Cancel", null, "location-cancel");
  const error = errorLine(`location-edit-error-${name}`);
  const wrapper = element("div", null, "field inline-edit");
  const line = element("div", null, "actions");
  line.append(field, save, cancel);
  wrapper.append(line, error);
  cell.replaceChildren(wrapper);
  row.querySelector("td.row-actions").replaceChildren();
  field.focus();
  cancel.addEventListener("click", () => draw(container, connection, ctx));
  const submit = async () => {
    const value = field.value.trim();
    const problem = pathProblem(value);
    error.textContent = problem || "";
    wrapper.classList.toggle("has-error", Boolean(problem));
    if (problem) { return; }
    busy([field, save, cancel], true);
    try {
      await change(ctx, urls.location(connection.conn_id, name), "PUT", { path: value, check: true });
      await refresh(container, connection, ctx, draw);
    } catch (failure) {
      busy([field, save, cancel], false);
      if (failure.handled) { return; }
      error.textContent = failure.message;
      wrapper.classList.add("has-error");
    }
  };
  save.addEventListener("click", submit);
  field.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); submit(); } });
}

function confirmRemove(row, connection, ctx, container, name) {
  const cell = row.querySelector("td.row-actions");
  const question = element("span", `Remove location “${name}”? DAGs using it will fail.`, "confirm-text");
  const yes = button("Remove", null, "danger location-confirm-remove");
  const no = button("Cancel", null, "location-cancel-remove");
  const error = errorLine(`location-remove-error-${name}`);
  const box = element("div", null, "confirm");
  const line = element("div", null, "actions");
  line.append(question, yes, no);
  box.append(line, error);
  cell.replaceChildren(box);
  no.addEventListener("click", () => draw(container, connection, ctx));
  yes.addEventListener("click", async () => {
    busy([yes, no], true);
    try {
      await change(ctx, urls.location(connection.conn_id, name), "DELETE", {});
      await refresh(container, connection, ctx, draw);
    } catch (failure) {
      busy([yes, no], false);
      if (failure.handled) { return; }
      error.textContent = failure.message;
    }
  });
}

function locationRow(connection, ctx, container, name, path, canEdit) {
  const row = document.createElement("tr");
  row.dataset.location = name;
  const pathCell = element("td", path, "path");
  const actions = element("td", null, "row-actions");
  row.append(element("td", name, "name"), pathCell, actions);
  if (canEdit) {
    const edit = button("Edit path", null, "location-edit");
    const remove = button("Remove", null, "location-remove");
    edit.addEventListener("click", () => editRow(row, connection, ctx, container, name, path));
    remove.addEventListener("click", () => confirmRemove(row, connection, ctx, container, name));
    const line = element("div", null, "actions");
    line.append(edit, remove);
    actions.append(line);
  }
  return row;
}

function table(connection, ctx, container, canEdit) {
  const node = element("table", null, "locations");
  node.id = "locations-table";
  const head = document.createElement("thead");
  const header = document.createElement("tr");
  header.append(element("th", "Name"), element("th", "Path"), element("th", canEdit ? "" : null));
  head.append(header);
  const body = document.createElement("tbody");
  const entries = Object.entries(connection.locations || {});
  for (const [name, path] of entries) { body.append(locationRow(connection, ctx, container, name, path, canEdit)); }
  if (!entries.length) {
    const cell = element("td", canEdit ? "No location yet: add the folders DAGs read from and write to."
      : "No location yet.", "empty");
    cell.colSpan = 3;
    const row = document.createElement("tr");
    row.append(cell);
    body.append(row);
  }
  node.append(head, body);
  return node;
}

function field(id, label, control, help, errorId) {
  const block = element("div", null, "field");
  block.id = `field-${id}`;
  const caption = element("label", label);
  caption.htmlFor = id;
  block.append(caption, control, element("p", help, "help"), errorLine(errorId));
  return block;
}

function addForm(connection, ctx, container) {
  const form = element("form", null, "location-add");
  form.id = "location-add-form";
  form.noValidate = true;
  const name = input("location-name", "", "inbound");
  const path = input("location-path", "", "/inbound");
  const check = Object.assign(document.createElement("input"), { type: "checkbox", id: "location-check", checked: true });
  const checkLabel = element("label", null, "checkbox");
  checkLabel.append(check, "Check on the server that the folder exists");
  const submit = element("button", "Add location", "primary");
  submit.type = "submit";
  submit.id = "location-add";
  const general = errorLine("location-error");
  const nameBlock = field("location-name", "Name", name, NAME_HELP, "location-name-error");
  const pathBlock = field("location-path", "Path", path, PATH_HELP, "location-path-error");
  const row = element("div", null, "location-fields");
  row.append(nameBlock, pathBlock);
  const actions = element("div", null, "actions");
  actions.append(submit);
  form.append(element("h3", "Add a location"), row, checkLabel, actions, general);

  const show = (block, message) => {
    block.querySelector(".field-error").textContent = message || "";
    block.classList.toggle("has-error", Boolean(message));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = name.value.trim();
    const folder = path.value.trim();
    show(nameBlock, chosen ? "" : "Enter a name, e.g. inbound");
    show(pathBlock, pathProblem(folder));
    general.textContent = "";
    if (!chosen || pathProblem(folder)) { return; }
    if (chosen in (connection.locations || {})) {
      show(nameBlock, `There is already a location “${chosen}”: use “Edit path” in its row`);
      return;
    }
    busy([name, path, check, submit], true);
    try {
      await change(ctx, urls.location(connection.conn_id, chosen), "PUT", { path: folder, check: check.checked });
      await refresh(container, connection, ctx, draw);
    } catch (failure) {
      busy([name, path, check, submit], false);
      if (failure.handled) { return; }
      show(/location name /.test(failure.message) ? nameBlock : pathBlock, failure.message);
    }
  });
  return form;
}

function draw(container, connection, ctx) {
  const canEdit = editable(connection, ctx);
  const body = section("Locations", "tab-locations");
  body.append(element("p", "The folders on the partner's server that DAGs use, by name.", "help"));
  body.append(table(connection, ctx, container, canEdit));
  if (canEdit) { body.append(addForm(connection, ctx, container)); }
  container.replaceChildren(body);
}

registerTab("locations", "Locations", (container, connection, ctx) => draw(container, connection, ctx));
