-- promote: one admission tick of a room. Every gateway instance calls this several times
-- per tick; time is cut into slots of tick_ms on the Redis server clock and only the first
-- call in a new slot does the work, so the admitted rate is batch_size per tick_ms however
-- many instances run (and a tick_ms change applies from the next call on).
--
-- Work of a call, in order: while every seat is sold, keep the line (setting waitlist, the
-- default: the room records waitlisted_ms, the first sell-out; buyers keep their places)
-- or release it (waitlist 0: their status says "sold_out": the room records sold_out_ms and
-- sold_out_seq = the last ticket handed out). Then, once per tick: drop expired admissions (at most 10,000); admit
-- min(batch_size, capacity - active) buyers from the head of the line, lowest ticket first
-- — not in mode queue_all (a pause), not before a scheduled opening's draw is done (the
-- drawn pre-queue goes first), and not while no seat is buyable (every seat held or sold:
-- the line waits for holds to run out instead of admitting buyers to nothing); once a
-- waitlisted room has sold out, never more at once than seats are buyable beyond the
-- buyers already active or just done (seats that come back go to the line one by one);
-- log the
-- admissions; trim the one-minute log and the join-time checkpoints.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] seq         string last ticket number handed out
-- KEYS[5] room        hash   settings; last_tick_ms, last_tick_by, admitted_1m
-- KEYS[6] log         zset   admissions of the last minute: member "<slot>:<n>" (ticks) or
--                            "j<seq>:1" (admitted at join), score ms
-- KEYS[7] jt          zset   join-time checkpoints: member time ms, score ticket number
-- KEYS[8] inv         hash   the concert's seats as booking published them: total, held, sold
-- KEYS[9] pre         zset   the pre-queue (only counted here)
-- KEYS[10] ended      zset   admissions ended early (paid, given up): member ticket number,
--                            score ms (only counted here)
-- ARGV[1] instance id (recorded as last_tick_by)
--
-- Returns name/value pairs: ran, admitted, dropped, waiting, active, head_seq,
-- admitted_1m, tick_ms, capacity, batch_size, active_ttl_secs, mode, waitlist (1 unless
-- the room releases its line at the sell-out), now_ms,
-- log_span_ms, epoch, total, held, sold (total -1 when booking never published the
-- inventory), sold_out (1 while every seat is sold; the sold-out state follows the
-- inventory, so seats added later open the room again), opens_at_ms, prequeue_secs,
-- draw_state ("" no opening, "scheduled", "drawing", "drawn"), prequeued (pre-queue
-- entries, or the draw's size once frozen), draw_written, seed_sha256, seed (empty until
-- the draw is done), drawn_ms.
--   ran: 1 when this call did the tick, 0 when the slot was already done, -1 when the room
--   hash does not exist or lacks a setting (nothing written; only now_ms follows).
--   head_seq: lowest waiting ticket number, or last ticket + 1 when the line is empty.
--   log_span_ms: time from the oldest to the newest admission in the one-minute log (0
--   with fewer than two), so a room younger than a minute still gets its true admission
--   rate, at any moment between two ticks.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local r = redis.call('HMGET', KEYS[5], 'capacity', 'batch_size', 'tick_ms',
  'active_ttl_secs', 'enabled', 'last_tick_ms', 'epoch', 'mode', 'opens_at_ms',
  'prequeue_secs', 'draw_state', 'pre_n', 'draw_written', 'seed_sha256', 'seed', 'drawn_ms',
  'waitlist', 'waitlisted_ms')
local capacity, batch, tick, ttl = tonumber(r[1]), tonumber(r[2]), tonumber(r[3]), tonumber(r[4])
if not capacity or not batch or not tick or not ttl or not r[5] then
  return {'ran', -1, 'now_ms', now}
end
-- A hash written before modes existed has only `enabled`.
local mode = r[8] or ((r[5] == '1') and 'open' or 'closed')
local last = tonumber(r[6])
local opens = tonumber(r[9])
local draw_state = r[11] or (opens and 'scheduled' or '')
local drawn = draw_state == 'drawn'

local function head_seq()
  local h = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if h[2] then return tonumber(h[2]) end
  return (tonumber(redis.call('GET', KEYS[4])) or 0) + 1
end

local inv = redis.call('HMGET', KEYS[8], 'total', 'held', 'sold')
local total = tonumber(inv[1]) or -1
local held, sold = tonumber(inv[2]) or 0, tonumber(inv[3]) or 0
local sold_out = total > 0 and sold >= total
local waitlist = r[17] ~= '0'
local waitlisted = r[18] ~= false
if sold_out and waitlist then
  if not waitlisted then
    redis.call('HSET', KEYS[5], 'waitlisted_ms', now)
    waitlisted = true
  end
