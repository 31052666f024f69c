// The integration page's Inbound and Outbound tabs: PGP for downloaded files, locking and PGP for uploads.
import { element, urls } from "./api.js";
import { registerTab } from "./integration.js";
import { fieldLabel } from "./schema.js";
import {
  button, change, day, editable, errorLine, refresh, section, toggle,
} from "./tab_kit.js";

const NO_KEY_REQUIRED = "Generate our PGP key pair and hand its public key to the partner first: "
  + "until then files cannot be required to be encrypted.";
const NO_PARTNER_KEY = "Upload the partner's public key first: without it files cannot be encrypted for them.";
const ENCRYPTION_ON = "Turn off “Encrypt uploads with PGP” first: without the partner's key uploads cannot be "
  + "encrypted, and they are never sent unencrypted instead.";

/** A toggle saved with PATCH at once; a refusal puts it back and shows the reason next to it. */
function patchToggle(container, connection, ctx, draw, { id, name, help, canEdit, explain }) {
  const block = element("div", null, "field toggle-field");
  block.id = `field-${id}`;
  const { wrapper, input } = toggle(id, fieldLabel(name), connection[name], !canEdit);
  const error = errorLine(`${id}-error`);
  block.append(wrapper, element("p", help, "help"), error);
  input.addEventListener("change", async () => {
    const wanted = input.checked;
    input.disabled = true;
    error.textContent = "";
    block.classList.remove("has-error");
    try {
      await change(ctx, urls.connection(connection.conn_id), "PATCH", { values: { [name]: wanted } });
      await refresh(container, connection, ctx, draw);
    } catch (failure) {
      input.checked = !wanted;
      input.disabled = false;
      if (failure.handled) { return; }
      error.textContent = explain ? explain(failure.message) : failure.message;
      block.classList.add("has-error");
    }
  });
  return { block, input, error };
}

/** A button running one change, then redrawing; its errors go to ``error``. */
function action(label, id, className, error, run) {
  const node = button(label, id, className);
  node.addEventListener("click", async () => {
    node.disabled = true;
    error.textContent = "";
    try {
      await run();
    } catch (failure) {
      node.disabled = false;
      error.textContent = failure.message;
    }
  });
  return node;
}

// --- inbound --------------------------------------------------------------------------------------

function keyTable(keys) {
  const node = element("table", null, "pgp-keys");
  node.id = "pgp-keys";
  const head = document.createElement("thead");
  const header = document.createElement("tr");
  for (const title of ["Fingerprint", "Algorithm", "Created", "Expires", ""]) { header.append(element("th", title)); }
  head.append(header);
  const body = document.createElement("tbody");
  keys.forEach((key, index) => { // newest first: the one handed out to the partner
    const row = document.createElement("tr");
    row.dataset.fingerprint = key.fingerprint;
    const state = element("td");
    if (index === 0) {
      row.className = "handed-out";
      state.append(element("span", "handed out", "badge ok"));
    } else {
      state.append(element("span", "still decrypts", "badge"));
    }
    if (key.expired) { state.append(element("span", "expired", "badge warning")); }
    row.append(element("td", key.fingerprint, "fingerprint"), element("td", key.algorithm),
      element("td", day(key.created), "date"), element("td", day(key.expires), "date"), state);
    body.append(row);
  });
  node.append(head, body);
  return node;
}

function retireControls(container, connection, ctx, keys, error) {
  const box = element("div", null, "actions");
  const older = keys.length - 1;
  const start = button("Retire older keys", "pgp-retire");
  start.addEventListener("click", () => {
    const question = element("span", `Retire ${older} older key${older === 1 ? "" : "s"}? Files the partner `
      + "encrypted to them can no longer be decrypted.", "confirm-text");
    const cancel = button("Cancel", "pgp-retire-cancel");
    const confirm = action("Retire", "pgp-retire-confirm", "danger", error, async () => {
      await change(ctx, urls.pgpKey(connection.conn_id, "retire"), "POST", { fingerprints: [] });
      await refresh(container, connection, ctx, drawInbound);
    });
    cancel.addEventListener("click", () => box.replaceChildren(start));
    box.replaceChildren(question, confirm, cancel);
  });
  box.append(start);
  return box;
}

