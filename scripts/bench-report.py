#!/usr/bin/env python3
"""Turns the raw outputs of one scripts/bench run ($OUT) into the Markdown report: one
table of our figures next to the machine's ceilings, with ratios and targets, plus the
command, machine facts and date. Called by scripts/bench; reads its environment."""
import json
import math
import os

E = os.environ
OUT = E["OUT"]
DUR = float(E["DUR_S"])


def k6(name):
    try:
        with open(os.path.join(OUT, f"{name}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def val(data, metric, key):
    if not data:
        return None
    m = data.get("metrics", {}).get(metric)
    return None if not m else m.get("values", {}).get(key)


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def count(data, metric):
    return val(data, metric, "count") or 0


def rc(name):
    try:
        return open(os.path.join(OUT, f"{name}.rc")).read().strip()
    except OSError:
        return "-"


def f0(x):
    return "-" if x is None else f"{x:,.0f}"


def f1(x):
    return "-" if x is None else f"{x:,.1f}"


def pct(a, b):
    return None if a is None or not b else 100.0 * a / b


def ok(cond):
    return "-" if cond is None else ("**yes**" if cond else "**NO**")


def quotient(a, b):
    return None if a is None or not b else a / b


def cell(text):
    """Free text (an error message) made safe for one table cell."""
    return " ".join(str(text).split()).replace("|", "/")


# scripts/bench's pg_stats, in its order.
PG_FIELDS = ("commits", "rollbacks", "tuples", "seat_updates", "reservation_inserts", "wal_bytes", "expired")


def pg_delta(before, after):
    """What the counters of two pg_stats readings (environment variables) moved by."""
    try:
        a = [int(x) for x in E[before].split()]
        b = [int(x) for x in E[after].split()]
    except (KeyError, ValueError):
        return {}
    return {k: y - x for k, x, y in zip(PG_FIELDS, a, b)}


# The hold storm's time is read against the HTTP ceiling: the time its requests take at the
# ceiling's rate. A hold attempt is two hops (nginx -> gateway -> booking, or the gateway's
# own 409 after a Redis call) where /healthz is one, so at most twice that time.
STORM_MAX_VS_HTTP = 2.0


healthz, join, poll, storm, pay, sale = (k6(n) for n in ("healthz", "join", "poll", "hold-storm", "pay", "sale"))
lat_http, lat_join = k6("latency-healthz"), k6("latency-join")
lat_rate = num(E.get("LAT_RATE"))
lat_http_p99 = val(lat_http, "http_req_duration", "p(99)")
lat_join_rps = val(lat_join, "http_reqs", "rate")
lat_join_p50, lat_join_p99 = val(lat_join, "http_req_duration", "med"), val(lat_join, "http_req_duration", "p(99)")
lat_join_checks = val(lat_join, "checks", "rate")
lat_dropped = count(lat_join, "dropped_iterations")

http_rps = count(healthz, "http_reqs") / DUR if healthz else None
http_p99 = val(healthz, "http_req_duration", "p(99)")

join_rps = count(join, "http_reqs") / DUR if join else None
jd = "http_req_duration{name:POST /v1/queue/tokens}"
join_p50, join_p99 = val(join, jd, "med"), val(join, jd, "p(99)")

polls = count(poll, "polled_waiting") + count(poll, "polled_active") + count(poll, "tickets_gone")
poll_rps = polls / DUR if poll else None
pd = "http_req_duration{name:GET /v1/queue/status}"
poll_p50, poll_p99 = val(poll, pd, "med"), val(poll, pd, "p(99)")

redis_rps = num(E.get("REDIS_RPS"))
pg_tps = num(E.get("PG_TPS"))
pg_tps_after = num(E.get("PG_TPS_AFTER"))
# Payments are compared with the mean of the pgbench runs before the storm and right after
# the payments (the machine's speed drifts over minutes).
pg_tps_pay = pg_tps if pg_tps_after is None else (pg_tps if pg_tps is None else (pg_tps + pg_tps_after) / 2)

holds = count(storm, "holds_created")
attempts = count(storm, "hold_attempts")
other = count(storm, "hold_other")
first = val(storm, "hold_start_offset_ms", "min")
last = val(storm, "hold_end_offset_ms", "max")
window_ms = (last - first) if first is not None and last is not None else None
pg_storm = pg_delta("PG0", "PG1")
d_commit, d_rollback, d_tuples, d_seat_upd, d_res_ins, d_expired = (
    pg_storm.get(k) for k in ("commits", "rollbacks", "tuples", "seat_updates", "reservation_inserts", "expired"))


def expired_note(expired):
    """Earlier holds the sweeper expired during a storm: their seat updates are not the storm's."""
    return f"; {expired} earlier holds expired meanwhile" if expired else ""

storm_n = int(E.get("STORM_N", "10000"))
storm_rate = quotient(attempts, window_ms / 1000) if window_ms else None
# The same number of requests at the HTTP ceiling's rate, and the storm's time against it.
storm_ideal_ms = quotient(1000.0 * storm_n, http_rps)
storm_vs_http = quotient(window_ms, storm_ideal_ms)

pay_ok = count(pay, "payments_ok")
# pay.js PREPARE: every VU starts paying at the start line; tps = payments / (last - start).
p_setup = (pay or {}).get("setup_data") or {}
p_first = (p_setup["startAt"] - p_setup["t0"]) if p_setup.get("startAt") else None
p_last = val(pay, "payment_done_offset_ms", "max")
pay_tps = pay_ok / ((p_last - p_first) / 1000) if pay and p_last and p_first is not None and p_last > p_first else None
pay_p99 = val(pay, "http_req_duration{name:POST /v1/payments}", "p(99)")

sale_paid = count(sale, "payments_ok")
sale_dur = (sale or {}).get("state", {}).get("testRunDurationMs")
sale_rate = sale_paid / (sale_dur / 1000) if sale and sale_dur else None
sale_admitted = count(sale, "buyers_admitted")
sale_admitted_to_nothing = count(sale, "buyers_sold_out")
sale_told = count(sale, "buyers_told_sold_out")
sale_line_p50 = val(sale, "time_in_line_ms", "med")

def read_json(name):
    try:
        with open(os.path.join(OUT, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_lines(name):
    try:
        with open(os.path.join(OUT, name)) as f:
            return f.read().splitlines()
    except OSError:
        return []


def eta_text(acc):
    if not acc or not acc.get("samples"):
        return "no samples: nobody waited (every buyer found a free slot and was admitted at join)"
    return (f"{acc['samples']} admissions: abs error median {f1(acc.get('median_abs_error_secs'))} s, "
            f"p90 {f1(acc.get('p90_abs_error_secs'))} s; relative to the wait: median "
            f"{f1(acc.get('median_error_pct'))} %, abs median {f1(acc.get('median_abs_error_pct'))} %, "
            f"p90 {f1(acc.get('p90_abs_error_pct'))} %")


sale_eta = (read_json("sale-room.json") or {}).get("eta_accuracy")
eta_steady = None
for line in read_lines("eta.txt"):
    if line.startswith("{"):
        try:
            eta_steady = json.loads(line).get("eta_accuracy")
        except ValueError:
            pass
draws = [line for line in read_lines("draw.txt") if line.startswith("draw ")]


def last_json(name):
    for line in reversed(read_lines(name)):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


sse = last_json("sse.txt")
waits = {m: last_json(f"wait-{m}.txt") for m in ("poll", "sse")}

mem_keys, mem_info = num(E.get("MEM_KEYS")), num(E.get("MEM_INFO"))
mem_buyers = int(E["MEM_BUYERS"])


def mem_failure():
    """Why queue-memory gave no figure: its error (anyhow's "Error: ..." and causes), else
    its last line."""
    lines = [line.strip() for line in read_lines("queue-memory.txt") if line.strip()]
    if not lines:
        return "queue-memory wrote nothing"
    if any(line.startswith("Error:") for line in lines):
        start = next(i for i, line in enumerate(lines) if line.startswith("Error:"))
        causes = [line for line in lines[start + 1:] if line != "Caused by:"]
        text = lines[start][len("Error:"):].strip() + "".join(f"; {c.lstrip('0123456789: ')}" for c in causes)
    else:
        text = f"none in its output; last line: {lines[-1]}"
    code = read_lines("queue-memory.rc")
    exit_note = f"exit {code[0]}: " if code and code[0] not in ("", "0") else ""
    return f"no figure ({exit_note}{cell(text)})"


def series(name):
    """scripts/bench fetch_series lines: url, status, seconds, bytes[, content-encoding]."""
    out = []
    for line in read_lines(name):
        f = line.split()
        try:
            out.append({"url": f[0], "status": f[1], "ms": 1000 * float(f[2]), "bytes": int(f[3]),
                        "encoding": f[4] if len(f) > 4 else ""})
        except (IndexError, ValueError):
            pass
    return out


def quantile(xs, q):
    """Nearest-rank quantile (q in 0..1) of a list; None when empty."""
    if not xs:
        return None
    xs = sorted(xs)
    rank = math.ceil(q * len(xs) - 1e-9)
    return xs[max(0, min(len(xs), rank) - 1)]


def f2(x):
    return "-" if x is None else f"{x:,.2f}"


# The stadium: its sections (one buyer, in turns with /healthz on one connection) and its
# full seat list, plain and gzipped.
st_sections, st_rows, st_row_seats = (int(E.get(k, "0")) for k in ("STADIUM_SECTIONS", "STADIUM_ROWS", "STADIUM_ROW_SEATS"))
st_total = st_sections * st_rows * st_row_seats
turns = series("stadium-sections.txt")
sec = [r for r in turns if r["url"].endswith("/sections")]
hz = [r for r in turns if r["url"].endswith("/healthz")]
sec_bad = sum(1 for r in sec + hz if r["status"] != "200")
sec_ms, hz_ms = [r["ms"] for r in sec], [r["ms"] for r in hz]
sec_p50, sec_p99, hz_p50, hz_p99 = quantile(sec_ms, 0.5), quantile(sec_ms, 0.99), quantile(hz_ms, 0.5), quantile(hz_ms, 0.99)
sec_bytes = quantile([r["bytes"] for r in sec], 0.5)
check = (read_lines("stadium-sections-check.txt") or [""])[0].split()
listed = (read_lines("stadium-seats-check.txt") or [""])[0].strip()
plain, gz = series("stadium-seats-plain.txt"), series("stadium-seats-gzip.txt")
list_bad = sum(1 for r in plain + gz if r["status"] != "200")
not_gzipped = sum(1 for r in gz if r["encoding"].lower() != "gzip")
plain_ms, plain_bytes = quantile([r["ms"] for r in plain], 0.5), quantile([r["bytes"] for r in plain], 0.5)
gz_ms, gz_bytes = quantile([r["ms"] for r in gz], 0.5), quantile([r["bytes"] for r in gz], 0.5)

# The best-available storm, and PostgreSQL's writes around it.
best = k6("best-storm")
best_n, best_count = int(E.get("BEST_N", "20000")), int(E.get("BEST_COUNT", "2"))
b_created, b_seats = count(best, "orders_created"), count(best, "order_seats")
b_refused, b_other, b_retries = count(best, "order_refused"), count(best, "order_other"), count(best, "order_retries")
b_first, b_last = val(best, "order_start_offset_ms", "min"), val(best, "order_end_offset_ms", "max")
b_window_ms = (b_last - b_first) if b_first is not None and b_last is not None else None
b_rate = quotient(b_created, b_window_ms / 1000) if b_window_ms else None
b_dupes = num(E.get("BEST_DUPES"))
b_db_orders, b_db_seats, b_db_adjacent = (num(E.get(k)) for k in ("BEST_DB_ORDERS", "BEST_DB_SEATS", "BEST_DB_ADJACENT"))
pg_best = pg_delta("PGB0", "PGB1")

rows = []
join_ratio = pct(join_rps, http_rps)
poll_ratio = pct(poll_rps, http_rps)
pay_ratio = pct(pay_tps, pg_tps_pay)
rows.append(("HTTP ceiling: `GET /healthz` via nginx, 256 VUs", f"{f0(http_rps)} rps, p99 {f1(http_p99)} ms", "", "", "", ""))
rows.append(("Redis ceiling: `join.lua` EVALSHA (redis-benchmark -c 64)", f"{f0(redis_rps)} calls/s", "", "", "", ""))
pg_runs = f"{f0(pg_tps)} tps" if pg_tps_after is None else (
    f"{f0(pg_tps)} tps before the storm, {f0(pg_tps_after)} tps right after the payments (mean {f0(pg_tps_pay)})")
rows.append(("PostgreSQL ceiling: pgbench TPC-B -s 10 -c 16 -j 2", pg_runs, "", "", "", ""))
rows.append((
    "join `POST /v1/queue/tokens`, 256 VUs flat out",
    f"{f0(join_rps)} rps, p50 {f1(join_p50)} ms, p99 {f1(join_p99)} ms",
    "HTTP", f"{f1(join_ratio)}% (Redis {f1(pct(join_rps, redis_rps))}%)",
    "≥ 30%",
    ok(None if join_ratio is None else join_ratio >= 30),
))
lat_ok = None
if lat_join_p99 is not None:
    lat_ok = lat_join_p99 < 10 and (lat_join_checks or 0) > 0.999 and lat_dropped == 0
rows.append((
    f"join latency at 30% of the HTTP ceiling ({f0(lat_rate)}/s asked), 256 connections",
    f"{f0(lat_join_rps)} rps, p50 {f1(lat_join_p50)} ms, p99 {f1(lat_join_p99)} ms "
    f"(`/healthz` at the same rate: p99 {f1(lat_http_p99)} ms; {int(lat_dropped)} dropped)",
    "", "", "p99 < 10 ms", ok(lat_ok),
))
rows.append((
    "status poll `GET /v1/queue/status`, 256 VUs",
    f"{f0(poll_rps)} rps, p50 {f1(poll_p50)} ms, p99 {f1(poll_p99)} ms",
    "HTTP", f"{f1(poll_ratio)}%", "≥ 85%", ok(None if poll_ratio is None else poll_ratio >= 85),
))
storm_ok = None
if storm:
    storm_ok = (holds == 50 and other == 0 and attempts == storm_n
                and storm_vs_http is not None and storm_vs_http <= STORM_MAX_VS_HTTP
                and d_seat_upd is not None and d_seat_upd <= 50 + (d_rollback or 0) + (d_expired or 0))
rows.append((
    f"hold storm: {storm_n:,} holds on 50 seats",
    f"{int(holds)} held, {int(attempts - holds - other)} × 409, {int(other)} other; all answered in {f0(window_ms)} ms "
    f"({f0(storm_rate)} attempts/s); "
    f"PG: {d_seat_upd} seat updates, {d_res_ins} reservation inserts, {d_rollback} rollbacks "
    f"({d_tuples} tuples written, {d_commit} commits incl. background{expired_note(d_expired)})",
    "HTTP",
    "-" if storm_vs_http is None else
    f"{storm_vs_http:.2f}× the ceiling's time ({storm_n:,} requests at {f0(http_rps)} rps: {f0(storm_ideal_ms)} ms)",
    f"50 holds, writes ≤ 50 + failed + expired meanwhile, ≤ {STORM_MAX_VS_HTTP:g}× the ceiling's time", ok(storm_ok),
))
rows.append((
    f"payments (`POST /v1/payments`, {int(E.get('PAY_N', '0')):,} buyers, {E.get('PAY_VUS', '?')} VUs = pgbench clients)",
    f"{f0(pay_tps)} tps ({int(pay_ok)} ok), p99 {f1(pay_p99)} ms",
    "pgbench (mean)" if pg_tps_after is not None else "pgbench", f"{f1(pay_ratio)}%", "≥ 50%", ok(None if pay_ratio is None else pay_ratio >= 50),
))
rows.append((
    "full sale (sale.js: join → poll → list → hold → pay)",
    f"{f1(sale_rate)} purchases/s ({int(sale_paid)} paid of {int(sale_admitted)} admitted, "
    f"{int(sale_admitted_to_nothing)} admitted when nothing was left, {int(sale_told)} told sold out by the line; "
    f"time in line p50 {f0(sale_line_p50)} ms)",
    "", "", "", "",
))
rows.append(("ETA error in the full sale (`GET /admin/rooms/{id}` `eta_accuracy`)", eta_text(sale_eta), "", "", "", ""))
steady_ok = None
if eta_steady and eta_steady.get("median_error_pct") is not None:
    steady_ok = abs(eta_steady["median_error_pct"]) <= 20
rows.append(("ETA error at steady admission (eta-bench: arrivals at 2× the admission rate)",
             eta_text(eta_steady), "", "", "median within ±20 % of the wait", ok(steady_ok)))
if sse:
    steps = sse.get("steps") or []
    calls = ", ".join(f"{f1(st.get('redis_calls_per_tick'))} at {st.get('streams'):,} streams" for st in steps)
    per = sse.get("bytes_per_stream")
    rows.append((f"push: one gateway holding {sse.get('streams', 0):,} streams (sse-load, 4 source addresses)",
                 f"{f0(per)} bytes per stream (RSS {f0(sse.get('rss_before_kib'))} → {f0(sse.get('rss_after_kib'))} KiB)",
                 "", "", "≤ 4,096", ok(None if per is None else per <= 4096)))
    same = None
    if len(steps) >= 2 and steps[0].get("redis_calls_per_tick"):
        a, b = steps[0]["redis_calls_per_tick"], steps[-1]["redis_calls_per_tick"]
        same = abs(b - a) <= 0.05 * a
    rows.append(("push: Redis calls per tick (all of Redis, `INFO commandstats`), streams idle",
                 calls, "", "", "the same at any stream count", ok(same)))
    within = sse.get("within_tick_plus_250_pct")
    rows.append((f"push: admissions delivered ({sse.get('admissions', 0):,} admitted, tick {sse.get('tick_ms')} ms)",
                 f"p50 {f0(sse.get('delivery_p50_ms'))} ms, p99 {f0(sse.get('delivery_p99_ms'))} ms, "
                 f"max {f0(sse.get('delivery_max_ms'))} ms after the admission; {f1(within)} % within one tick + 250 ms",
                 "", "", "99 % within one tick + 250 ms", ok(None if within is None else within >= 99)))
for m in ("poll", "sse"):
    w = waits.get(m)
    if w:
        rows.append((f"sale waiting by {'polling' if m == 'poll' else 'push stream'} (wait-bench, 600 buyers via nginx)",
                     f"{f1(w.get('requests_per_buyer_minute'))} requests per buyer per minute of waiting "
                     f"({w.get('wait_requests')} over {f1(w.get('wait_minutes'))} buyer-minutes; {w.get('paid')} paid)",
                     "", "", "", ""))
# tickets-bench: "checkin storm: k v k v ...", "show cancelled: ...", "waitlist drill: ...".
def tickets_line(prefix):
    for line in read_lines("tickets.txt"):
        if line.startswith(prefix + ":"):
            words = line[len(prefix) + 1:].split()
            return dict(zip(words[::2], words[1::2]))
    return None


checkin = tickets_line("checkin storm")
show = tickets_line("show cancelled")
waitlist = tickets_line("waitlist drill")
pg_mean = None
if pg_tps is not None:
    pg_mean = pg_tps if pg_tps_after is None else (pg_tps + pg_tps_after) / 2
if checkin:
    scans_per_s = num(checkin.get("scans_per_s"))
    rows.append((
        f"check-in storm: {int(num(checkin.get('doors')) or 0)} doors, {int(num(checkin.get('tickets')) or 0):,} tickets, "
        f"10 % scanned twice at the same moment (`POST /admin/checkins`)",
        f"{f0(scans_per_s)} scans/s ({int(num(checkin.get('scans')) or 0):,} scans in {checkin.get('seconds')} s), "
        f"p50 {checkin.get('p50_ms')} ms, p99 {checkin.get('p99_ms')} ms; first {checkin.get('first')}, "
        f"already checked in {checkin.get('again')}, other {checkin.get('other')}, checked in in PostgreSQL {checkin.get('checked_in')}",
        "pgbench (mean)", "-" if scans_per_s is None or not pg_mean else f"{100 * scans_per_s / pg_mean:.1f}%",
        "each ticket in once, every second scan 409", ok(checkin.get("exactly_once") == "yes"),
    ))
else:
    rows.append(("check-in storm (tickets-bench)", "no figure (see tickets.txt)", "", "", "", ""))
if show:
    refunds_per_s = num(show.get("refunds_per_s"))
    rows.append((
        f"a show of {int(num(show.get('tickets')) or 0):,} tickets cancelled (`POST /admin/schedules/{{id}}/cancel`, refunds in the background)",
        f"all refunded in {show.get('seconds')} s ({f0(refunds_per_s)} refunds/s; {show.get('refunded')} refunded, {show.get('refund_rows')} REFUND rows)",
        "payments (tps)", "-" if refunds_per_s is None or not pay_tps else f"{refunds_per_s / pay_tps:.1f}×",
        "every ticket refunded once", ok(show.get("once") == "yes"),
    ))
if waitlist:
    rows.append((
        f"waitlist drill: sold out, {waitlist.get('waiting')} waiting (told `sold_out`, first at position {waitlist.get('first_position')}), "
        f"{waitlist.get('seats')} tickets cancelled at once",
        f"{waitlist.get('seats')} waiting buyers admitted {waitlist.get('admitted_seconds')} s after the first cancellation "
        f"(the cancellations took {waitlist.get('cancel_seconds')} s); in line order, nobody behind them: {waitlist.get('in_line_order')}",
        "", "", "admitted in line order, one per seat", ok(waitlist.get("in_line_order") == "yes"),
    ))

for line in draws:
    # "draw N entries: ..." as draw-bench prints it.
    head, _, rest = line.partition(": ")
    rows.append((f"opening {head} (draw-bench)", rest.replace("|", "/"), "", "", "", ""))
mem_note = "" if mem_buyers == 1_000_000 else f" (measured at {mem_buyers:,} waiting, not 1,000,000)"
rows.append((
    f"Redis bytes per waiting buyer{mem_note}",
    mem_failure() if mem_keys is None else f"{f1(mem_keys)} (MEMORY USAGE), {f1(mem_info)} (INFO used_memory)",
    "", "", "≤ 128", ok(None if mem_keys is None else max(mem_keys, mem_info or 0) <= 128),
))
shape = f"{st_sections} sections × {st_rows} rows × {st_row_seats} = {st_total:,} seats"
if len(check) == 3:
    shape += f"; the buyer's sections: {check[0]} sections, {int(check[1]):,} seats, {check[2]} grades"
rows.append((
    f"stadium ({shape}): `GET /v1/schedules/{{id}}/sections` via nginx, one admitted buyer, "
    f"{len(sec)} requests on one connection after a warm-up",
    f"p50 {f2(sec_p50)} ms, p99 {f2(sec_p99)} ms, {f0(sec_bytes)} bytes"
    + (f"; {sec_bad} answers not 200" if sec_bad else ""),
    "`/healthz` in turns on the same connection",
    "-" if sec_p50 is None or not hz_p50 else
    f"p50 {sec_p50 / hz_p50:.1f}× ({f2(hz_p50)} ms), p99 {sec_p99 / hz_p99:.1f}× ({f2(hz_p99)} ms)",
    "", "",
))
rows.append((
    f"stadium: the full seat list `GET /v1/schedules/{{id}}/seats` ({f0(num(listed))} seats listed), "
    f"{len(plain)} requests plain and {len(gz)} with `Accept-Encoding: gzip`, median",
    f"plain {f1(plain_ms)} ms, {f0(plain_bytes)} bytes; gzipped {f1(gz_ms)} ms, {f0(gz_bytes)} bytes"
    + (f"; {list_bad} answers not 200" if list_bad else "")
    + (f"; {not_gzipped} gzip requests answered uncompressed" if not_gzipped else ""),
    "plain",
    "-" if not plain_bytes or not plain_ms or gz_ms is None else
    f"gzipped: {f1(pct(gz_bytes, plain_bytes))} % of the bytes, {f1(pct(gz_ms, plain_ms))} % of the time",
    "", "",
))
best_ok = None
if best:
    best_ok = (b_created == best_n and b_seats == best_n * best_count and b_other == 0
               and b_dupes == 0 and b_db_orders == best_n)
adjacent = "-" if not b_db_orders else (
    f"{f1(pct(b_db_adjacent, b_db_orders))} % ({f0(b_db_adjacent)} of {f0(b_db_orders)} orders in the database)")
rows.append((
    f"best-available storm: {best_n:,} buyers × {best_count} seats (`best_available`) at one start line, "
    f"both gateways via nginx, a {st_total:,}-seat schedule",
    f"{f0(b_rate)} orders/s; all {f0(b_created)} answered in {f0(b_window_ms)} ms ({f0(b_seats)} seats; "
    f"{int(b_refused)} × 409, {int(b_other)} other, {int(b_retries)} asked again after 503); "
    f"side by side: {adjacent}; seats held or sold twice (whole database): {f0(b_dupes)}",
    "hold storm (attempts/s)",
    "-" if b_rate is None or not storm_rate else
    f"{f1(pct(b_rate, storm_rate))}% of {f0(storm_rate)} (pgbench {f1(pct(b_rate, pg_tps_pay))}%)",
    f"{best_n:,} orders of {best_count}, no seat twice", ok(best_ok),
))
bw = pg_best
b_orders = b_created or None
hold_per = quotient(pg_storm.get("tuples"), holds)
best_per_seat = quotient(bw.get("tuples"), (b_orders or 0) * best_count)
best_writes_ok = None
if bw and b_orders:
    best_writes_ok = bw["seat_updates"] <= best_count * b_orders + bw["rollbacks"] + bw.get("expired", 0)
rows.append((
    "best-available storm: PostgreSQL writes per order (counters around the storm, settled)",
    "-" if not bw or not b_orders else
    f"{f2(quotient(bw['seat_updates'], b_orders))} seat updates, {f2(quotient(bw['reservation_inserts'], b_orders))} reservation "
    f"inserts, {f2(quotient(bw['tuples'], b_orders))} tuples written, {f2(quotient(bw['commits'], b_orders))} commits, "
    f"{f0(quotient(bw.get('wal_bytes'), b_orders))} WAL bytes (the server's) per order (totals: "
    f"{bw['seat_updates']:,} seat updates, {bw['reservation_inserts']:,} reservation inserts, "
    f"{bw['rollbacks']:,} rollbacks, {bw['tuples']:,} tuples, {bw['commits']:,} commits incl. background"
    f"{expired_note(bw.get('expired'))})",
    "hold storm: tuples written per hold (its 50 holds carry its window's background writes)",
    "-" if best_per_seat is None or not hold_per else
    f"per seat {f2(best_per_seat)} vs {f2(hold_per)} ({best_per_seat / hold_per:.2f}×)",
    f"seat updates ≤ {best_count} per order + failed + expired meanwhile", ok(best_writes_ok),
))

lines = []
lines.append(f"## Run of {E['STARTED']} ({E['MODE']})")
lines.append("")
lines.append(f"Command: `{E['COMMAND']}` — {int(DUR)} s per phase, load from k6 on the same machine "
             f"(GOGC={E.get('GOGC', '-')}), everything on 127.0.0.1, services at `RUST_LOG=warn`.")
lines.append("")
lines.append("| figure | measured | vs | ratio | target | met |")
lines.append("|---|---|---|---|---|---|")
for r in rows:
    lines.append("| " + " | ".join(r) + " |")
lines.append("")
lines.append(f"Machine: {E['NPROC']} CPUs ({E['CPU_MODEL']}), {E['MEM_TOTAL']} memory; {E['VERSIONS']}.")
lines.append(f"Load average before / after: {E['LOAD_BEFORE']} / {E['LOAD_AFTER']} "
             "(the machine is shared: other work running at the same time shows up here; "
             "ratios are taken within one run for that reason).")
lines.append("")
lines.append("k6 exit codes (0 = thresholds ok, 99 = a threshold crossed): " + ", ".join(
    f"{n} {rc(n)}" for n in ("healthz", "join", "latency-healthz", "latency-join", "poll", "hold-storm", "pay",
                             "sale", "best-storm")) + ".")
print("\n".join(lines))
