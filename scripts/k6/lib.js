// Shared helpers for the k6 scenarios in this folder. See README.md.
import http from 'k6/http';
import { sleep } from 'k6';
import encoding from 'k6/encoding';
import { Counter, Rate } from 'k6/metrics';

// ---------------------------------------------------------------- settings

export function envStr(name, def) {
  const v = __ENV[name];
  return v === undefined || v === '' ? def : v;
}

export function envInt(name, def) {
  const v = __ENV[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`env ${name}=${v} is not a number`);
  return Math.trunc(n);
}

export const BASE_URL = envStr('BASE_URL', 'http://127.0.0.1:8000').replace(/\/+$/, '');
export const BOOKING_URL = envStr('BOOKING_URL', 'http://127.0.0.1:8081').replace(/\/+$/, '');
// The gateway's operator routes (/admin/rooms): behind nginx they are on its internal
// listener (:8001), not the public one.
export const ADMIN_URL = envStr('ADMIN_URL', BASE_URL).replace(/\/+$/, '');
export const ADMIN_TOKEN = envStr('ADMIN_TOKEN', 'dev-admin-token');
// Booking's admin token; the same as the gateway's unless set.
export const BOOKING_ADMIN_TOKEN = envStr('BOOKING_ADMIN_TOKEN', ADMIN_TOKEN);
export const CONCERT_ID = envInt('CONCERT_ID', 1);
// Several concerts (e.g. one per Redis Cluster master): CONCERT_IDS=4,7,9; scenarios that
// support it spread users over them (user i -> concert i mod n). Defaults to CONCERT_ID.
export const CONCERT_IDS = envStr('CONCERT_IDS', '').split(',').map((s) => parseInt(s, 10)).filter((n) => n > 0);
export function concertOf(i) {
  return CONCERT_IDS.length ? CONCERT_IDS[i % CONCERT_IDS.length] : CONCERT_ID;
}
export const SUMMARY_JSON = envStr('SUMMARY_JSON', '');

// Per-trend statistics shown in summaries (p99 is not in k6's default set).
export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];

// Problem codes of the services (shared/src/contract/code.rs) and of nginx
// (UPSTREAM_*). Each gets an always-true threshold (count>=0) only so that its
// count is listed in the end-of-test summary.
export const KNOWN_CODES = [
  'INVALID_REQUEST', 'INVALID_TOKEN', 'UNAUTHORIZED', 'CONCERT_NOT_FOUND', 'SCHEDULE_NOT_FOUND',
  'QUEUE_CLOSED', 'QUEUE_NOT_OPEN', 'SOLD_OUT', 'NO_DRAW', 'TICKET_GONE', 'NOT_ADMITTED',
  'WRONG_CONCERT', 'SEAT_UNAVAILABLE',
  'SEAT_NOT_FOUND', 'HOLD_LIMIT', 'INSUFFICIENT_BALANCE', 'RESERVATION_EXPIRED',
  'RESERVATION_NOT_HELD', 'RESERVATION_NOT_FOUND', 'INVALID_AMOUNT', 'IDEMPOTENCY_IN_PROGRESS',
  'IDEMPOTENCY_KEY_REUSED', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL',
  'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'HTTP_429', 'HTTP_5XX', 'NETWORK',
];

export function codeThresholds() {
  const t = {};
  for (const c of KNOWN_CODES) t[`errors_by_code{code:${c}}`] = ['count>=0'];
  return t;
}

// Users are numbered from a base chosen in setup() (the same for every VU), so
// that every run gets fresh users. USER_OFFSET pins it. The default stays below
// 2^31 in case user ids are 32-bit anywhere along the way.
export function userBase() {
  const fixed = envInt('USER_OFFSET', -1);
  if (fixed >= 0) return fixed;
  return 1000000000 + (Math.floor(Date.now() / 1000) % 100000) * 10000;
}

// ---------------------------------------------------------------- metrics

export const errorsByCode = new Counter('errors_by_code');
export const unexpectedErrors = new Rate('unexpected_errors');

