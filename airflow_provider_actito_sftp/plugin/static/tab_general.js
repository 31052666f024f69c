// The integration page's General and Delete tabs.
import { api, element, urls } from "./api.js";
import { registerTab } from "./integration.js";
import { fieldLabel } from "./schema.js";
import { exportControls, exportNote, mayExport } from "./tab_external.js";
import { attempt, button, errorLine, facts, field, noteAfterRedraw, section, showNote, textInput } from "./tab_kit.js";

// --- General --------------------------------------------------------------------------------------

function drawGeneral(container, connection, ctx) {
  showNote(container, connection);
  const exporting = !ctx.canEdit && mayExport(connection);
  const box = section("General", "general");
  box.append(facts([[fieldLabel("conn_id"), connection.conn_id, "general-conn-id"],
    ["Id", connection.id === null || connection.id === undefined ? "— (not in the metadata DB)" : String(connection.id),
      "general-id"],
    [fieldLabel("entity"), connection.entity || "—", "general-entity"]]));
  const name = textInput("general-display_name", connection.display_name);
  name.disabled = !ctx.canEdit && !exporting;
  box.append(field("display_name", fieldLabel("display_name"), name, "The name shown in lists; the technical name never changes."));
  if (ctx.canEdit) {
    const save = button("Save", "general-save", "primary");
    save.addEventListener("click", async () => {
      save.disabled = true;
      const done = await attempt(ctx, container, "general-error", () => api(urls.connection(connection.conn_id),
        { method: "PATCH", body: { values: { display_name: name.value.trim() } } }));
      save.disabled = false;
      if (done) { noteAfterRedraw(connection, "Saved."); await ctx.reload(); }
    });
    const actions = element("div", null, "actions");
    actions.append(save);
    box.append(actions, errorLine("general-error"));
  } else if (exporting) {
    box.append(exportNote("general-export-note"),
      ...exportControls("general", container, connection, ctx, () => ({ display_name: name.value.trim() })));
  }
  container.append(box);
}

// --- Delete ---------------------------------------------------------------------------------------

function drawDelete(container, connection, ctx) {
  const box = section("Delete this integration", "delete");
  if (!ctx.canDelete) {
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
    const done = await attempt(ctx, container, "delete-error", () => api(urls.connection(connection.conn_id),
      { method: "DELETE", body: { confirm: confirm.value } }));
    if (!done) { remove.disabled = confirm.value !== connection.conn_id; return; }
    const r = done.removed;
    const notice = document.getElementById("integrations-notice");
    notice.textContent = `Deleted ${r.connection}: ${r.ssh_keys} SSH key(s), ${r.pgp_keys} PGP key(s) `
      + `and ${r.ledger_variables} ledger variable(s) removed.`;
    notice.hidden = false;
    notice.classList.add("success"); // a success, not a warning (role="status" in index.html)
    location.hash = "#integrations";
  });
  const actions = element("div", null, "actions");
  actions.append(remove);
  box.append(actions, errorLine("delete-error"));
  container.append(box);
}

registerTab("general", "General", drawGeneral);
registerTab("delete", "Delete", drawDelete);
