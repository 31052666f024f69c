// What the user may do in general (GET api/rights), asked once per page load, before any entry point is drawn.
// Rights on one connection come with it (its "rights"); this is only what no connection answers: creating.
import { api, urls } from "./api.js";

let asked = null;

/** The user's general rights, ``{create}``; when they cannot be known, nothing is offered. */
export function rights() {
  if (!asked) { asked = api(urls.rights()).catch(() => ({ create: false })); }
  return asked;
}

/** For a user who may not create and sees no connection: why, and whom to ask (nothing to click). */
export const NONE_VISIBLE = "No integration is visible to you. Integrations are created by users whose Airflow "
  + "role may create connections: ask your Airflow administrator to create one or to let you read it.";