// ---------------------------------------------------------------- utilities

export function uuidv4() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (ch) => {
    const r = (Math.random() * 16) | 0;
    return (ch === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export function randInt(lo, hi) {
  // inclusive bounds
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

export function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

// Future RFC 3339 timestamp without fractional seconds.
export function futureIso(days) {
  return new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Claims of a JWT (no verification; for checks such as "same seq").
export function jwtClaims(token) {
  try {
    return JSON.parse(encoding.b64decode(String(token).split('.')[1], 'rawurl', 's'));
  } catch (e) {
    return null;
  }
}

export function parseBody(res) {
  if (!res || !res.body) return null;
  try {
    return JSON.parse(res.body);
  } catch (e) {
    return null;
  }
}

function retryAfterSecs(res) {
  const v = Number(res.headers['Retry-After']);
  return Number.isFinite(v) && v > 0 ? Math.min(v, 5) : 1;
}

// Stable code of a response: problem+json `code`, else HTTP_5XX / HTTP_<status> / NETWORK.
export function codeOf(res, body) {
  if (res.status === 0) return 'NETWORK';
  if (body && typeof body.code === 'string') return body.code;
  if (res.status === 429) return 'HTTP_429';
  if (res.status >= 500) return 'HTTP_5XX';
  return `HTTP_${res.status}`;
}

let loggedUnexpected = 0;

// One HTTP call with accounting. `allowed` lists the non-2xx codes that are a
// normal outcome for this step. Every response adds one sample to
// unexpected_errors (true for 5xx, network errors and codes not in `allowed`;
// never for 429),
// and every non-2xx response adds to errors_by_code{code, step}. A 429 is
// retried after its Retry-After (a few times) before it is returned.
// Returns {res, status, body, code, ok}; code is null for 2xx.
export function call(method, url, payload, { step, headers = {}, allowed = [], retries429 = 3 } = {}) {
  const params = { headers: Object.assign({ Accept: 'application/json' }, headers), tags: { name: step } };
  let bodyText = null;
  if (payload !== undefined && payload !== null) {
    bodyText = JSON.stringify(payload);
    params.headers['Content-Type'] = 'application/json';
  }
  for (let attempt = 0; ; attempt++) {
    const res = http.request(method, url, bodyText, params);
    const body = parseBody(res);
    if (res.status >= 200 && res.status < 300) {
      unexpectedErrors.add(false, { step });
      return { res, status: res.status, body, code: null, ok: true };
    }
    const code = codeOf(res, body);
    errorsByCode.add(1, { code, step });
    // 429 is back-pressure (retried below), not a fault.
    const unexpected = res.status === 0 || res.status >= 500 || (res.status !== 429 && !allowed.includes(code));
    unexpectedErrors.add(unexpected, { step });
    if (unexpected && loggedUnexpected < 5) {
      loggedUnexpected++;
      console.warn(`[VU ${__VU}] ${step}: ${res.status} ${code} ${res.error || ''} ${String(res.body || '').slice(0, 200)}`);
    }
    if (res.status === 429 && attempt < retries429) {
      sleep(retryAfterSecs(res));
      continue;
    }
    return { res, status: res.status, body, code, ok: false };
  }
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });

// ---------------------------------------------------------------- buyer API

export function chargePoints(userId, amount, idemKey) {
  return call('POST', `${BASE_URL}/v1/users/${userId}/points/charge`, { amount }, {
    step: 'POST /v1/users/{id}/points/charge',
    headers: { 'Idempotency-Key': idemKey || uuidv4() },
  });
}

export function getPoints(userId) {
  return call('GET', `${BASE_URL}/v1/users/${userId}/points`, null, { step: 'GET /v1/users/{id}/points' });
}

export function joinQueue(concertId, userId, token, allowed = []) {
  return call('POST', `${BASE_URL}/v1/queue/tokens`, { concert_id: concertId, user_id: userId }, {
    step: 'POST /v1/queue/tokens',
    headers: token ? bearer(token) : {},
    allowed,
  });
}

export function queueStatus(token, allowed = ['TICKET_GONE']) {
  return call('GET', `${BASE_URL}/v1/queue/status`, null, {
    step: 'GET /v1/queue/status', headers: bearer(token), allowed,
  });
}

export function leaveQueue(token) {
  return call('DELETE', `${BASE_URL}/v1/queue/tokens`, null, {
    step: 'DELETE /v1/queue/tokens', headers: bearer(token), allowed: ['TICKET_GONE'],
  });
}

// Join, then poll every poll_after_ms (always with the newest token) until
// active or maxWaitS has passed. A 410 TICKET_GONE while waiting re-joins.
// Returns {state: 'active'|'timeout'|'error', token, waitedMs, joined}.
export function waitUntilActive(concertId, userId, maxWaitS) {
  const t0 = Date.now();
  const deadline = t0 + maxWaitS * 1000;
  // Every seat sold: the join is refused (409 SOLD_OUT), or a buyer in line is told
  // status "sold_out" — an outcome of the sale, not an error.
  const j = joinQueue(concertId, userId, null, ['SOLD_OUT']);
  if (j.code === 'SOLD_OUT') return { state: 'sold_out', token: null, waitedMs: Date.now() - t0, joined: j };
  if (!j.ok || !j.body || !j.body.token) return { state: 'error', token: null, waitedMs: Date.now() - t0, joined: j };
  let q = j.body;
  let token = q.token;
  while (q.status !== 'active') {
    if (q.status === 'sold_out') return { state: 'sold_out', token, waitedMs: Date.now() - t0, joined: j };
    const left = deadline - Date.now();
    if (left <= 0) return { state: 'timeout', token, waitedMs: Date.now() - t0, joined: j };
    const pollMs = Math.min(Math.max(Number(q.poll_after_ms) || 1000, 100), 10000);
    sleep(Math.min(pollMs, left) / 1000);
    const s = queueStatus(token);
    if (s.ok && s.body) {
      q = s.body;
    } else if (s.code === 'TICKET_GONE') {
      const r = joinQueue(concertId, userId, null, ['SOLD_OUT']);
      if (r.code === 'SOLD_OUT') return { state: 'sold_out', token, waitedMs: Date.now() - t0, joined: j };
      if (!r.ok || !r.body) return { state: 'error', token, waitedMs: Date.now() - t0, joined: j };
      q = r.body;
    } else {
      return { state: 'error', token, waitedMs: Date.now() - t0, joined: j };
    }
    if (q.token) token = q.token;
  }
  return { state: 'active', token, waitedMs: Date.now() - t0, joined: j };
}

export function listSchedules(token, concertId, allowed = ['NOT_ADMITTED']) {
  return call('GET', `${BASE_URL}/v1/concerts/${concertId}/schedules`, null, {
    step: 'GET /v1/concerts/{id}/schedules', headers: bearer(token), allowed,
  });
}

export function listSeats(token, scheduleId, allowed = ['NOT_ADMITTED']) {
  return call('GET', `${BASE_URL}/v1/schedules/${scheduleId}/seats`, null, {
    step: 'GET /v1/schedules/{id}/seats', headers: bearer(token), allowed,
  });
}

export function holdSeat(token, scheduleId, seatNo, allowed = ['SEAT_UNAVAILABLE', 'HOLD_LIMIT', 'NOT_ADMITTED']) {
  return call('POST', `${BASE_URL}/v1/reservations`, { schedule_id: scheduleId, seat_no: seatNo }, {
    step: 'POST /v1/reservations', headers: bearer(token), allowed,
  });
}

export function pay(token, reservationIds, idemKey, allowed = []) {
  return call('POST', `${BASE_URL}/v1/payments`, { reservation_ids: reservationIds }, {
    step: 'POST /v1/payments',
    headers: Object.assign(bearer(token), { 'Idempotency-Key': idemKey }),
    allowed,
  });
}

// ---------------------------------------------------------------- operator API

// Schedule ids from an admin/public concert body: accepts `schedule_ids: [..]`
// or `schedules: [{schedule_id|id}, ..]` (or plain ids).
export function scheduleIdsOf(body) {
  if (!body) return [];
  if (Array.isArray(body.schedule_ids)) return body.schedule_ids;
  if (Array.isArray(body.schedules)) {
    return body.schedules
      .map((s) => (typeof s === 'object' && s !== null ? (s.schedule_id !== undefined ? s.schedule_id : s.id) : s))
      .filter((x) => x !== undefined && x !== null);
  }
  return [];
}

// POST /admin/concerts on booking; returns {concertId, scheduleIds}. Throws on failure.
export function createConcert(title, schedules) {
  const r = call('POST', `${BOOKING_URL}/admin/concerts`, { title, schedules }, {
    step: 'POST /admin/concerts', headers: bearer(BOOKING_ADMIN_TOKEN),
  });
  if (!r.ok || !r.body) throw new Error(`create concert failed: ${r.status} ${r.res.body}`);
  const concertId = r.body.concert_id !== undefined ? r.body.concert_id : r.body.id;
  let scheduleIds = scheduleIdsOf(r.body);
  if (scheduleIds.length !== schedules.length) {
    // Fall back to the public concert view.
    const g = call('GET', `${BASE_URL}/v1/concerts/${concertId}`, null, { step: 'GET /v1/concerts/{id}' });
    scheduleIds = scheduleIdsOf(g.body);
  }
  if (concertId === undefined || scheduleIds.length !== schedules.length) {
    throw new Error(`unexpected create-concert answer: ${r.res.body}`);
  }
  return { concertId, scheduleIds };
}

export function getConcertAdmin(concertId) {
  return call('GET', `${BOOKING_URL}/admin/concerts/${concertId}`, null, {
    step: 'GET /admin/concerts/{id}', headers: bearer(BOOKING_ADMIN_TOKEN),
  });
}

// PUT /admin/rooms/{cid} on the gateway (through ADMIN_URL). Throws on failure.
export function putRoom(concertId, settings) {
  const r = call('PUT', `${ADMIN_URL}/admin/rooms/${concertId}`, settings, {
    step: 'PUT /admin/rooms/{id}', headers: bearer(ADMIN_TOKEN),
  });
  if (!r.ok) throw new Error(`PUT /admin/rooms/${concertId} failed: ${r.status} ${r.res.body}`);
  return r.body;
}

export function getRoom(concertId) {
  return call('GET', `${ADMIN_URL}/admin/rooms/${concertId}`, null, {
    step: 'GET /admin/rooms/{id}', headers: bearer(ADMIN_TOKEN),
  });
}

// Runs `requests` (k6 http.batch entries built by fn(i)) in chunks; returns responses.
// ---------------------------------------------------------------- start line
//
// For scenarios that measure one step alone (hold storm, payments): setup() picks a
// start line (ms since the epoch) far enough ahead; every VU prepares ITS OWN share of
// buyers (join, charge, hold) in its single iteration, then waits for the start line, so
// the measured step starts on every VU at once and setup() never has to hand a large
// array (tokens, reservation ids) to every VU, which k6 copies and parses per VU.

// Half-open range [from, to) of `total` items for VU number `vu` (1-based) of `vus`.
export function vuShare(total, vus, vu) {
  const per = Math.floor(total / vus);
  const extra = total % vus;
  const k = vu - 1;
  const from = k * per + Math.min(k, extra);
  return [from, from + per + (k < extra ? 1 : 0)];
}

export const lateForStart = new Counter('vus_late_for_start');

// Sleeps until `startAt`; a VU whose preparation ran past it counts in
// `vus_late_for_start` (the measured window then starts late for it: raise PREP_S).
export function waitForStart(startAt) {
  const left = startAt - Date.now();
  if (left > 0) sleep(left / 1000);
  else lateForStart.add(1);
}

// Joins buyers `userIds` and returns their tokens. By default the room must admit them
// at once; `{ activeOnly: false }` also accepts buyers left waiting.
export function joinAll(concertId, userIds, { activeOnly = true } = {}) {
  return batched(userIds.length, 50, (i) => ({
    method: 'POST',
    url: `${BASE_URL}/v1/queue/tokens`,
    body: JSON.stringify({ concert_id: concertId, user_id: userIds[i] }),
    params: { headers: { 'Content-Type': 'application/json' }, tags: { name: 'POST /v1/queue/tokens (prepare)' } },
  })).map((r) => {
    const b = r.status === 200 || r.status === 201 ? JSON.parse(r.body) : null;
    if (!b || !b.token || (activeOnly && b.status !== 'active')) throw new Error(`prepare join: ${r.status} ${r.body}`);
    return b.token;
  });
}

export function batched(count, chunk, fn) {
  const out = [];
  for (let start = 0; start < count; start += chunk) {
    const reqs = [];
    for (let i = start; i < Math.min(count, start + chunk); i++) reqs.push(fn(i));
    for (const r of http.batch(reqs)) out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------- summary

const HIDDEN = new Set([
  'data_received', 'data_sent', 'http_req_blocked', 'http_req_connecting', 'http_req_tls_handshaking',
  'http_req_sending', 'http_req_receiving', 'http_req_waiting', 'vus', 'group_duration',
]);

function fmtNum(x, time) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  if (time) return x >= 1000 ? `${(x / 1000).toFixed(2)}s` : `${x.toFixed(1)}ms`;
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

export function metricValue(data, name, key) {
  const m = data.metrics[name];
  return m && m.values ? m.values[key] : undefined;
}

// Compact text summary, plus the full data as JSON to $SUMMARY_JSON when set.
// `extra` is a list of lines printed first (scenario-specific results).
export function summarize(data, title, extra = []) {
  const lines = [`==== ${title} ====`];
  const durS = data.state ? data.state.testRunDurationMs / 1000 : 0;
  lines.push(`run ${durS.toFixed(1)}s  base ${BASE_URL}`);
  for (const l of extra) lines.push(l);
  let failed = 0;
  const names = Object.keys(data.metrics).sort();
  const width = Math.min(60, Math.max(...names.map((n) => n.length)));
  for (const name of names) {
    const m = data.metrics[name];
    const v = m.values || {};
    const base = name.split('{')[0];
    if (HIDDEN.has(base)) continue;
    if (base === 'errors_by_code' && name !== base && !v.count) continue; // zero per-code rows
    const time = m.contains === 'time';
    let s;
    if (m.type === 'trend') {
      s = `avg=${fmtNum(v.avg, time)} p50=${fmtNum(v.med, time)} p95=${fmtNum(v['p(95)'], time)} ` +
        `p99=${fmtNum(v['p(99)'], time)} max=${fmtNum(v.max, time)}`;
    } else if (m.type === 'counter') {
      s = `count=${v.count} (${fmtNum(v.rate)}/s)`;
    } else if (m.type === 'rate') {
      s = `${(100 * (v.rate || 0)).toFixed(2)}% (${v.passes}/${(v.passes || 0) + (v.fails || 0)})`;
    } else {
      s = `value=${fmtNum(v.value)} max=${fmtNum(v.max)}`;
    }
    let th = '';
    if (m.thresholds) {
      for (const [expr, r] of Object.entries(m.thresholds)) {
        if (expr === 'count>=0') continue;
        th += ` ${r.ok ? 'ok' : 'FAILED'}[${expr}]`;
        if (!r.ok) failed++;
      }
    }
    lines.push(`${name.padEnd(width)} ${s}${th}`);
  }
  lines.push(failed ? `RESULT: FAILED (${failed} threshold(s) crossed)` : 'RESULT: all thresholds ok');
  const out = { stdout: lines.join('\n') + '\n' };
  if (SUMMARY_JSON) out[SUMMARY_JSON] = JSON.stringify(data, null, 2);
  return out;
}
