// A flood of joins for concert ids nobody created: ITERATIONS joins, each for a new id
// (ID_BASE + n). Every one must be 404 CONCERT_NOT_FOUND; the gateway remembers unknown ids
// in a bounded map (limits.unknown_concerts), so its memory stays flat however many it
// sees. scripts/bench-hardening reads the gateway's RSS before and after.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e ITERATIONS=100000 scripts/k6/unknown-ids.js
//
// Env: BASE_URL, ITERATIONS (100000), VUS (64), ID_BASE (900000000), SUMMARY_JSON.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { BASE_URL, TREND_STATS, envInt, summarize, metricValue } from './lib.js';

const ITERATIONS = envInt('ITERATIONS', 100000);
const ID_BASE = envInt('ID_BASE', 900000000);
const wrong = new Counter('answers_not_404');

http.setResponseCallback(http.expectedStatuses(404));

export const options = {
  scenarios: {
    flood: { executor: 'shared-iterations', vus: envInt('VUS', 64), iterations: ITERATIONS, maxDuration: '10m' },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: { answers_not_404: ['count==0'] },
};

const params = { headers: { 'Content-Type': 'application/json' }, tags: { name: 'POST /v1/queue/tokens (unknown)' } };

export default function () {
  const n = exec.scenario.iterationInTest;
  const r = http.post(`${BASE_URL}/v1/queue/tokens`,
    JSON.stringify({ concert_id: ID_BASE + n, user_id: 1 + (n % 1000000) }), params);
  if (r.status !== 404) wrong.add(1);
}

export function handleSummary(data) {
  const rate = metricValue(data, 'http_reqs', 'rate') || 0;
  const bad = metricValue(data, 'answers_not_404', 'count') || 0;
  return summarize(data, 'unknown-ids', [`unknown-ids: rate=${rate.toFixed(1)}/s not_404=${bad}`]);
}
