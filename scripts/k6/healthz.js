// HTTP ceiling: the same load shape as join.js (constant VUs for DURATION), but every
// iteration is a GET /healthz — no Redis, no token. Requests go through lib.js's call()
// and a check, like join.js and poll.js, so the client-side cost per request (k6 runs on
// the same CPUs) is the same and the ratio compares server work only. scripts/bench
// compares join and status-poll throughput with this figure.
//
//   k6 run -e VUS=256 -e DURATION=10s scripts/k6/healthz.js
//
// Env: BASE_URL, VUS (50), DURATION (30s), SUMMARY_JSON.
import { check } from 'k6';
import { BASE_URL, TREND_STATS, envInt, envStr, call, summarize, metricValue } from './lib.js';

export const options = {
  scenarios: {
    healthz: { executor: 'constant-vus', vus: envInt('VUS', 50), duration: envStr('DURATION', '30s') },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: { http_req_failed: ['rate<0.001'] },
};

export default function () {
  const r = call('GET', `${BASE_URL}/healthz`, null, { step: 'GET /healthz' });
  check(r, { 'healthz 200': (x) => x.status === 200 && !!x.body });
}

export function handleSummary(data) {
  const rate = metricValue(data, 'http_reqs', 'rate') || 0;
  const p99 = metricValue(data, 'http_req_duration', 'p(99)');
  return summarize(data, 'healthz', [
    `healthz: rate=${rate.toFixed(1)}/s p99=${p99 === undefined ? '-' : p99.toFixed(1)}ms`,
  ]);
}
