// Token issue under load: constant VUs, every iteration a new user joins the
// line of CONCERT_ID. Every SAME_PLACE_EVERY-th user joins a second time
// without a token and must get the same ticket (same `seq`): the contract
// allows one place per user per concert.
//
//   k6 run -e CONCERT_ID=1 scripts/k6/join.js
//
// Env: BASE_URL, CONCERT_ID (or CONCERT_IDS=a,b,c: user i joins concert i mod n), VUS (50),
// DURATION (30s), P99_MS (500),
// SAME_PLACE_EVERY (100, 0 = off), LEAVE (0; 1 = leave the line after joining),
// USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { check, fail } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  BASE_URL, CONCERT_ID, TREND_STATS, envInt, envStr, codeThresholds, userBase, call, joinQueue, leaveQueue,
  jwtClaims, summarize, metricValue, concertOf,
} from './lib.js';

const P99_MS = envInt('P99_MS', 500);
const SAME_PLACE_EVERY = envInt('SAME_PLACE_EVERY', 100);
const LEAVE = envInt('LEAVE', 0) === 1;

const joinsCreated = new Counter('joins_created');
const joinsExisting = new Counter('joins_existing');
const joinsActive = new Counter('joins_active');
const samePlaceViolations = new Counter('same_place_violations');

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 429));

export const options = {
  scenarios: {
    join: {
      executor: 'constant-vus',
      vus: envInt('VUS', 50),
      duration: envStr('DURATION', '30s'),
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    'http_req_duration{name:POST /v1/queue/tokens}': [`p(99)<${P99_MS}`],
    unexpected_errors: ['rate<0.001'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    same_place_violations: ['count==0'],
  }),
};

export function setup() {
  const r = call('GET', `${BASE_URL}/v1/concerts/${CONCERT_ID}`, null, { step: 'GET /v1/concerts/{id}' });
  if (!r.ok) fail(`concert ${CONCERT_ID} not reachable at ${BASE_URL}: ${r.status} ${r.res.body}`);
  return { userBase: userBase() };
}

export default function (data) {
  const i = exec.scenario.iterationInTest;
  const userId = data.userBase + i;
  const concertId = concertOf(i);
  const j = joinQueue(concertId, userId);
  const ok = check(j, {
    'joined (200/201)': (x) => x.status === 200 || x.status === 201,
    'token issued': (x) => !!x.body && typeof x.body.token === 'string',
    'status waiting|active': (x) => !!x.body && (x.body.status === 'waiting' || x.body.status === 'active'),
  });
  if (!ok) return;
  if (j.status === 201) joinsCreated.add(1); else joinsExisting.add(1);
  if (j.body.status === 'active') joinsActive.add(1);

  if (SAME_PLACE_EVERY > 0 && i % SAME_PLACE_EVERY === 0) {
    const again = joinQueue(concertId, userId);
    const a = jwtClaims(j.body.token);
    const b = again.ok && again.body ? jwtClaims(again.body.token) : null;
    const same = !!a && !!b && a.seq === b.seq && again.status === 200;
    if (!check(again, { 'second join keeps the place (200, same seq)': () => same })) samePlaceViolations.add(1);
  }
  if (LEAVE) leaveQueue(j.body.token);
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const p99 = metricValue(data, 'http_req_duration{name:POST /v1/queue/tokens}', 'p(99)');
  return summarize(data, 'join', [
    `joins: created=${n('joins_created')} existing=${n('joins_existing')} active_at_once=${n('joins_active')} ` +
      `rate=${(metricValue(data, 'joins_created', 'rate') || 0).toFixed(1)}/s p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms ` +
      `same_place_violations=${n('same_place_violations')}`,
  ]);
}
