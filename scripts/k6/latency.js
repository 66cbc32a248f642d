// Latency at a fixed load: RATE requests a second for DURATION (an open model: requests
// keep coming whether or not earlier ones are done), from a pool of VUS VUs, each with its
// own keep-alive connection, so VUS connections stay open. TARGET=join: every request is a
// new buyer joining CONCERT_ID's line (201 or 200 expected); TARGET=healthz: GET /healthz,
// the reference at the same load.
//
//   k6 run -e TARGET=join -e CONCERT_ID=1 -e RATE=3000 -e VUS=256 scripts/k6/latency.js
//
// On purpose this script imports nothing from lib.js and keeps each iteration to one
// request and a status check: k6 shares the CPUs with the services here, and a heavier
// script (more JS per VU, more metrics) adds its own garbage-collection pauses to the tail
// it measures (measured: p99 6-8 ms with this script vs 17-28 ms with lib.js loaded, for the
// same server at the same load). join.js measures throughput with full checks.
//
// Env: BASE_URL, TARGET (join), CONCERT_ID (1), RATE (1000), VUS (256), DURATION (30s),
// P99_MS (10), USER_OFFSET, SUMMARY_JSON.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

const env = (name, def) => (__ENV[name] === undefined || __ENV[name] === '' ? def : __ENV[name]);
const BASE_URL = env('BASE_URL', 'http://127.0.0.1:8000').replace(/\/+$/, '');
const TARGET = env('TARGET', 'join');
const CONCERT_ID = Number(env('CONCERT_ID', '1'));
const RATE = Number(env('RATE', '1000'));
const VUS = Number(env('VUS', '256'));
const P99_MS = Number(env('P99_MS', '10'));
const SUMMARY_JSON = env('SUMMARY_JSON', '');
if (TARGET !== 'join' && TARGET !== 'healthz') throw new Error(`TARGET must be join or healthz, not ${TARGET}`);
const NAME = TARGET === 'join' ? 'POST /v1/queue/tokens' : 'GET /healthz';

export const options = {
  scenarios: {
    latency: {
      executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: env('DURATION', '30s'),
      preAllocatedVUs: VUS, maxVUs: VUS,
    },
  },
  discardResponseBodies: true, // the status is all this script checks
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  thresholds: {
    http_req_duration: [`p(99)<${P99_MS}`],
    checks: ['rate>0.999'],
  },
};

const params = { headers: { 'Content-Type': 'application/json' }, tags: { name: NAME } };

export function setup() {
  const fixed = Number(env('USER_OFFSET', '-1'));
  return { userBase: fixed >= 0 ? fixed : 1200000000 + (Math.floor(Date.now() / 1000) % 100000) * 10000 };
}

export default function (data) {
  if (TARGET === 'join') {
    const body = JSON.stringify({ concert_id: CONCERT_ID, user_id: data.userBase + exec.scenario.iterationInTest });
    const r = http.post(`${BASE_URL}/v1/queue/tokens`, body, params);
    check(r, { 'joined (200/201)': (x) => x.status === 201 || x.status === 200 });
  } else {
    const r = http.get(`${BASE_URL}/healthz`, params);
    check(r, { 'healthz 200': (x) => x.status === 200 });
  }
}

export function handleSummary(data) {
  const v = (name, key) => (data.metrics[name] && data.metrics[name].values ? data.metrics[name].values[key] : undefined);
  const ms = (x) => (x === undefined ? '-' : `${x.toFixed(2)}ms`);
  const thresholdsOk = Object.values(data.metrics).every((m) => !m.thresholds || Object.values(m.thresholds).every((t) => t.ok));
  const lines = [
    `==== latency ${TARGET} ====`,
    `latency: target=${TARGET} rate=${(v('http_reqs', 'rate') || 0).toFixed(1)}/s (asked ${RATE}/s) vus=${VUS} ` +
      `p50=${ms(v('http_req_duration', 'med'))} p95=${ms(v('http_req_duration', 'p(95)'))} ` +
      `p99=${ms(v('http_req_duration', 'p(99)'))} max=${ms(v('http_req_duration', 'max'))} ` +
      `checks=${(100 * (v('checks', 'rate') || 0)).toFixed(2)}% dropped_iterations=${v('dropped_iterations', 'count') || 0}`,
    thresholdsOk ? 'RESULT: all thresholds ok' : `RESULT: FAILED (p99 < ${P99_MS} ms or checks)`,
  ];
  const out = { stdout: lines.join('\n') + '\n' };
  if (SUMMARY_JSON) out[SUMMARY_JSON] = JSON.stringify(data, null, 2);
  return out;
}
