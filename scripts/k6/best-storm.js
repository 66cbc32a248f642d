// Best-available storm: BUYERS buyers, each asking for COUNT seats at once
// (`POST /v1/reservations {"schedule_id", "best_available": {"count": COUNT}}`), on ONE
// schedule of a venue (scripts/bench: 60,000 seats). Every VU first joins its own share of
// the buyers, then all VUs order at one start line PREP_S seconds after setup, so the storm
// is orders only and `order_window_ms` is the time to resolve all BUYERS orders.
// Pass: every buyer gets 201 with COUNT seats (BUYERS × COUNT must fit the schedule); a 503
// (`Retry-After`: the seats asked for were being taken right then) is asked again, up to
// RETRIES times, and counted in `order_retries`. That no seat went to two orders, and
// how many orders sit side by side, the caller reads from the database afterwards
// (scripts/bench does).
//
//   k6 run -e CONCERT_ID=7 -e SCHEDULE_ID=12 scripts/k6/best-storm.js
//
// The concert must exist and its room be opened wide (every buyer admitted at join, e.g.
// PUT /admin/rooms/{cid} {"capacity":1000000,"batch_size":100000}); this script makes
// neither, so a caller can measure PostgreSQL writes around the storm alone.
// Env: BASE_URL, CONCERT_ID, SCHEDULE_ID (both required), BUYERS (20000), COUNT (2),
// VUS (256), PREP_S (BUYERS/1000 + 8), RETRIES (5), USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, TREND_STATS, envInt, codeThresholds, userBase, unexpectedErrors, summarize, metricValue,
  vuShare, waitForStart, joinAll, codeOf, errorsByCode, parseBody,
} from './lib.js';

const BUYERS = envInt('BUYERS', 20000);
const COUNT = envInt('COUNT', 2);
const VUS = envInt('VUS', 256);
const PREP_S = envInt('PREP_S', Math.ceil(BUYERS / 1000) + 8);
const RETRIES = envInt('RETRIES', 5);
const CONCERT = envInt('CONCERT_ID', 0);
const SCHEDULE = envInt('SCHEDULE_ID', 0);

const orderAttempts = new Counter('order_attempts');
const ordersCreated = new Counter('orders_created');
const seatsHeld = new Counter('order_seats');
const orderRetries = new Counter('order_retries');
const orderRefused = new Counter('order_refused'); // 409: NOT_ENOUGH_SEATS, TICKET_LIMIT, ...
const orderOther = new Counter('order_other');
// First order sent and last one answered per VU, ms after setup() ended: window =
// max(end) - min(start).
const orderStart = new Trend('order_start_offset_ms', true);
const orderEnd = new Trend('order_end_offset_ms', true);

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

export const options = {
  setupTimeout: '2m',
  scenarios: { storm: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: '10m' } },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    orders_created: [`count==${BUYERS}`],
    order_seats: [`count==${BUYERS * COUNT}`],
    order_other: ['count==0'],
    vus_late_for_start: ['count==0'],
    unexpected_errors: ['rate==0'],
  }),
};

export function setup() {
  if (!(CONCERT > 0 && SCHEDULE > 0)) throw new Error('CONCERT_ID and SCHEDULE_ID are required');
  console.log(`best-storm: concert ${CONCERT}, schedule ${SCHEDULE}, ${BUYERS} buyers × ${COUNT} seats`);
  return { userBase: userBase(), startAt: Date.now() + PREP_S * 1000, t0: Date.now() };
}

// This VU's buyers join first; the orders start at the start line. As in hold-storm.js,
// an order is one request and a few counters (k6 shares the CPUs with the services): the
// answer is read only for its seat count, the VU keeps its own first start and last end.
export default function (data) {
  const [from, to] = vuShare(BUYERS, VUS, exec.vu.idInTest);
  const users = [];
  for (let i = from; i < to; i++) users.push(data.userBase + i);
  const tokens = joinAll(CONCERT, users);
  const body = JSON.stringify({ schedule_id: SCHEDULE, best_available: { count: COUNT } });
  const params = tokens.map((token) => ({
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    tags: { name: 'POST /v1/reservations (best available)' },
  }));
  waitForStart(data.startAt);
  let firstStart = Infinity;
  let lastEnd = 0;
  let unexpected = 0;
  for (const p of params) {
    orderAttempts.add(1);
    const t = Date.now();
    if (t < firstStart) firstStart = t;
    let r = http.post(`${BASE_URL}/v1/reservations`, body, p);
    for (let retry = 0; r.status === 503 && retry < RETRIES; retry++) {
      orderRetries.add(1);
      sleep(Math.min(Number(r.headers['Retry-After']) || 1, 2));
      r = http.post(`${BASE_URL}/v1/reservations`, body, p);
    }
    lastEnd = Date.now();
    if (r.status === 201) {
      ordersCreated.add(1);
      const order = parseBody(r);
      seatsHeld.add(order && Array.isArray(order.reservations) ? order.reservations.length : 0);
      continue;
    }
    const code = codeOf(r, parseBody(r));
    errorsByCode.add(1, { code, step: 'POST /v1/reservations' });
    if (r.status === 409) orderRefused.add(1, { code: String(code) });
    else {
      orderOther.add(1, { status: String(r.status), code: String(code) });
      unexpected++;
    }
  }
  if (lastEnd > 0) {
    orderStart.add(firstStart - data.t0);
    orderEnd.add(lastEnd - data.t0);
  }
  unexpectedErrors.add(unexpected > 0, { step: 'POST /v1/reservations' });
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const created = n('orders_created');
  const verdict = created === BUYERS && n('order_seats') === BUYERS * COUNT && n('order_other') === 0 ? 'PASS' : 'FAIL';
  const first = metricValue(data, 'order_start_offset_ms', 'min');
  const last = metricValue(data, 'order_end_offset_ms', 'max');
  const windowMs = first !== undefined && last !== undefined ? last - first : 0;
  return summarize(data, 'best-storm', [
    `concert=${CONCERT} schedule=${SCHEDULE} buyers=${BUYERS} count=${COUNT}`,
    `orders: attempts=${n('order_attempts')}/${BUYERS} created(201)=${created} seats=${n('order_seats')} ` +
      `refused(409)=${n('order_refused')} other=${n('order_other')} retries(503)=${n('order_retries')} -> ${verdict}`,
    `order_window_ms=${windowMs.toFixed(0)} (first order sent -> last order answered; ` +
      `${windowMs > 0 ? ((1000 * created) / windowMs).toFixed(0) : '-'} orders/s)`,
  ]);
}
