// Status polling under load: POLL_USERS new users are put in line of CONCERT_ID,
// each VU joining its own share of them; from a common start line PREP_S seconds
// after setup, every VU calls GET /v1/queue/status for DURATION, cycling through
// its own tokens and always keeping the newest token it got. (The tokens are not
// handed out by setup(): k6 copies and parses setup data in every VU, which for
// thousands of tokens and 256 VUs ate CPU inside the measured window.)
//
//   k6 run -e CONCERT_ID=1 scripts/k6/poll.js
//
// Env: BASE_URL, ADMIN_TOKEN, CONCERT_ID (or CONCERT_IDS=a,b,c), POLL_USERS (1000), VUS (50),
// DURATION (30s), POLL_SLEEP_MS (0 = as fast as possible; >0 pause between
// polls), P99_MS (200), ROOM_CAPACITY (unset = leave the room as is; set e.g.
// 0 or 10 so that most users stay waiting), PREP_S (POLL_USERS/1000 + 5),
// USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  BASE_URL, CONCERT_ID, TREND_STATS, envInt, envStr, codeThresholds, userBase, queueStatus,
  putRoom, summarize, metricValue, joinAll, vuShare, waitForStart, concertOf,
} from './lib.js';

const POLL_USERS = envInt('POLL_USERS', 1000);
const VUS = envInt('VUS', 50);
const POLL_SLEEP_MS = envInt('POLL_SLEEP_MS', 0);
const P99_MS = envInt('P99_MS', 200);
const ROOM_CAPACITY = envInt('ROOM_CAPACITY', -1);
const PREP_S = envInt('PREP_S', Math.ceil(POLL_USERS / 1000) + 5);
const DURATION = envStr('DURATION', '30s');

// '30s', '2m', '500ms' -> milliseconds.
function durationMs(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`DURATION=${text}: use e.g. 30s, 2m or 500ms`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]];
}
const DURATION_MS = durationMs(DURATION);

const polledWaiting = new Counter('polled_waiting');
const polledActive = new Counter('polled_active');
const ticketsGone = new Counter('tickets_gone');

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 410, 429));

export const options = {
  setupTimeout: '5m',
  scenarios: {
    poll: {
      executor: 'per-vu-iterations', vus: VUS, iterations: 1,
      maxDuration: `${Math.ceil(PREP_S + DURATION_MS / 1000) + 60}s`,
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    'http_req_duration{name:GET /v1/queue/status}': [`p(99)<${P99_MS}`],
    unexpected_errors: ['rate<0.001'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    vus_late_for_start: ['count==0'],
  }),
};

export function setup() {
  if (ROOM_CAPACITY >= 0) {
    putRoom(CONCERT_ID, { capacity: ROOM_CAPACITY });
    sleep(envInt('ROOM_APPLY_WAIT_S', 2));
  }
  return { userBase: userBase(), startAt: Date.now() + PREP_S * 1000 };
}

export default function (data) {
  const [from, to] = vuShare(POLL_USERS, VUS, exec.vu.idInTest);
  const users = [];
  for (let i = from; i < to; i++) users.push(data.userBase + i);
  // With CONCERT_IDS each VU's users join one of the concerts (VU k -> concert k mod n).
  const mine = joinAll(concertOf(exec.vu.idInTest), users, { activeOnly: false });
  if (mine.length === 0) return; // more VUs than users
  waitForStart(data.startAt);
  const end = data.startAt + DURATION_MS;
  for (let cursor = 0; Date.now() < end; cursor++) {
    const idx = cursor % mine.length;
    const s = queueStatus(mine[idx]);
    if (s.code === 'TICKET_GONE') {
      ticketsGone.add(1);
    } else if (check(s, {
      'status 200': (x) => x.status === 200,
      'has position': (x) => !!x.body && typeof x.body.position === 'number',
    })) {
      if (s.body.status === 'active') polledActive.add(1); else polledWaiting.add(1);
      if (s.body.token) mine[idx] = s.body.token;
    }
    if (POLL_SLEEP_MS > 0) sleep(POLL_SLEEP_MS / 1000);
  }
}

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const st = 'http_req_duration{name:GET /v1/queue/status}';
  const p99 = metricValue(data, st, 'p(99)');
  return summarize(data, 'poll', [
    `polls: waiting=${n('polled_waiting')} active=${n('polled_active')} gone=${n('tickets_gone')} ` +
      `users=${POLL_USERS} p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms`,
  ]);
}
