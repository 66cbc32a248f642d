// Payment throughput: every iteration is one buyer who joins, holds the seat
// assigned to it (no contention: iteration i gets seat i of a fresh concert)
// and pays. Reports payments per second over the payment window.
//
//   k6 run scripts/k6/pay.js
//
// setup(): creates a concert with enough SEATS_PER_SCHEDULE-seat schedules for
// ITERATIONS buyers (booking admin API at BOOKING_URL), opens its room wide on
// the gateway, and charges every buyer PRICE*2 points.
// Env: BASE_URL, BOOKING_URL, ADMIN_TOKEN, BOOKING_ADMIN_TOKEN, ITERATIONS (1000),
// VUS (50), SEATS_PER_SCHEDULE (50), PRICE (1000), P99_MS (1000), MAX_WAIT_S (30),
// REPLAY (0; 1 = pay again with the same Idempotency-Key and expect the same
// payment), ROOM_APPLY_WAIT_S (2), USER_OFFSET, SUMMARY_JSON.
// PREPARE (0; 1 = every VU first charges, joins and holds for its own share of the buyers,
// then all VUs start paying at one start line PREP_S seconds after setup, so the measured
// part is payments only and `tps` is the payment path's own throughput: payments / time
// from the start line to the last payment). PREP_S (ITERATIONS/400 + 8).
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, TREND_STATS, envInt, codeThresholds, userBase, futureIso, uuidv4, unexpectedErrors,
  batched, createConcert, putRoom, waitUntilActive, holdSeat, pay, summarize, metricValue,
  vuShare, waitForStart, joinAll, codeOf, parseBody,
} from './lib.js';

const ITERATIONS = envInt('ITERATIONS', 1000);
const VUS = envInt('VUS', 50);
// Booking accepts at most 100 schedules per concert: widen schedules if needed.
const SEATS_PER_SCHEDULE = Math.max(envInt('SEATS_PER_SCHEDULE', 50), Math.ceil(ITERATIONS / 100));
const PRICE = envInt('PRICE', 1000);
const P99_MS = envInt('P99_MS', 1000);
const MAX_WAIT_S = envInt('MAX_WAIT_S', 30);
const REPLAY = envInt('REPLAY', 0) === 1;
const PREPARE = envInt('PREPARE', 0) === 1;
const PREP_S = envInt('PREP_S', Math.ceil(ITERATIONS / 400) + 8);

const paymentsOk = new Counter('payments_ok');
const paymentMs = new Trend('payment_ms', true);
// Time of each successful payment relative to the end of setup (for the TPS window).
const paidAt = new Trend('payment_done_offset_ms', true);
const replayMismatch = new Counter('idempotency_replay_mismatch');
// PREPARE: payments that were not 201 with the right amount and balance.
const paymentsWrong = new Counter('payments_wrong');

// With REPLAY the second payment call may be refused at the gateway (401/403/410).
http.setResponseCallback(REPLAY
  ? http.expectedStatuses({ min: 200, max: 299 }, 401, 403, 410)
  : http.expectedStatuses({ min: 200, max: 299 }));

export const options = {
  setupTimeout: '10m',
  scenarios: {
    pay: PREPARE
      ? { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: '15m' }
      : { executor: 'shared-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: '15m' },
  },
  summaryTrendStats: TREND_STATS,
  systemTags: ['status', 'method', 'name', 'scenario', 'expected_response'],
  thresholds: Object.assign(codeThresholds(), {
    payments_ok: [`count==${ITERATIONS}`],
    'http_req_duration{name:POST /v1/payments}': [`p(99)<${P99_MS}`],
    idempotency_replay_mismatch: ['count==0'],
    payments_wrong: ['count==0'],
    vus_late_for_start: ['count==0'],
    unexpected_errors: ['rate==0'],
    http_req_failed: ['rate==0'],
  }),
};

export function setup() {
  const nSchedules = Math.ceil(ITERATIONS / SEATS_PER_SCHEDULE);
  const schedules = [];
  for (let k = 0; k < nSchedules; k++) {
    schedules.push({ starts_at: futureIso(30 + k), seats: SEATS_PER_SCHEDULE, price: PRICE });
  }
  const { concertId, scheduleIds } = createConcert(`pay ${new Date().toISOString()}`, schedules);
  putRoom(concertId, { capacity: 100000, batch_size: 100000 });

  const base = userBase();
  if (!PREPARE) chargeBuyers(base, 0, ITERATIONS);
  sleep(envInt('ROOM_APPLY_WAIT_S', 2));
  const startAt = PREPARE ? Date.now() + PREP_S * 1000 : 0;
  console.log(`pay: concert ${concertId}, ${nSchedules} schedules x ${SEATS_PER_SCHEDULE} seats, ${ITERATIONS} buyers`);
  return { concertId, scheduleIds, userBase: base, startAt, t0: Date.now() };
}

// Charges buyers [from, to) PRICE*2 points each.
function chargeBuyers(base, from, to) {
  batched(to - from, 50, (k) => ({
    method: 'POST',
    url: `${BASE_URL}/v1/users/${base + from + k}/points/charge`,
    body: JSON.stringify({ amount: PRICE * 2 }),
    params: {
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `pay-setup-${base + from + k}` },
      tags: { name: 'POST /v1/users/{id}/points/charge (prepare)' },
    },
  })).forEach((r) => {
    if (r.status < 200 || r.status >= 300) fail(`charge failed: ${r.status} ${r.body}`);
  });
}

