// The REST client: the access token lives only in this module's memory and
// is renewed with the refresh token (kept for this tab in sessionStorage, so
// a reload stays signed in) shortly before it expires or when a request
// answers 401. When renewal fails the page returns to sign-in.

const REFRESH_KEY = 'ibrat.refresh';
let access = null;
let accessExpires = 0;
let renewMargin = 30_000;
let renewing = null;
let user = null;
const signedOutListeners = new Set();

/** A refused or failed request, with the server's code and plain message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** What to tell a person. */
  get plain() {
    if (this.status === 0) return 'The server cannot be reached. Check the connection; the page keeps trying.';
    if (this.status === 401) return 'Your session has expired. Please sign in again.';
    if (this.status === 403) return `Not allowed: ${this.message}.`;
    if (this.status === 404 && this.code === 'not_found' && this.message === 'no such route') {
      return 'This server does not offer that yet.';
    }
    if (this.status >= 500) return `The server could not do that right now (${this.message}). Try again in a moment.`;
    return sentence(this.message);
  }
}

function sentence(m) {
  const s = String(m || 'Something went wrong').trim();
  return /[.!?]$/.test(s) ? s.charAt(0).toUpperCase() + s.slice(1) : `${s.charAt(0).toUpperCase() + s.slice(1)}.`;
}

/** Called with a reason ("expired" or "signed_out") when the session ends. */
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

export function currentUser() {
  return user;
}

function keep(session) {
  access = session.access_token;
  const ttl = (session.expires_in || 60) * 1000;
  accessExpires = Date.now() + ttl;
  // Renew 30 s before expiry, or a quarter of the lifetime when shorter.
  renewMargin = Math.min(30_000, ttl / 4);
  sessionStorage.setItem(REFRESH_KEY, session.refresh_token);
  if (session.user) user = session.user;
}

function forget(reason) {
  const was = access !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
  access = null;
  accessExpires = 0;
  user = null;
  sessionStorage.removeItem(REFRESH_KEY);
  if (was) for (const fn of signedOutListeners) fn(reason);
}

async function send(method, path, body, token, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body instanceof Blob || body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'offline', 'the server cannot be reached');
  }
  return res;
}

async function failure(res) {
  let code = 'error', message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

/** Signs in; resolves to the user. */
export async function signIn(email, password) {
  const res = await send('POST', '/api/auth/login', { email, password });
  if (!res.ok) throw await failure(res);
  keep(await res.json());
  return user;
}

/** Renews the token pair once, however many callers ask at the same time. */
function renew() {
  if (!renewing) {
    renewing = (async () => {
      const refresh = sessionStorage.getItem(REFRESH_KEY);
      if (!refresh) throw new ApiError(401, 'unauthorized', 'not signed in');
      const res = await send('POST', '/api/auth/refresh', { refresh_token: refresh });
      if (!res.ok) {
        const err = await failure(res);
        if (res.status === 401 || res.status === 400 || res.status === 403) forget('expired');
        throw err;
      }
      keep(await res.json());
    })().finally(() => { renewing = null; });
  }
  return renewing;
}

/** A valid access token, renewed shortly before it expires. */
export async function token() {
  if (!access || Date.now() > accessExpires - renewMargin) await renew();
  return access;
}

/** Restores the session of this tab after a reload; resolves to the user or null. */
export async function restore() {
  if (!sessionStorage.getItem(REFRESH_KEY)) return null;
  try {
    await renew();
    if (!user) user = await api('GET', '/api/auth/profile');
    return user;
  } catch {
    return null;
  }
}

/** Signs out: revokes the refresh token and forgets everything. */
export async function signOut() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (refresh) await send('POST', '/api/auth/logout', { refresh_token: refresh }).catch(() => {});
  forget('signed_out');
}

/** A raw response to an authenticated request (renewing once on 401). */
export async function request(method, path, body, headers) {
  let res = await send(method, path, body, await token(), headers);
  if (res.status === 401) {
    await renew();
    res = await send(method, path, body, access, headers);
    if (res.status === 401) forget('expired');
  }
  if (!res.ok) throw await failure(res);
  return res;
}

/** An authenticated JSON request; resolves to the parsed body (null when empty). */
export async function api(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** A query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Every item of a paged listing, up to `max`. */
export async function all(path, params = {}, max = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path + query({ ...params, limit: 200, cursor }));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/**
 * Uploads with progress (fetch cannot report it): `onSent(fraction)` while
 * the bytes go up; resolves to the parsed JSON answer.
 */
export async function upload(path, file, onSent) {
  const bearer = await token();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Authorization', `Bearer ${bearer}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onSent(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, 'offline', 'the server cannot be reached'));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        if (xhr.status === 401) forget('expired');
        const e = (body && body.error) || { code: 'error', message: `HTTP ${xhr.status}` };
        reject(new ApiError(xhr.status, e.code, e.message));
      }
    };
    xhr.send(file);
  });
}
