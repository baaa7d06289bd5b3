// ui/js/api.js: the dashboard's only way to chimed.  The session (sign
// in, who, sign out) through /v1/session, every method through POST
// /v1/rpc with the session cookie and the X-Chime-CSRF header the daemon
// requires of a cookie caller.  Errors become ApiError with a message in
// words; a lost session calls the handler set with onSignedOut.

const CSRF = { "X-Chime-CSRF": "1" };
let signedOut = () => {};
let nextId = 1;

export class ApiError extends Error {
  constructor(message, status, code, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data || {};	/* JSON-RPC error data: field, reason */
    this.field = this.data.field;	/* what is at fault, */
    this.reason = this.data.reason;	/* and why */
  }
}

export function onSignedOut(fn) {
  signedOut = fn;
}

async function body(res) {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

function refusal(status, j) {
  const reason = j && j.reason ? j.reason : "";
  if (status === 401) {
    const words = {
      missing: "no token was given",
      malformed: "that is not a chime token (they begin with chime_)",
      unknown: "no such token (mistyped, or revoked)",
      revoked: "the token was revoked",
      expired: "the token has expired",
      account_gone: "the token's account no longer exists",
      session_unknown: "the session is over",
      session_expired: "the session expired",
    };
    return new ApiError("Not signed in: " + (words[reason] || reason),
      status, reason);
  }
  if (status === 429)
    return new ApiError("Too many failed attempts from this address: " +
      "wait a minute and try again.", status, "limited");
  return new ApiError((j && (j.reason || j.error)) ||
    "The daemon answered " + status + ".", status, reason);
}

// Who is signed in ({account, admin, token, scope, ...}), or null.
export async function session() {
  const res = await fetch("/v1/session", { credentials: "same-origin" });
  if (res.status === 401)
    return null;
  const j = await body(res);
  if (!res.ok)
    throw refusal(res.status, j);
  return j;
}

export async function signIn(token) {
  const res = await fetch("/v1/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...CSRF },
    body: JSON.stringify({ token }),
  });
  const j = await body(res);
  if (!res.ok)
    throw refusal(res.status, j);
  return j;
}

export async function signOut() {
  await fetch("/v1/session", {
    method: "DELETE",
    credentials: "same-origin",
    headers: CSRF,
  });
}

// The result of METHOD with PARAMS; an ApiError for a JSON-RPC error
// (its message and data.reason as the daemon words them; data kept, and
// data.field and data.reason as its field and reason, so that a form can
// put the reason next to the field).
export async function call(method, params = {}) {
  const res = await fetch("/v1/rpc", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...CSRF },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
  });
  const j = await body(res);
  if (res.status === 401) {
    signedOut(refusal(401, j));
    throw refusal(401, j);
  }
  if (!res.ok)
    throw refusal(res.status, j);
  if (j.error) {
    const d = j.error.data || {};
    const detail = d.reason ? ": " + (d.field ? d.field + " " : "") +
      d.reason : "";
    throw new ApiError(j.error.message + detail, 200, j.error.code, d);
  }
  return j.result;
}