elseif sold_out and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[5], 'sold_out_ms', now,
    'sold_out_seq', tonumber(redis.call('GET', KEYS[4])) or 0)
  -- UNLINK frees a long line in the background: this call stays short.
  redis.call('UNLINK', KEYS[1], KEYS[7])
end

local ran, admitted, dropped = 0, 0, 0
local slot = math.floor(now / tick)
if last == nil or slot > math.floor(last / tick) then
  ran = 1
  redis.call('HSET', KEYS[5], 'last_tick_ms', now, 'last_tick_by', ARGV[1])

  -- 1. Expired admissions are dropped, at most 10,000 per tick so one call never holds
  --    Redis for long (a room that admitted a million at once expires them over several
  --    ticks). Slots are counted from the unexpired ones, so a backlog of expired entries
  --    never holds admissions back.
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 10000)
  dropped = #expired
  for i = 1, dropped, 500 do
    local j = math.min(i + 499, dropped)
    redis.call('HDEL', KEYS[3], unpack(expired, i, j))
    redis.call('ZREM', KEYS[2], unpack(expired, i, j))
  end

  -- 2. Admit from the head of the line, strictly by ticket number (a closed room's line
  --    keeps moving; a paused one does not).
  local live = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
  local n = math.min(batch, capacity - live)
  local buyable = total < 0 or total - held - sold > 0
  if waitlist and waitlisted and total >= 0 then
    -- Buyers whose admission ended in the last two seconds (a payment) may have taken a
    -- seat the published inventory does not show yet (booking publishes it every second).
    local recent = redis.call('ZCOUNT', KEYS[10], now - 2000, '+inf')
    n = math.min(n, total - held - sold - live - recent)
  end
  if mode ~= 'queue_all' and (not opens or drawn) and buyable and n > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[1], n)
    admitted = #popped / 2
    if admitted > 0 then
      local expiry = now + ttl * 1000
      for i = 1, #popped, 1000 do
        local zargs, hargs = {}, {}
        for j = i, math.min(i + 999, #popped), 2 do
          zargs[#zargs + 1] = expiry
          zargs[#zargs + 1] = popped[j]
          hargs[#hargs + 1] = popped[j]
          hargs[#hargs + 1] = popped[j + 1]
        end
        redis.call('ZADD', KEYS[2], unpack(zargs))
        redis.call('HSET', KEYS[3], unpack(hargs))
      end
      redis.call('ZADD', KEYS[6], now, slot .. ':' .. admitted)
      redis.call('HINCRBY', KEYS[5], 'admitted_1m', admitted)
    end
  end

  -- 3. Keep one minute of admissions, with admitted_1m as their running sum.
  local cutoff = now - 60000
  local old = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', cutoff)
  if #old > 0 then
    local gone = 0
    for _, m in ipairs(old) do
      gone = gone + (tonumber(string.match(m, ':(%d+)$')) or 0)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', cutoff)
    redis.call('HINCRBY', KEYS[5], 'admitted_1m', -gone)
  end

  -- 4. Join-time checkpoints: keep the last one at or below the head, drop older ones.
  local keep = redis.call('ZREVRANGEBYSCORE', KEYS[7], head_seq(), '-inf',
    'WITHSCORES', 'LIMIT', 0, 1)
  if keep[2] then
    redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. keep[2])
  end
end

local oldest = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
local span = 0
if oldest[2] then span = math.max(0, tonumber(newest[2]) - tonumber(oldest[2])) end

return {
  'ran', ran, 'admitted', admitted, 'dropped', dropped,
  'waiting', redis.call('ZCARD', KEYS[1]),
  'active', redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  'head_seq', head_seq(),
  'admitted_1m', tonumber(redis.call('HGET', KEYS[5], 'admitted_1m')) or 0,
  'tick_ms', tick, 'capacity', capacity, 'batch_size', batch, 'active_ttl_secs', ttl,
  'mode', mode, 'waitlist', waitlist and 1 or 0, 'now_ms', now, 'log_span_ms', span, 'epoch', r[7] or '',
  'total', total, 'held', held, 'sold', sold, 'sold_out', sold_out and 1 or 0,
  'opens_at_ms', r[9] or '', 'prequeue_secs', tonumber(r[10]) or 0, 'draw_state', draw_state,
  'prequeued', tonumber(r[12]) or redis.call('ZCARD', KEYS[9]),
  'draw_written', tonumber(r[13]) or 0, 'seed_sha256', r[14] or '',
  'seed', drawn and r[15] or '', 'drawn_ms', tonumber(r[16]) or 0,
}
