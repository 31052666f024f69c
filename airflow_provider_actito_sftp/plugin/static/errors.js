// The page's errors: a failed API answer turned into words (ApiError), the refusals' wording, and the one
// handling of a 403 (the user's Airflow role does not allow what was asked).

export const NO_PERMISSION = "You do not have permission to create connections";
export const NO_CHANGE_PERMISSION = "You do not have permission to change this integration";
export const NO_EDIT_PERMISSION = "Read only: you do not have permission to change this connection.";
export const NO_READ_PERMISSION = "Your Airflow role does not allow reading this connection: ask your Airflow "
  + "administrator.";
const UNREACHABLE = "The Airflow server could not be reached";

/** An API refusal: the server's message and the field it concerns (null: none in particular). */
export class ApiError extends Error {
  constructor(message, field, status) {
    super(message);
    this.field = field ?? null;
    this.status = status;
  }
}

/** The ApiError for a failed answer: its HTTP status and its JSON body (null: none). */
export function describe(status, data) {
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

/** The ApiError of a request that got no answer at all. */
export function unreachable() {
  return new ApiError(UNREACHABLE, null, 0);
}

/** The one handling of a 403: when ``problem`` is one and ``react`` is given, call ``react()`` (the page turns
 * read only, says what the role does not allow, ...), mark the problem handled and return true; else false. */
export function onForbidden(problem, react) {
  if (!problem || problem.status !== 403 || typeof react !== "function") { return false; }
  react();
  problem.handled = true;
  return true;
}
