/**
 * The API client: JSON both ways, the CSRF header on every state-changing request, a timeout when
 * asked, and errors as ApiError with the API's own Ukrainian message. Routes: docs/api.md.
 */

import { state } from './session.js';
import { T } from './texts.js';

/** An error answer of the API, a network failure (status 0) or a timeout (code "timeout"). */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.redirected = false;
  }
}

let signedOutHandler = () => {};

/** Who handles a session that ran out (a 401 outside /api/auth): the router. */
export function onSignedOut(handler) {
  signedOutHandler = handler;
}

/**
 * Call the API. opts: headers, timeoutMs (then a hung request ends as ApiError code "timeout"),
 * quiet401 (a 401 is only thrown, nobody is sent to sign in).
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session?.csrf) headers['X-CSRF-Token'] = state.session.csrf;
  Object.assign(headers, opts.headers || {});
  const controller = new AbortController();
  let timedOut = false;
  const timer = opts.timeoutMs
    ? window.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.timeoutMs)
    : null;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    });
  } catch {
    throw timedOut ? new ApiError(0, 'timeout', T.network) : new ApiError(0, 'network', T.network);
  } finally {
    if (timer !== null) window.clearTimeout(timer);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) {
    if (data === null) throw new ApiError(res.status, 'bad_answer', T.badAnswer);
    return data;
  }
  const error = data?.error || {};
  const err = new ApiError(
    res.status,
    error.code || `http_${res.status}`,
    error.message || (res.status >= 500 ? T.serverError : T.badAnswer),
    error.details,
  );
  if (res.status === 403 && err.code === 'csrf' && !opts.retried && (await refreshSession())) {
    return api(method, path, body, { ...opts, retried: true });
  }
  if (res.status === 401 && !path.startsWith('/api/auth/') && !opts.quiet401) {
    err.redirected = true;
    signedOutHandler(err);
  }
  throw err;
}

/** Re-read the session (and its CSRF token) from /api/me; true when still signed in. */
export async function refreshSession() {
  try {
    state.session = await api('GET', '/api/me', undefined, { quiet401: true, retried: true });
    return true;
  } catch {
    return false;
  }
}

const FALLBACK_CONFIG = { doors: null, recovery: false, password_min_length: 8, save_timeout_seconds: 25 };

/** GET /api/config once per page load; the page still works (without extras) if it fails. */
export async function loadConfig() {
  if (state.config) return state.config;
  try {
    state.config = await api('GET', '/api/config', undefined, { quiet401: true, timeoutMs: 10000 });
  } catch {
    return FALLBACK_CONFIG;
  }
  return state.config;
}

/** A fresh key for one press of a button: a retried request with it is recognised, not saved twice. */
export function pressKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