function drawInbound(container, connection, ctx) {
  const canEdit = editable(connection, ctx);
  const keys = connection.inbound_pgp_keys || [];
  const body = section("Inbound files", "tab-inbound");
  const required = patchToggle(container, connection, ctx, drawInbound, {
    id: "inbound-pgp-required", name: "inbound_pgp_required", canEdit,
    help: "Every downloaded file must be PGP-encrypted to our public key; others are refused.",
    explain: (message) => (/without an inbound key pair/.test(message) ? NO_KEY_REQUIRED : message),
  });
  body.append(required.block);

  const keysSection = element("div", null, "pgp-section");
  keysSection.append(element("h4", "Our PGP keys"));
  const error = errorLine("pgp-error");
  if (!keys.length) {
    keysSection.append(element("p", canEdit ? "No PGP key pair yet: generate one and send its public key to the "
      + "partner." : "No PGP key pair yet.", "help"));
    if (canEdit) {
      const line = element("div", null, "actions");
      line.append(action("Generate our PGP key pair", "pgp-generate", "primary", error, async () => {
        await change(ctx, urls.pgpKey(connection.conn_id, "generate"), "POST", {});
        await refresh(container, connection, ctx, drawInbound);
      }));
      keysSection.append(line);
    }
  } else {
    keysSection.append(element("p", "The partner encrypts to the newest key (handed out); older keys still "
      + "decrypt files encrypted before a rotation.", "help"), keyTable(keys));
    const line = element("div", null, "actions");
    const download = element("a", "Download our public key", "button");
    download.id = "pgp-download";
    download.href = urls.pgpPublicKey(connection.conn_id);
    download.setAttribute("download", `${connection.conn_id}-inbound.asc`);
    line.append(download);
    if (canEdit) {
      line.append(action("Rotate", "pgp-rotate", null, error, async () => {
        await change(ctx, urls.pgpKey(connection.conn_id, "rotate"), "POST", {});
        await refresh(container, connection, ctx, drawInbound);
      }));
    }
    keysSection.append(line);
    if (canEdit && keys.length > 1) { keysSection.append(retireControls(container, connection, ctx, keys, error)); }
  }
  keysSection.append(error);
  body.append(keysSection);
  container.replaceChildren(body);
}

// --- outbound -------------------------------------------------------------------------------------

function partnerKeyInfo(info) {
  const box = element("div", null, "partner-key");
  box.id = "partner-key";
  if (!info) {
    box.append(element("p", "No partner key yet.", "help"));
    return box;
  }
  if (info.error) {
    box.append(element("p", `The stored key cannot be used: ${info.error}`, "notice"));
    return box;
  }
  const list = element("dl", null, "hostkey");
  for (const [label, value, id] of [["Fingerprint", info.fingerprint, "partner-key-fingerprint"],
    ["User id", info.user_id, "partner-key-user"], ["Expires", day(info.expires), "partner-key-expires"]]) {
    const detail = element("dd", value);
    detail.id = id;
    list.append(element("dt", label), detail);
  }
  box.append(list);
  if (info.warning) {
    const warning = element("p", `Ask the partner for a new key soon: ${info.warning}.`, "notice");
    warning.id = "partner-key-warning";
    box.append(warning);
  }
  return box;
}

/** The file's bytes in base64: the server reads armored and binary (.gpg/.pgp) key files alike. */
async function fileBase64(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

function partnerKeyUpload(container, connection, ctx) {
  const block = element("div", null, "field");
  block.id = "field-partner-key-file";
  const label = element("label", connection.partner_pgp_public_key ? "Replace the partner's public key"
    : "Upload the partner's public key");
  label.htmlFor = "partner-key-file";
  const input = Object.assign(document.createElement("input"), { type: "file", id: "partner-key-file" });
  input.accept = ".asc,.pgp,.gpg,.key,.txt,application/pgp-keys";
  const error = errorLine("partner-key-error");
  block.append(label, input, element("p", "One public key that can encrypt: armored (.asc) or binary (.gpg, .pgp).", "help"), error);
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) { return; }
    error.textContent = "";
    block.classList.remove("has-error");
    input.disabled = true;
    try {
      await change(ctx, urls.partnerKey(connection.conn_id), "PUT", { public_key_base64: await fileBase64(file) });
      await refresh(container, connection, ctx, drawOutbound);
    } catch (failure) {
      input.disabled = false;
      input.value = "";
      if (failure.handled) { return; }
      error.textContent = failure.message;
      block.classList.add("has-error");
    }
  });
  return block;
}

