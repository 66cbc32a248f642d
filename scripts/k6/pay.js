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
// PREPARE (0; 1 = setup() also joins every buyer and holds its seat, so the measured
// iterations are payments only and `tps` is the payment path's own throughput).
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, TREND_STATS, envInt, codeThresholds, userBase, futureIso, uuidv4, unexpectedErrors,
  batched, createConcert, putRoom, waitUntilActive, holdSeat, pay, summarize, metricValue,
} from './lib.js';

const ITERATIONS = envInt('ITERATIONS', 1000);
const VUS = envInt('VUS', 50);
// Booking accepts at most 100 schedules per concert: widen schedules if needed.
const SEATS_PER_SCHEDULE = Math.max(envInt('SEATS_PER_SCHEDULE', 50), Math.ceil(ITERATIONS / 100));
const PRICE = envInt('PRICE', 1000);
const P99_MS = envInt('P99_MS', 1000);
const MAX_WAIT_S = envInt('MAX_WAIT_S', 30);
const REPLAY = envInt('REPLAY', 0) === 1;

const paymentsOk = new Counter('payments_ok');
const paymentMs = new Trend('payment_ms', true);
// Time of each successful payment relative to the end of setup (for the TPS window).
const paidAt = new Trend('payment_done_offset_ms', true);
const replayMismatch = new Counter('idempotency_replay_mismatch');

// With REPLAY the second payment call may be refused at the gateway (401/403/410).
http.setResponseCallback(REPLAY
  ? http.expectedStatuses({ min: 200, max: 299 }, 401, 403, 410)
  : http.expectedStatuses({ min: 200, max: 299 }));

export const options = {
  setupTimeout: '10m',
  scenarios: {
    pay: { executor: 'shared-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: '15m' },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    payments_ok: [`count==${ITERATIONS}`],
    'http_req_duration{name:POST /v1/payments}': [`p(99)<${P99_MS}`],
    idempotency_replay_mismatch: ['count==0'],
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
  const chunk = 100;
  for (let start = 0; start < ITERATIONS; start += chunk) {
    const reqs = [];
    for (let i = start; i < Math.min(ITERATIONS, start + chunk); i++) {
      reqs.push({
        method: 'POST',
        url: `${BASE_URL}/v1/users/${base + i}/points/charge`,
        body: JSON.stringify({ amount: PRICE * 2 }),
        params: {
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `pay-setup-${base + i}` },
          tags: { name: 'POST /v1/users/{id}/points/charge (setup)' },
        },
      });
    }
    for (const r of http.batch(reqs)) {
      if (r.status < 200 || r.status >= 300) fail(`setup charge failed: ${r.status} ${r.body}`);
    }
  }
  sleep(envInt('ROOM_APPLY_WAIT_S', 2));
  let prepared = null;
  if (envInt('PREPARE', 0) === 1) {
    const tokens = batched(ITERATIONS, 100, (i) => ({
      method: 'POST',
      url: `${BASE_URL}/v1/queue/tokens`,
      body: JSON.stringify({ concert_id: concertId, user_id: base + i }),
      params: { headers: { 'Content-Type': 'application/json' }, tags: { name: 'POST /v1/queue/tokens (setup)' } },
    })).map((r) => {
      const b = r.status === 200 || r.status === 201 ? JSON.parse(r.body) : null;
      if (!b || b.status !== 'active') fail(`prepare join: ${r.status} ${r.body}`);
      return b.token;
    });
    const holds = batched(ITERATIONS, 100, (i) => ({
      method: 'POST',
      url: `${BASE_URL}/v1/reservations`,
      body: JSON.stringify({ schedule_id: scheduleIds[Math.floor(i / SEATS_PER_SCHEDULE)], seat_no: (i % SEATS_PER_SCHEDULE) + 1 }),
      params: { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[i]}` }, tags: { name: 'POST /v1/reservations (setup)' } },
    })).map((r) => {
      if (r.status !== 201) fail(`prepare hold: ${r.status} ${r.body}`);
      return JSON.parse(r.body).reservation_id;
    });
    prepared = { tokens, holds };
  }
  console.log(`pay: concert ${concertId}, ${nSchedules} schedules x ${SEATS_PER_SCHEDULE} seats, ${ITERATIONS} buyers`);
  return { concertId, scheduleIds, userBase: base, prepared, t0: Date.now() };
}

export default function (data) {
  const i = exec.scenario.iterationInTest;
  const userId = data.userBase + i;
  const scheduleId = data.scheduleIds[Math.floor(i / SEATS_PER_SCHEDULE)];
  const seatNo = (i % SEATS_PER_SCHEDULE) + 1;

  let w;
  let h;
  if (data.prepared) {
    w = { state: 'active', token: data.prepared.tokens[i] };
    h = { status: 201, body: { reservation_id: data.prepared.holds[i] } };
  } else {
    w = waitUntilActive(data.concertId, userId, MAX_WAIT_S);
    if (!check(w, { admitted: (x) => x.state === 'active' })) {
      if (w.state === 'timeout') unexpectedErrors.add(true, { step: 'admission' });
      return;
    }
    h = holdSeat(w.token, scheduleId, seatNo, []);
    if (!check(h, { 'hold 201': (x) => x.status === 201 && !!x.body && !!x.body.reservation_id })) return;
  }

  const key = uuidv4();
  const p = pay(w.token, [h.body.reservation_id], key);
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
    const again = pay(w.token, [h.body.reservation_id], key, ['NOT_ADMITTED', 'TICKET_GONE', 'INVALID_TOKEN']);
    if (again.ok && (!again.body || again.body.payment_id !== p.body.payment_id)) replayMismatch.add(1);
  }
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const ok = n('payments_ok');
  const first = metricValue(data, 'payment_done_offset_ms', 'min');
  const last = metricValue(data, 'payment_done_offset_ms', 'max');
  const windowS = first !== undefined && last > first ? (last - first) / 1000 : 0;
  const tps = windowS > 0 ? ((ok - 1) / windowS).toFixed(1) : '-';
  const p99 = metricValue(data, 'http_req_duration{name:POST /v1/payments}', 'p(99)');
  return summarize(data, 'pay', [
    `payments: ok=${ok}/${ITERATIONS} window=${windowS.toFixed(1)}s tps=${tps} ` +
      `p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms replay_mismatch=${n('idempotency_replay_mismatch')}`,
  ]);
}
