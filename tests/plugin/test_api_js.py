"""The page's URLs, errors and schema (plugin/static/api.js, errors.js, schema.js) run by Node, without a browser.

Every URL is built and encoded in api.js's ``urls``; a failed answer becomes an ``ApiError`` in words and a 403
is handled in one place (errors.js); the schema is fetched once per page and its labels read from it (schema.js).
"""

from __future__ import annotations

from tests.support.browser import node_json

URLS = """
import { urls } from "%(static)s/api.js";
globalThis.window = { location: { href: "http://airflow.example/actito/?x=1#integrations" } };
const id = "acme/eu #1";
console.log(JSON.stringify({
  connection: urls.connection(id),
  location: urls.location(id, "in box"),
  activity: urls.activity(id, 10),
  connection_overview: urls.connectionOverview(id, 30),
  overview: urls.overview(7, ""),
  overview_entity: urls.overview(7, "acme & co"),
  ssh: urls.sshPublicKey(id),
  rfc4716: urls.sshPublicKey(id, "rfc4716"),
  pgp_rotate: urls.pgpKey(id, "rotate"),
  page: urls.integrationPage(id),
  log: urls.airflowPage(["dags", "d", "runs", "manual__2026-01-01T00:00:00+00:00", "tasks", "t"], { try_number: 2 }),
  run: urls.airflowPage(["dags", "d"], { try_number: null }),
}));
"""


def test_every_url_is_built_and_encoded_in_one_place():
    shown = node_json(URLS)
    assert shown["connection"] == "api/connections/acme%2Feu%20%231"
    assert shown["location"] == "api/connections/acme%2Feu%20%231/locations/in%20box"
    assert shown["activity"] == "api/connections/acme%2Feu%20%231/activity?limit=10"
    assert shown["connection_overview"] == "api/connections/acme%2Feu%20%231/overview?days=30"
    assert shown["overview"] == "api/overview?days=7"  # no entity chosen: not sent
    assert shown["overview_entity"] == "api/overview?days=7&entity=acme%20%26%20co"
    assert shown["ssh"] == "api/connections/acme%2Feu%20%231/ssh-public-key"
    assert shown["rfc4716"] == "api/connections/acme%2Feu%20%231/ssh-public-key?format=rfc4716"
    assert shown["pgp_rotate"] == "api/connections/acme%2Feu%20%231/pgp-key/rotate"
    assert shown["page"] == "#integration/acme%2Feu%20%231"
    assert shown["log"] == (
        "http://airflow.example/dags/d/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/t?try_number=2"
    )
    assert shown["run"] == "http://airflow.example/dags/d"


ERRORS = """
import { describe, onForbidden, NO_PERMISSION } from "%(static)s/errors.js";
const seen = (error) => ({ message: error.message, field: error.field, status: error.status });
const reacted = [];
const forbidden = describe(403, { detail: "Forbidden" });
const refused = describe(400, { detail: "Port: expected an integer", field: "port" });
console.log(JSON.stringify({
  forbidden: seen(forbidden),
  no_permission: NO_PERMISSION,
  explained_403: seen(describe(403, { detail: "Only the owner may rotate keys" })),
  refused: seen(refused),
  validation: seen(describe(422, { detail: [{ loc: ["body", "values", "port"], msg: "too big" }] })),
  expired: seen(describe(401, null)),
  missing: seen(describe(404, null)),
  broken: seen(describe(500, null)),
  handled_403: onForbidden(forbidden, () => reacted.push("forbidden")),
  marked: forbidden.handled === true,
  no_reaction: onForbidden(describe(403, null), undefined),
  not_403: onForbidden(refused, () => reacted.push("refused")),
  reacted,
}));
"""


def test_a_failed_answer_is_said_in_words_and_a_403_handled_once():
    shown = node_json(ERRORS)
    assert shown["forbidden"] == {"message": shown["no_permission"], "field": None, "status": 403}
    assert shown["explained_403"]["message"] == "Only the owner may rotate keys"  # the server's own words
    assert shown["refused"] == {"message": "Port: expected an integer", "field": "port", "status": 400}
    assert shown["validation"] == {"message": "too big", "field": "port", "status": 422}
    assert shown["expired"]["message"] == "Your session has expired: log in to Airflow again"
    assert shown["missing"]["message"].startswith("Not found")
    assert shown["broken"]["message"] == "The server could not handle the request; try again later"
    assert (shown["handled_403"], shown["marked"]) == (True, True)
    assert (shown["no_reaction"], shown["not_403"]) == (False, False)
    assert shown["reacted"] == ["forbidden"]  # only the 403's reaction ran


SCHEMA = """
let requests = 0;
let failNext = true;
globalThis.fetch = async (path) => {
  requests += 1;
  if (failNext) { failNext = false; throw new TypeError("offline"); }
  return { ok: true, json: async () => ({ fields: [
    { name: "auth_type", label: "Authentication", choice_labels: { ssh_key: "SSH key", password: "password" } },
  ] }) };
};
const { choiceLabel, fieldLabel, schemaField, schemaFields } = await import("%(static)s/schema.js");
const before = [fieldLabel("conn_id"), fieldLabel("auth_type"), fieldLabel("display_name")];
let failed = null;
try { await schemaFields(); } catch (problem) { failed = problem.message; }
const [first, second] = await Promise.all([schemaFields(), schemaFields()]);
await schemaFields();
const auth = schemaField("auth_type");
console.log(JSON.stringify({
  before, failed, requests, same: first === second,
  after: fieldLabel("auth_type"),
  choices: [choiceLabel(auth, "ssh_key"), choiceLabel(auth, "password"), choiceLabel(undefined, "other")],
}));
"""


def test_the_schema_is_fetched_once_and_gives_the_labels():
    shown = node_json(SCHEMA)
    assert shown["before"] == ["Technical name", "Auth type", "Display name"]  # no schema yet: readable words
    assert shown["failed"] == "The Airflow server could not be reached"
    assert shown["requests"] == 2  # the failed request, then one for every later caller
    assert shown["same"] is True
    assert shown["after"] == "Authentication"
    assert shown["choices"] == ["SSH key", "Password", "Other"]
