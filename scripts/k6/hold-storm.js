// Hold storm: ATTEMPTS hold attempts, as fast as the VUs can go, on ONE
// schedule of SEATS seats. Every attempt is a buyer who joins the line (the
// room is opened wide, so buyers are admitted at once) and holds a random seat.
// Pass: exactly SEATS holds succeed (201) and every other attempt gets 409
// SEAT_UNAVAILABLE or HOLD_LIMIT. Anything else fails the run. Seats are
// picked at random, so ATTEMPTS must be much larger than SEATS for every seat
// to be tried (10000 over 50: a seat is missed with probability ~e^-200).
//
//   k6 run scripts/k6/hold-storm.js
//
// setup(): creates a concert with one SEATS-seat schedule via booking's admin
// API (BOOKING_URL) and opens its room on the gateway
// (PUT /admin/rooms/{cid} {"capacity":100000,"batch_size":100000}).
// Env: BASE_URL, BOOKING_URL, ADMIN_TOKEN, BOOKING_ADMIN_TOKEN, ATTEMPTS (10000),
// VUS (100), SEATS (50), USERS (0 = one new user per attempt; N = attempts
// cycle over N users, so some hit HOLD_LIMIT; then min(SEATS, N*MAX_PER_USER)
// holds must succeed), MAX_PER_USER (4), MAX_WAIT_S (30),
// ROOM_APPLY_WAIT_S (2), USER_OFFSET, SUMMARY_JSON, EXPECT_HOLDS (holds that must succeed).
// CONCERT_ID + SCHEDULE_ID: use that concert (its room already opened wide) instead of
// creating one, so a caller can measure PostgreSQL writes around the storm alone.
// PREJOIN (0; 1 = every VU first joins its own share of the buyers, then all VUs start
// holding at one start line PREP_S seconds after setup, so the storm is holds only and
// `hold_window_ms` is the time to resolve all ATTEMPTS holds). PREP_S (ATTEMPTS/1000 + 8).
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL, TREND_STATS, envInt, codeThresholds, userBase, futureIso, randInt, unexpectedErrors,
  createConcert, putRoom, getConcertAdmin, waitUntilActive, holdSeat, summarize, metricValue,
  vuShare, waitForStart, joinAll, codeOf, errorsByCode, parseBody,
} from './lib.js';

const ATTEMPTS = envInt('ATTEMPTS', 10000);
const VUS = envInt('VUS', 100);
const SEATS = envInt('SEATS', 50);
const USERS = envInt('USERS', 0);
const MAX_WAIT_S = envInt('MAX_WAIT_S', 30);
const MAX_PER_USER = envInt('MAX_PER_USER', 4); // booking's holds.max_per_user
// Holds that must succeed: every seat, unless too few users can hold them all (EXPECT_HOLDS
// overrides: 0 for a storm on a sold-out schedule).
const EXPECTED = envInt('EXPECT_HOLDS', USERS > 0 ? Math.min(SEATS, USERS * MAX_PER_USER) : SEATS);

const holdAttempts = new Counter('hold_attempts');
const holdsCreated = new Counter('holds_created');
const holdConflicts = new Counter('hold_conflicts');
const holdLimit = new Counter('hold_limit');
const holdOther = new Counter('hold_other');
const notAdmitted = new Counter('buyers_not_admitted');
const PREJOIN = envInt('PREJOIN', 0) === 1;
const PREP_S = envInt('PREP_S', Math.ceil(ATTEMPTS / 1000) + 8);
const GIVEN_CONCERT = envInt('CONCERT_ID', 0);
const GIVEN_SCHEDULE = envInt('SCHEDULE_ID', 0);
// Start and end of each hold call, ms after setup() ended: window = max(end) - min(start).
const holdStart = new Trend('hold_start_offset_ms', true);
const holdEnd = new Trend('hold_end_offset_ms', true);

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

export const options = {
  setupTimeout: '2m',
  scenarios: {
    storm: PREJOIN
      ? { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: '10m' }
      : { executor: 'shared-iterations', vus: VUS, iterations: ATTEMPTS, maxDuration: '10m' },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    holds_created: [`count==${EXPECTED}`],
    hold_attempts: [`count==${ATTEMPTS}`],
    hold_other: ['count==0'],
    buyers_not_admitted: ['count==0'],
    vus_late_for_start: ['count==0'],
    unexpected_errors: ['rate==0'],
    http_req_failed: ['rate==0'],
  }),
};

export function setup() {
  let concertId = GIVEN_CONCERT;
  let scheduleIds = [GIVEN_SCHEDULE];
  if (!(GIVEN_CONCERT > 0 && GIVEN_SCHEDULE > 0)) {
    const title = `hold-storm ${new Date().toISOString()}`;
    ({ concertId, scheduleIds } = createConcert(title, [{ starts_at: futureIso(30), seats: SEATS, price: 1000 }]));
    putRoom(concertId, { capacity: 100000, batch_size: 100000 });
    sleep(envInt('ROOM_APPLY_WAIT_S', 2)); // every gateway applies room changes within one tick
  }
  const base = userBase();
  const startAt = PREJOIN ? Date.now() + PREP_S * 1000 : 0;
  console.log(`hold-storm: concert ${concertId}, schedule ${scheduleIds[0]}, ${SEATS} seats, ${ATTEMPTS} attempts`);
  return { concertId, scheduleId: scheduleIds[0], userBase: base, startAt, t0: Date.now() };
}

