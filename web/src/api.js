// The public HTTP API, Cognito sign-in (USER_PASSWORD_AUTH over Cognito's JSON API; no SDK) and
// presigned uploads. The id token lives in sessionStorage: it goes when the tab closes.
import { lang, t } from "./i18n.js";

const TOKEN_KEY = "civic.idToken";
let configPromise = null;

export const apiBase = () => (window.CIVIC_API || `${location.protocol}//${location.hostname}:8000`).replace(/\/$/, "");

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http_" + status;
    this.fields = err.fields || {};
  }
}

/** GET /v1/config once: region, pool client, Cognito's endpoint, the default map area. */
export function config() {
  if (!configPromise) {
    configPromise = api("/v1/config").catch((e) => {
      configPromise = null;
      throw e;
    });
  }
  return configPromise;
}

/** The request never reached the server (offline, weak signal, DNS): said in the page's language, with
 * what to do next, instead of the browser's "Failed to fetch". */
export class NetworkError extends Error {
  constructor() {
    super(t("network_error"));
    this.status = 0;
    this.code = "network";
    this.fields = {};
  }
}

async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new NetworkError();
  }
}

export async function api(path, { method = "GET", body, auth = false, headers = {}, raw = false } = {}) {
  const h = { "Accept-Language": lang(), Accept: "application/json, image/webp", ...headers };
  const token = getToken();
  if (auth) {
    if (!token) throw new ApiError(401, { error: { code: "unauthorized" } });
    h.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await send(apiBase() + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  if (raw) {
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
    return res;
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && token) signOut();
    throw new ApiError(res.status, data);
  }
  return data;
}

/** A conditional GET for polling: `{changed: false}` on 304, else `{changed: true, etag, data}`. The
 * browser cache is bypassed (no-store) so a 304 reaches the page instead of a stored copy. */
export async function poll(path, etag, { auth = false } = {}) {
  const headers = { "Accept-Language": lang(), Accept: "application/json, image/webp" };
  if (etag) headers["If-None-Match"] = etag;
  const token = auth ? getToken() : null;
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await send(apiBase() + path, { headers, cache: "no-store" });
  if (res.status === 304) return { changed: false, etag };
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return { changed: true, etag: res.headers.get("ETag"), data };
}

export const qs = (params) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
};

// ---------------------------------------------------------------- Cognito

const COGNITO_ERRORS = {
  NotAuthorizedException: ["Email hoặc mật khẩu không đúng", "Wrong email or password"],
  UserNotFoundException: ["Email hoặc mật khẩu không đúng", "Wrong email or password"],
  UserNotConfirmedException: ["Tài khoản chưa được xác nhận", "The account is not confirmed yet"],
  UsernameExistsException: ["Email này đã có tài khoản", "This email already has an account"],
  InvalidPasswordException: ["Mật khẩu chưa đủ mạnh", "The password is not strong enough"],
  CodeMismatchException: ["Mã xác nhận không đúng", "Wrong confirmation code"],
  ExpiredCodeException: ["Mã xác nhận đã hết hạn", "The confirmation code expired"],
  InvalidParameterException: ["Thông tin không hợp lệ", "Invalid details"],
  TooManyRequestsException: ["Thử lại sau ít phút", "Try again in a few minutes"],
};

async function cognito(action, payload) {
  const cfg = await config();
  const res = await send(cfg.cognito_endpoint_url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify({ ClientId: cfg.user_pool_client_id, ...payload }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = (data.__type || "").split("#").pop();
    const known = COGNITO_ERRORS[code];
    const err = new Error(known ? (lang() === "en" ? known[1] : known[0]) : data.message || data.Message || code || `Cognito ${res.status}`);
    err.code = code;
    throw err;
  }
  return data;
}

export async function signIn(username, password) {
  const out = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: username.trim(), PASSWORD: password },
  });
  return finishSignIn(out, username);
}

/** A staff member invited with a temporary password sets their own at first sign-in. */
export class NewPasswordRequired extends Error {
  constructor(session, username) {
    super("NEW_PASSWORD_REQUIRED");
    this.code = "NEW_PASSWORD_REQUIRED";
    this.session = session;
    this.username = username;
  }
}

function finishSignIn(out, username) {
  if (out.ChallengeName === "NEW_PASSWORD_REQUIRED") throw new NewPasswordRequired(out.Session, username.trim());
  const token = out.AuthenticationResult && out.AuthenticationResult.IdToken;
  if (!token) throw new Error(out.ChallengeName || "sign-in incomplete");
  sessionStorage.setItem(TOKEN_KEY, token);
  return user();
}

export async function setNewPassword(challenge, password) {
  const out = await cognito("RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED", Session: challenge.session,
    ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: password },
  });
  return finishSignIn(out, challenge.username);
}

export const signUp = (email, password) =>
  cognito("SignUp", { Username: email.trim(), Password: password, UserAttributes: [{ Name: "email", Value: email.trim() }] });

export const confirmSignUp = (email, code) => cognito("ConfirmSignUp", { Username: email.trim(), ConfirmationCode: code.trim() });

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("civic:auth"));
}

export function getToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const claims = decode(token);
  if (!claims || (claims.exp && claims.exp * 1000 < Date.now() + 30_000)) {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return token;
}

function decode(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part + "=".repeat((4 - (part.length % 4)) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The signed-in user from the id token's claims (display only; the API verifies the token). */
export function user() {
  const token = getToken();
  if (!token) return null;
  const c = decode(token);
  let groups = c["cognito:groups"] || [];
  if (typeof groups === "string") groups = groups.replace(/[[\]]/g, "").split(/[ ,]+/).filter(Boolean);
  const handles = groups.some((g) => ["officer", "leader", "coordinator"].includes(g));
  const isStaff = handles || groups.includes("moderator");
  return {
    sub: c.sub,
    email: c.email || c["cognito:username"],
    groups,
    isStaff,
    moderatorOnly: isStaff && !handles, // moderates everywhere, handles nothing
    isLeader: groups.some((g) => ["leader", "coordinator", "admin"].includes(g)),
  };
}

// ---------------------------------------------------------------- uploads

/** A presigned S3 POST (fields first, then the file), with progress callbacks (0..1). */
export function upload(slot, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(slot.fields || {})) form.append(k, v);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", slot.url);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? (onProgress && onProgress(1), resolve()) : reject(new Error(`HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new NetworkError());
    xhr.onabort = () => reject(new NetworkError());
    xhr.send(form);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One media item's upload, retried with backoff (1 s, 3 s, 9 s; a page may set window.CIVIC_RETRY_MS as the
 * first delay, tests do). Every retry asks for a fresh slot (POST /v1/reports/{id}/media/{media_id}/upload):
 * the first form may have expired. A refusal of the API (the file arrived meanwhile, not the author) stops. */
export async function uploadMedia(reportId, mediaId, file, { slot = null, onProgress, onRetry, tries = 4 } = {}) {
  const first = window.CIVIC_RETRY_MS || 1000;
  let last = null;
  for (let attempt = 0; attempt < tries; attempt++) {
    if (attempt) {
      onRetry && onRetry(attempt);
      await sleep(first * 3 ** (attempt - 1));
    }
    try {
      const current = attempt === 0 && slot ? slot
        : await api(`/v1/reports/${reportId}/media/${mediaId}/upload`, { method: "POST", auth: true });
      await upload(current, file, onProgress);
      return;
    } catch (err) {
      last = err;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
    }
  }
  throw last;
}

/** A random Idempotency-Key for one submission (reused when the same form is sent again). */
export const newKey = () =>
  (crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
