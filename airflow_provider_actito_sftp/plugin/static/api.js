// JSON calls to the plugin's API: same-origin credentials, JSON bodies, errors as readable messages.

export const NO_PERMISSION = "You do not have permission to create connections";

/** An API refusal: the server's message and the field it concerns (null: none in particular). */
export class ApiError extends Error {
  constructor(message, field, status) {
    super(message);
    this.field = field ?? null;
    this.status = status;
  }
}

function describe(status, data) {
  const detail = data && data.detail;
  if (Array.isArray(detail) && detail.length) { // FastAPI's request validation: [{loc, msg}]
    const first = detail[0];
    const loc = Array.isArray(first.loc) ? first.loc : [];
    return new ApiError(String(first.msg || "invalid value"), loc.length ? String(loc[loc.length - 1]) : null, status);
  }
  if (status === 401) { return new ApiError("Your session has expired: log in to Airflow again", null, status); }
  if (status === 403 && (!detail || detail === "Forbidden")) { return new ApiError(NO_PERMISSION, null, status); }
  if (typeof detail === "string" && detail) { return new ApiError(detail, data.field, status); }
  if (status === 404) { return new ApiError("Not found: is the plugin up to date on this server?", null, status); }
  return new ApiError("The server could not handle the request; try again later", null, status);
}

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
    throw new ApiError("The Airflow server could not be reached", null, 0);
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