const scheduleOf = (data, i) => data.scheduleIds[Math.floor(i / SEATS_PER_SCHEDULE)];
const seatOf = (i) => (i % SEATS_PER_SCHEDULE) + 1;

// PREPARE: this VU's buyers are charged, admitted and hold their seats, then pay from the
// start line on.
function preparedShare(data) {
  const [from, to] = vuShare(ITERATIONS, VUS, exec.vu.idInTest);
  chargeBuyers(data.userBase, from, to);
  const users = [];
  for (let i = from; i < to; i++) users.push(data.userBase + i);
  const tokens = joinAll(data.concertId, users);
  const holds = batched(to - from, 50, (k) => ({
    method: 'POST',
    url: `${BASE_URL}/v1/reservations`,
    body: JSON.stringify({ schedule_id: scheduleOf(data, from + k), seat_no: seatOf(from + k) }),
    params: { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[k]}` }, tags: { name: 'POST /v1/reservations (prepare)' } },
  })).map((r) => {
    if (r.status !== 201) fail(`prepare hold: ${r.status} ${r.body}`);
    return JSON.parse(r.body).reservation_id;
  });
  if (REPLAY) {
    waitForStart(data.startAt);
    for (let k = 0; k < to - from; k++) payOnce(data, tokens[k], holds[k]);
    return;
  }
  // The measured part: one request per payment and its checks folded into counters, no
  // per-payment trend samples (k6 shares the CPUs; the VU records its last payment time
  // once), requests built before the start line. Same validation as payOnce: 201,
  // amount = price, balance = charge - price.
  const requests = [];
  for (let k = 0; k < to - from; k++) {
    requests.push([JSON.stringify({ reservation_ids: [holds[k]] }), {
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${tokens[k]}`,
        'Idempotency-Key': `pay-${data.t0}-${data.userBase + from + k}`,
      },
      tags: { name: 'POST /v1/payments' },
    }]);
  }
  waitForStart(data.startAt);
  let lastDone = 0;
  let unexpected = 0;
  const url = `${BASE_URL}/v1/payments`;
  for (const [body, params] of requests) {
    const r = http.post(url, body, params);
    const b = parseBody(r);
    if (r.status === 201 && b && b.payment_id && Number(b.amount) === PRICE && Number(b.balance) === PRICE) {
      paymentsOk.add(1);
      lastDone = Date.now();
    } else {
      unexpected++;
      paymentsWrong.add(1, { status: String(r.status), code: String(codeOf(r, b)) });
      if (unexpected <= 3) console.warn(`[VU ${__VU}] payment: ${r.status} ${String(r.body).slice(0, 200)}`);
    }
  }
  if (lastDone > 0) paidAt.add(lastDone - data.t0);
  unexpectedErrors.add(unexpected > 0, { step: 'POST /v1/payments' });
}

export default function (data) {
  if (PREPARE) {
    preparedShare(data);
    return;
  }
  const i = exec.scenario.iterationInTest;
  const w = waitUntilActive(data.concertId, data.userBase + i, MAX_WAIT_S);
  if (!check(w, { admitted: (x) => x.state === 'active' })) {
    if (w.state === 'timeout') unexpectedErrors.add(true, { step: 'admission' });
    return;
  }
  const h = holdSeat(w.token, scheduleOf(data, i), seatOf(i), []);
  if (!check(h, { 'hold 201': (x) => x.status === 201 && !!x.body && !!x.body.reservation_id })) return;
  payOnce(data, w.token, h.body.reservation_id);
}

function payOnce(data, token, reservationId) {
  const key = uuidv4();
  const p = pay(token, [reservationId], key);
  paymentMs.add(p.res.timings.duration);
  const ok = check(p, {
    'payment 201': (x) => x.status === 201 && !!x.body && !!x.body.payment_id,
    'amount = price': (x) => !!x.body && Number(x.body.amount) === PRICE,
    'balance = charge - price': (x) => !!x.body && Number(x.body.balance) === PRICE,
  });
  if (!ok) return;
  paymentsOk.add(1);
  paidAt.add(Date.now() - data.t0);

  if (REPLAY) {
    // The admission ended with the payment, so the gateway may refuse the token
    // (NOT_ADMITTED / TICKET_GONE / INVALID_TOKEN); if it lets the call through,
    // booking must answer with the same payment.
    const again = pay(token, [reservationId], key, ['NOT_ADMITTED', 'TICKET_GONE', 'INVALID_TOKEN']);
    if (again.ok && (!again.body || again.body.payment_id !== p.body.payment_id)) replayMismatch.add(1);
  }
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const ok = n('payments_ok');
  const sd = data.setup_data || {};
  const last = metricValue(data, 'payment_done_offset_ms', 'max');
  // PREPARE: from the start line (all VUs begin paying) to the last payment; else from
  // the first payment to the last.
  const first = PREPARE && sd.startAt ? sd.startAt - sd.t0 : metricValue(data, 'payment_done_offset_ms', 'min');
  const counted = PREPARE ? ok : ok - 1;
  const windowS = first !== undefined && last > first ? (last - first) / 1000 : 0;
  const tps = windowS > 0 ? (counted / windowS).toFixed(1) : '-';
  const p99 = metricValue(data, 'http_req_duration{name:POST /v1/payments}', 'p(99)');
  return summarize(data, 'pay', [
    `payments: ok=${ok}/${ITERATIONS} window=${windowS.toFixed(1)}s tps=${tps} ` +
      `p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms replay_mismatch=${n('idempotency_replay_mismatch')}`,
  ]);
}