/** "Remove partner key", confirmed; refused while uploads are encrypted to it (said here; the server refuses too). */
function partnerKeyRemoval(container, connection, ctx) {
  const box = element("div", null, "partner-key-removal");
  const line = element("div", null, "actions");
  const error = errorLine("partner-key-remove-error");
  const start = button("Remove partner key", "partner-key-remove");
  start.addEventListener("click", () => {
    error.textContent = "";
    if (connection.outbound_pgp) { error.textContent = ENCRYPTION_ON; return; }
    const question = element("span", "Remove the partner's public key? Uploads cannot be encrypted for them until "
      + "a key is uploaded again.", "confirm-text");
    const cancel = button("Cancel", "partner-key-remove-cancel");
    const confirm = action("Remove", "partner-key-remove-confirm", "danger", error, async () => {
      await change(ctx, urls.partnerKey(connection.conn_id), "DELETE", {});
      await refresh(container, connection, ctx, drawOutbound);
    });
    cancel.addEventListener("click", () => line.replaceChildren(start));
    line.replaceChildren(question, confirm, cancel);
  });
  line.append(start);
  box.append(line, error);
  return box;
}

function lockSuffix(container, connection, ctx, canEdit) {
  const block = element("div", null, "field");
  block.id = "field-outbound-lock-suffix";
  const label = element("label", fieldLabel("outbound_lock_suffix"));
  label.htmlFor = "outbound-lock-suffix";
  const input = Object.assign(document.createElement("input"), { type: "text", id: "outbound-lock-suffix" });
  input.value = connection.outbound_lock_suffix || "";
  input.placeholder = ".part";
  input.disabled = !canEdit || !connection.outbound_lock;
  const error = errorLine("outbound-lock-suffix-error");
  const line = element("div", null, "actions");
  line.append(input);
  if (canEdit) {
    const save = action("Save suffix", "outbound-lock-suffix-save", null, error, async () => {
      await change(ctx, urls.connection(connection.conn_id), "PATCH",
        { values: { outbound_lock_suffix: input.value.trim() } });
      await refresh(container, connection, ctx, drawOutbound);
    });
    save.disabled = !connection.outbound_lock;
    line.append(save);
  }
  block.append(label, line, element("p", "Files are uploaded as name + suffix, then renamed.", "help"), error);
  return block;
}

function drawOutbound(container, connection, ctx) {
  const canEdit = editable(connection, ctx);
  const partner = connection.partner_pgp_public_key;
  const body = section("Outbound files", "tab-outbound");
  body.append(patchToggle(container, connection, ctx, drawOutbound, {
    id: "outbound-lock", name: "outbound_lock", canEdit,
    help: "Upload under a temporary suffix and rename when complete, so the partner never reads half a file.",
  }).block, lockSuffix(container, connection, ctx, canEdit));

  const pgp = element("div", null, "pgp-section");
  pgp.append(element("h4", "PGP encryption"));
  const encrypt = patchToggle(container, connection, ctx, drawOutbound, {
    id: "outbound-pgp", name: "outbound_pgp", canEdit,
    help: "Every uploaded file is encrypted to the partner's public key.",
    explain: (message) => (/without the partner's public key/.test(message) ? NO_PARTNER_KEY : message),
  });
  pgp.append(encrypt.block, patchToggle(container, connection, ctx, drawOutbound, {
    id: "outbound-pgp-armor", name: "outbound_pgp_armor", canEdit,
    help: "Write ASCII-armored PGP (.asc) instead of binary (larger files).",
  }).block);
  pgp.append(element("h4", "The partner's public key"), partnerKeyInfo(partner));
  if (canEdit && partner) { pgp.append(partnerKeyRemoval(container, connection, ctx)); }
  if (canEdit) { pgp.append(partnerKeyUpload(container, connection, ctx)); }
  body.append(pgp);
  container.replaceChildren(body);
}

registerTab("inbound", "Inbound", (container, connection, ctx) => drawInbound(container, connection, ctx));
registerTab("outbound", "Outbound", (container, connection, ctx) => drawOutbound(container, connection, ctx));
