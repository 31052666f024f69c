// JSON calls to the plugin's API (same-origin credentials, JSON bodies, errors as errors.js's ApiError) and
// every URL the page builds: the API's paths, the page's own routes and Airflow's pages, encoded here only.
import { describe, unreachable } from "./errors.js";

const encode = (part) => encodeURIComponent(String(part));

/** A query string from ``params`` ("?days=30&entity=acme"); a null, undefined or empty value is left out. */
function query(params) {
  const pairs = Object.entries(params).filter(([, value]) => value !== null && value !== undefined && value !== "");
  return pairs.length ? `?${pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join("&")}` : "";
}

/** A connection's API path, with an optional path below it. */
function connection(connId, below = "") {
  const base = `api/connections/${encode(connId)}`;
  return below ? `${base}/${below}` : base;
}

/** Every URL of the page (API paths are relative to the page, served at <airflow>/actito/). */
export const urls = {
  schema: () => "api/schema",
  rights: () => "api/rights",
  hostKeyFetch: () => "api/host-key/fetch",
  connections: () => "api/connections",
  /** The overview numbers of every connection the user may read, optionally of one entity. */
  overview: (days, entity) => `api/overview${query({ days, entity })}`,
  connection: (connId) => connection(connId),
  connectionOverview: (connId, days) => connection(connId, `overview${query({ days })}`),
  activity: (connId, limit) => connection(connId, `activity${query({ limit })}`),
  connectionJson: (connId) => connection(connId, "connection-json"),
  test: (connId) => connection(connId, "test"),
  hostKey: (connId) => connection(connId, "host-key"),
  location: (connId, name) => connection(connId, `locations/${encode(name)}`),
  /** ``action``: "generate" or "rotate". */
  sshKey: (connId, action) => connection(connId, `ssh-key/${action}`),
  /** Our SSH public key as a file; ``format``: "rfc4716" for ProFTPD, else the OpenSSH line. */
  sshPublicKey: (connId, format) => connection(connId, `ssh-public-key${query({ format })}`),
  /** ``action``: "generate", "rotate" or "retire". */
  pgpKey: (connId, action) => connection(connId, `pgp-key/${action}`),
  pgpPublicKey: (connId) => connection(connId, "pgp-public-key"),
  partnerKey: (connId) => connection(connId, "partner-key"),
  /** The page's own route to an integration (the router reads it back with decodeURIComponent). */
  integrationPage: (connId) => `#integration/${encode(connId)}`,
  /** A page of Airflow's own UI: the plugin lives at <airflow>/actito/, so Airflow's root is one level up. */
  airflowPage: (segments, params = {}) => {
    const root = new URL("../", new URL(".", window.location.href));
    return new URL(segments.map(encode).join("/") + query(params), root).href;
  },
};

/** Call the API; resolve to the JSON answer or reject with an ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw unreachable();
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) { throw describe(response.status, data); }
  return data;
}

export function element(tag, content, className) {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) { node.textContent = content; }
  if (className) { node.className = className; }
  return node;
}
