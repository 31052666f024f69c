// The connection schema (api/schema), fetched once per page: each field's label, help and choices, and how
// users read a choice ("SSH key" for ssh_key). The page takes its field wording from here only.
import { api } from "./api.js";

let fields = null;

/** Every field of the connection schema (one request per page; a failed one is tried again next time). */
export function schemaFields() {
  if (!fields) {
    fields = api("api/schema").then((answer) => answer.fields, (problem) => { fields = null; throw problem; });
  }
  return fields;
}

/** How users read a choice's value on its own: its label from the schema, capitalized ("SSH key", "Password"),
 * else the value itself. */
export function choiceLabel(field, value) {
  const label = (field && field.choice_labels && field.choice_labels[value]) || value || "";
  return label.charAt(0).toUpperCase() + label.slice(1);
}
