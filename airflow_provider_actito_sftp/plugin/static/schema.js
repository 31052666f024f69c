// The connection schema (api/schema), fetched once per page and kept here only: each field's label, help and
// choices, and how users read a choice ("SSH key" for ssh_key). The page takes its field wording from here.
import { api, urls } from "./api.js";

// Names the page shows in its own controls rather than as schema fields (plugin/wording.py's PAGE_LABELS).
const PAGE_LABELS = { conn_id: "Technical name" };

let request = null; // the one request (null: not sent yet, or failed: sent again next time)
let known = []; // its fields once answered, for synchronous look-ups

/** Every field of the connection schema (one request per page; a failed one is tried again next time). */
export function schemaFields() {
  if (!request) {
    request = api(urls.schema()).then((answer) => {
      known = answer.fields;
      return known;
    }, (problem) => { request = null; throw problem; });
  }
  return request;
}

/** One field of the schema by name, once schemaFields() has answered (undefined before, or without it). */
export function schemaField(name) {
  return known.find((field) => field.name === name);
}

/** The label the page shows for a field or one of its own names (``conn_id``): the schema's once answered,
 * else readable words from the name. */
export function fieldLabel(name) {
  const field = schemaField(name);
  if (field) { return field.label; }
  const words = PAGE_LABELS[name] || name.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** How users read a choice's value on its own: its label from the schema, capitalized ("SSH key", "Password"),
 * else the value itself. */
export function choiceLabel(field, value) {
  const label = (field && field.choice_labels && field.choice_labels[value]) || value || "";
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** Whether an ``auth_type`` value sends the password (``password``, ``ssh_key_and_password``): connection/schema.py's
 * AuthType.uses_password. */
export function usesPassword(authType) {
  return authType !== "ssh_key";
}

/** Whether an ``auth_type`` value offers our SSH key (``ssh_key``, ``ssh_key_and_password``): AuthType.uses_key. */
export function usesKey(authType) {
  return authType !== "password";
}
