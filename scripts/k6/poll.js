// Status polling under load: setup() puts POLL_USERS new users in line of
// CONCERT_ID. Then VUs call GET /v1/queue/status with those tokens, each VU
// cycling through its own share and always keeping the newest token it got.
//
//   k6 run -e CONCERT_ID=1 scripts/k6/poll.js
//
// Env: BASE_URL, ADMIN_TOKEN, CONCERT_ID, POLL_USERS (1000), VUS (50),
// DURATION (30s), POLL_SLEEP_MS (0 = as fast as possible; >0 pause between
// polls), P99_MS (200), ROOM_CAPACITY (unset = leave the room as is; set e.g.
// 0 or 10 so that most users stay waiting), USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import {
  BASE_URL, CONCERT_ID, TREND_STATS, envInt, envStr, codeThresholds, userBase, call, queueStatus,
  putRoom, summarize, metricValue,
} from './lib.js';

const POLL_USERS = envInt('POLL_USERS', 1000);
const VUS = envInt('VUS', 50);
const POLL_SLEEP_MS = envInt('POLL_SLEEP_MS', 0);
const P99_MS = envInt('P99_MS', 200);
const ROOM_CAPACITY = envInt('ROOM_CAPACITY', -1);

const polledWaiting = new Counter('polled_waiting');
const polledActive = new Counter('polled_active');
const ticketsGone = new Counter('tickets_gone');

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 410, 429));

export const options = {
  setupTimeout: '5m',
  scenarios: {
    poll: { executor: 'constant-vus', vus: VUS, duration: envStr('DURATION', '30s') },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: Object.assign(codeThresholds(), {
    'http_req_duration{name:GET /v1/queue/status}': [`p(99)<${P99_MS}`],
    unexpected_errors: ['rate<0.001'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
  }),
};

export function setup() {
  if (ROOM_CAPACITY >= 0) {
    putRoom(CONCERT_ID, { capacity: ROOM_CAPACITY });
    sleep(envInt('ROOM_APPLY_WAIT_S', 2));
  }
  const base = userBase();
  const tokens = [];
  const chunk = 100;
  for (let start = 0; start < POLL_USERS; start += chunk) {
    const reqs = [];
    for (let i = start; i < Math.min(POLL_USERS, start + chunk); i++) {
      reqs.push({
        method: 'POST',
        url: `${BASE_URL}/v1/queue/tokens`,
        body: JSON.stringify({ concert_id: CONCERT_ID, user_id: base + i }),
        params: { headers: { 'Content-Type': 'application/json' }, tags: { name: 'POST /v1/queue/tokens (setup)' } },
      });
    }
    for (const r of http.batch(reqs)) {
      if (r.status !== 200 && r.status !== 201) fail(`setup join failed: ${r.status} ${r.body}`);
      tokens.push(JSON.parse(r.body).token);
    }
  }
  return { tokens };
}

// Per-VU copy of this VU's share of the tokens (updated with fresh tokens).
let mine = null;
let cursor = 0;

export default function (data) {
  if (mine === null) {
    mine = data.tokens.filter((_, i) => i % VUS === (__VU - 1) % VUS);
    if (mine.length === 0) mine = data.tokens.slice();
  }
  const idx = cursor++ % mine.length;
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

export function handleSummary(data) {
  const n = (name) => metricValue(data, name, 'count') || 0;
  const st = 'http_req_duration{name:GET /v1/queue/status}';
  const p99 = metricValue(data, st, 'p(99)');
  return summarize(data, 'poll', [
    `polls: waiting=${n('polled_waiting')} active=${n('polled_active')} gone=${n('tickets_gone')} ` +
      `users=${POLL_USERS} p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms`,
  ]);
}
