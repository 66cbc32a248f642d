// Sale opening: buyers arrive at a ramping rate; each iteration is one buyer
// going through the whole flow. The buyer charges points, joins the line, waits
// until admitted, picks a seat, holds it and pays.
//
//   k6 run -e CONCERT_ID=1 scripts/k6/sale.js
//
// Env: BASE_URL, CONCERT_ID, START_RATE (5/s), PEAK_RATE (50/s), RAMP_S (30),
// HOLD_S (60), RAMP_DOWN_S (10), PRE_VUS (100), MAX_VUS (2000), MAX_WAIT_S (120),
// MAX_HOLD_TRIES (5), CHARGE_AMOUNT (1000000), USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { check, fail } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, CONCERT_ID, TREND_STATS, envInt, codeThresholds, userBase, uuidv4, shuffle, call,
  chargePoints, waitUntilActive, leaveQueue, listSchedules, listSeats, holdSeat, pay, summarize, metricValue,
} from './lib.js';

const START_RATE = envInt('START_RATE', 5);
const PEAK_RATE = envInt('PEAK_RATE', 50);
const RAMP_S = envInt('RAMP_S', 30);
const HOLD_S = envInt('HOLD_S', 60);
const RAMP_DOWN_S = envInt('RAMP_DOWN_S', 10);
const MAX_WAIT_S = envInt('MAX_WAIT_S', 120);
const MAX_HOLD_TRIES = envInt('MAX_HOLD_TRIES', 5);
const CHARGE_AMOUNT = envInt('CHARGE_AMOUNT', 1000000);

const timeInLine = new Trend('time_in_line_ms', true);
const holdConflicts = new Counter('hold_conflicts');
const paymentsOk = new Counter('payments_ok');
const buyersAdmitted = new Counter('buyers_admitted');
const gaveUp = new Counter('buyers_gave_up');
const soldOut = new Counter('buyers_sold_out');
// Told "sold out" by the line itself (409 SOLD_OUT on join, or status sold_out while
// waiting): they never got an admission to nothing.
const toldSoldOut = new Counter('buyers_told_sold_out');
const admissionLost = new Counter('buyers_admission_lost');
const noSeat = new Counter('buyers_no_seat');

// 409 (seat taken, hold limit), 410 (ticket gone), 403 (admission lapsed) and
// 429 (back-pressure) are outcomes of a busy sale, not failures.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 403, 409, 410, 429));

export const options = {
  scenarios: {
    sale: {
      executor: 'ramping-arrival-rate',
      startRate: START_RATE,
      timeUnit: '1s',
      preAllocatedVUs: envInt('PRE_VUS', 100),
      maxVUs: envInt('MAX_VUS', 2000),
      stages: [
        { target: PEAK_RATE, duration: `${RAMP_S}s` },
        { target: PEAK_RATE, duration: `${HOLD_S}s` },
        { target: 0, duration: `${RAMP_DOWN_S}s` },
      ],
      gracefulStop: `${MAX_WAIT_S + 60}s`,
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    unexpected_errors: ['rate<0.01'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    'http_req_duration{name:POST /v1/queue/tokens}': ['p(99)<1000'],
    'http_req_duration{name:GET /v1/queue/status}': ['p(99)<1000'],
    'http_req_duration{name:POST /v1/reservations}': ['p(99)<2000'],
    'http_req_duration{name:POST /v1/payments}': ['p(99)<2000'],
  }),
};

export function setup() {
  const r = call('GET', `${BASE_URL}/v1/concerts/${CONCERT_ID}`, null, { step: 'GET /v1/concerts/{id}' });
  if (!r.ok) fail(`concert ${CONCERT_ID} not reachable at ${BASE_URL}: ${r.status} ${r.res.body}`);
  return { userBase: userBase(), concertId: CONCERT_ID };
}

export default function (data) {
  const userId = data.userBase + exec.scenario.iterationInTest;
  const cid = data.concertId;

  const c = chargePoints(userId, CHARGE_AMOUNT, `sale-charge-${userId}`);
  if (!check(c, { 'charge ok': (x) => x.ok })) return;

  const w = waitUntilActive(cid, userId, MAX_WAIT_S);
  if (w.state === 'sold_out') {
    toldSoldOut.add(1);
    return;
  }
  if (w.state === 'timeout') {
    gaveUp.add(1);
    leaveQueue(w.token);
    return;
  }
  if (!check(w, { 'admitted': (x) => x.state === 'active' })) return;
  buyersAdmitted.add(1);
  timeInLine.add(w.waitedMs);
  const token = w.token;

  const s = listSchedules(token, cid);
  if (s.code === 'NOT_ADMITTED') { admissionLost.add(1); return; }
  if (!check(s, { 'schedules listed': (x) => x.ok && Array.isArray(x.body) })) return;
  const schedules = shuffle(s.body.filter((x) => Number(x.available_seats) > 0));
  if (schedules.length === 0) {
    soldOut.add(1);
    leaveQueue(token);
    return;
  }

  let reservation = null;
  let tries = 0;
  for (const sch of schedules) {
    if (reservation || tries >= MAX_HOLD_TRIES) break;
    const seats = listSeats(token, sch.schedule_id);
    if (seats.code === 'NOT_ADMITTED') { admissionLost.add(1); return; }
    if (!check(seats, { 'seats listed': (x) => x.ok && x.body && Array.isArray(x.body.seats) })) return;
    const free = shuffle(seats.body.seats.filter((x) => x.status === 'AVAILABLE').map((x) => x.seat_no));
    while (free.length > 0 && tries < MAX_HOLD_TRIES) {
      tries++;
      const h = holdSeat(token, sch.schedule_id, free.pop());
      if (h.ok) { reservation = h.body; break; }
      if (h.code === 'SEAT_UNAVAILABLE') { holdConflicts.add(1); continue; }
      if (h.code === 'NOT_ADMITTED') { admissionLost.add(1); return; }
      return; // HOLD_LIMIT or an unexpected answer (already counted)
    }
  }
  if (!reservation) {
    noSeat.add(1);
    leaveQueue(token);
    return;
  }
  check(reservation, { 'hold is HELD': (x) => x.status === 'HELD' && !!x.reservation_id });

  const key = uuidv4();
  let p = pay(token, [reservation.reservation_id], key);
  if (!p.ok && (p.status === 0 || p.status >= 500)) {
    // Unknown outcome: retry once with the SAME Idempotency-Key (charges once).
    p = pay(token, [reservation.reservation_id], key);
  }
  if (check(p, { 'payment created': (x) => x.ok && !!x.body && !!x.body.payment_id })) paymentsOk.add(1);
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  return summarize(data, 'sale', [
    `buyers: admitted=${n('buyers_admitted')} paid=${n('payments_ok')} gave_up=${n('buyers_gave_up')} ` +
      `sold_out=${n('buyers_sold_out')} told_sold_out=${n('buyers_told_sold_out')} no_seat=${n('buyers_no_seat')} ` +
      `admission_lost=${n('buyers_admission_lost')} ` +
      `hold_conflicts=${n('hold_conflicts')} dropped_iterations=${n('dropped_iterations')}`,
  ]);
}