export default function (data) {
  if (PREJOIN) {
    prejoinedShare(data);
    return;
  }
  const i = exec.scenario.iterationInTest;
  const userId = data.userBase + (USERS > 0 ? i % USERS : i);
  const w = waitUntilActive(data.concertId, userId, MAX_WAIT_S);
  if (w.state !== 'active') {
    notAdmitted.add(1);
    if (w.state === 'timeout') unexpectedErrors.add(true, { step: 'admission' });
    return;
  }
  attempt(data, w.token);
}

// PREJOIN: this VU's attempts; its buyers join first, the holds start at the start line.
// The storm itself is k6's busiest phase (it measured half the CPU of the machine), so each
// attempt here is one request and a few counters: no per-attempt check or timing samples —
// the VU keeps its own first start and last end and records them once.
function prejoinedShare(data) {
  const [from, to] = vuShare(ATTEMPTS, VUS, exec.vu.idInTest);
  const users = [];
  for (let i = from; i < to; i++) users.push(data.userBase + (USERS > 0 ? i % USERS : i));
  const distinct = [...new Set(users)];
  const tokens = joinAll(data.concertId, distinct);
  const paramsOf = new Map(distinct.map((u, k) => [u, {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[k]}` },
    tags: { name: 'POST /v1/reservations' },
  }]));
  waitForStart(data.startAt);
  let firstStart = Infinity;
  let lastEnd = 0;
  let unexpected = 0;
  for (const u of users) {
    const body = JSON.stringify({ schedule_id: data.scheduleId, seat_no: randInt(1, SEATS) });
    holdAttempts.add(1);
    const t = Date.now();
    if (t < firstStart) firstStart = t;
    const r = http.post(`${BASE_URL}/v1/reservations`, body, paramsOf.get(u));
    lastEnd = Date.now();
    if (r.status === 201) {
      holdsCreated.add(1);
      continue;
    }
    const code = codeOf(r, parseBody(r));
    if (r.status === 409 && code === 'SEAT_UNAVAILABLE') holdConflicts.add(1);
    else if (r.status === 409 && code === 'HOLD_LIMIT') holdLimit.add(1);
    else {
      holdOther.add(1, { status: String(r.status), code: String(code) });
      errorsByCode.add(1, { code, step: 'POST /v1/reservations' });
      unexpected++;
    }
  }
  if (lastEnd > 0) {
    holdStart.add(firstStart - data.t0);
    holdEnd.add(lastEnd - data.t0);
  }
  unexpectedErrors.add(unexpected > 0, { step: 'POST /v1/reservations' });
}

function attempt(data, token) {
  holdAttempts.add(1);
  holdStart.add(Date.now() - data.t0);
  const h = holdSeat(token, data.scheduleId, randInt(1, SEATS), ['SEAT_UNAVAILABLE', 'HOLD_LIMIT']);
  holdEnd.add(Date.now() - data.t0);
  if (h.status === 201) holdsCreated.add(1);
  else if (h.code === 'SEAT_UNAVAILABLE') holdConflicts.add(1);
  else if (h.code === 'HOLD_LIMIT') holdLimit.add(1);
  else holdOther.add(1, { status: String(h.status), code: String(h.code) });
  check(h, { 'hold: 201, SEAT_UNAVAILABLE or HOLD_LIMIT': (x) => x.status === 201 || (x.status === 409 && (x.code === 'SEAT_UNAVAILABLE' || x.code === 'HOLD_LIMIT')) });
}

export function teardown(data) {
  const r = getConcertAdmin(data.concertId);
  console.log(`hold-storm: admin view of concert ${data.concertId}: ${r.status} ${String(r.res.body).slice(0, 500)}`);
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const created = n('holds_created');
  const verdict = created === EXPECTED && n('hold_other') === 0 && n('hold_attempts') === ATTEMPTS ? 'PASS' : 'FAIL';
  const sd = data.setup_data || {};
  const first = metricValue(data, 'hold_start_offset_ms', 'min');
  const last = metricValue(data, 'hold_end_offset_ms', 'max');
  const windowMs = first !== undefined && last !== undefined ? last - first : 0;
  return summarize(data, 'hold-storm', [
    `concert=${sd.concertId} schedule=${sd.scheduleId} seats=${SEATS} expected_holds=${EXPECTED}`,
    `holds: attempts=${n('hold_attempts')}/${ATTEMPTS} created(201)=${created} seat_unavailable=${n('hold_conflicts')} ` +
      `hold_limit=${n('hold_limit')} other=${n('hold_other')} not_admitted=${n('buyers_not_admitted')} -> ${verdict}`,
    `hold_window_ms=${windowMs.toFixed(0)} (first hold sent -> last hold answered)`,
  ]);
}
