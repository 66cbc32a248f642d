// The API client: one fetch wrapper for every call of the page.
//
// - Errors come back as `ApiError` carrying the problem+json body (`code`, `reason`, ...).
// - 429 and 503 (and 502/504 from a proxy, and IDEMPOTENCY_IN_PROGRESS) are retried
//   automatically after `Retry-After`, a failed connection with exponential backoff; every
//   wait is registered so the page can show "retrying in N s". A retry resends the very
//   same request, headers included, so an `Idempotency-Key` is reused and a payment whose
//   answer was lost is never charged twice. Every call we make is safe to repeat.
// - The server's clock is learnt from the `Date` header, so countdowns to server times
//   (hold deadline, end of admission) are right even when the device clock is off.

let skewMs = 0;
/** The server's idea of "now", in ms since the epoch. */
export const now = () => Date.now() + skewMs;

let userToken = null;
/** The site's user JWT (identity mode `jwt`), sent as X-User-Token where `user` is set. */
export const setUserToken = (token) => {
  userToken = token;
};

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.code = problem.code || null;
    this.retryAfter = retryAfter;
  }
}

// Waits in progress: id -> { until (local ms), code }.
const waits = new Map();
let waitSeq = 0;
let onWaitChange = () => {};
export const onRetryChange = (fn) => {
  onWaitChange = fn;
};

/** The wait that ends last, if any: what the page shows as "retrying in N s". */
export function currentRetry() {
  let last = null;
  for (const w of waits.values()) if (!last || w.until > last.until) last = w;
  return last;
}

/** Sleeps `ms`, shown to the buyer as a retry countdown; rejects if `signal` aborts. */
function retryWait(ms, code, signal) {
  return new Promise((resolve, reject) => {
    const id = ++waitSeq;
    const done = () => {
      waits.delete(id);
      signal?.removeEventListener('abort', abort);
      onWaitChange();
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      done();
      reject(new DOMException('aborted', 'AbortError'));
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener('abort', abort);
    waits.set(id, { until: Date.now() + ms, code });
    onWaitChange();
  });
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), or null. */
function retryAfterSecs(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - now()) / 1000);
}

function learnClock(res) {
  const at = Date.parse(res.headers.get('Date') || '');
  if (Number.isNaN(at)) return;
  // The header has a 1 s resolution: only correct for a clearly wrong device clock.
  const skew = at - Date.now();
  if (Math.abs(skew - skewMs) > 2000) skewMs = Math.abs(skew) > 2000 ? skew : 0;
}

async function readProblem(res) {
  try {
    const body = await res.json();
    if (body && typeof body === 'object') return { status: res.status, ...body };
  } catch {
    /* not JSON: a proxy's page */
  }
  return { status: res.status, title: res.statusText };
}

// Spread the retries of thousands of buyers so they do not come back in the same instant.
const jitter = (ms) => ms + Math.random() * Math.min(1000, ms / 4);

/**
 * Calls the API; resolves with the JSON body (null for 204), rejects with `ApiError`.
 * Options: `body` (JSON), `token` (queue token, Bearer), `user` (send the identity
 * token), `idem` (Idempotency-Key), `signal` (AbortSignal: stops retrying too).
 */
export async function api(method, path, { body, token, user, idem, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (user && userToken) headers['X-User-Token'] = userToken;
  if (idem) headers['Idempotency-Key'] = idem;
  const init = {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
    credentials: 'same-origin',
  };
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      if (signal?.aborted) throw err;
      // Unreachable (network down, gateway restarting): 1, 2, 4, ... 30 s.
      await retryWait(jitter(1000 * Math.min(30, 2 ** (attempt - 1))), 'NETWORK', signal);
      continue;
    }
    learnClock(res);
    if (res.ok) return res.status === 204 ? null : res.json();
    const problem = await readProblem(res);
    const after = retryAfterSecs(res.headers.get('Retry-After'));
    const busy = [429, 502, 503, 504].includes(res.status);
    if (busy || (problem.code === 'IDEMPOTENCY_IN_PROGRESS' && attempt < 30)) {
      const code = problem.code || (res.status === 429 ? 'RATE_LIMITED' : 'SERVICE_UNAVAILABLE');
      const secs = after ?? (busy ? 2 : 1);
      await retryWait(jitter(1000 * secs), code, signal);
      continue;
    }
    throw new ApiError(res.status, problem, after);
  }
}

/** A random UUID, also on plain http (where crypto.randomUUID is missing). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The claims of a JWT, decoded (not verified: the server does that), or null. */
export function jwtClaims(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '=')));
  } catch {
    return null;
  }
}
