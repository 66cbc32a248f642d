-- join: puts a buyer in a concert's line, or returns the place the buyer already has.
-- One place per user per concert: a buyer with a live admission, a waiting ticket or a
-- pre-queue entry gets it back; only a buyer with none gets a new one.
--
-- With an opening scheduled (room field opens_at_ms): before the pre-queue window
-- (opens_at_ms - prequeue_secs) joins are refused ("not_open"); inside it the buyer gets
-- one pre-queue entry (no ticket number: the draw gives it one); from opens_at_ms on, the
-- first caller must freeze the pre-queue first (draw_begin.lua) — this script then answers
-- "unfrozen" and writes nothing — after which new joins get ticket numbers behind every
-- pre-queue entry (the freeze reserved the numbers pre_base + 1 .. pre_base + pre_n).
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] seq         string last ticket number handed out
-- KEYS[5] room        hash   room settings (mode, capacity, active_ttl_secs, opening, ...)
-- KEYS[6] log         zset   admissions of the last minute: member "<tag>:<n>", score ms
-- KEYS[7] jt          zset   join-time checkpoints: member time ms, score ticket number
-- KEYS[8] inv         hash   the concert's seats as booking published them: total, held, sold
-- KEYS[9] pre         zset   the pre-queue: user id -> join time (ms)
-- KEYS[10] ended      zset   admissions ended early: member ticket number, score ms
-- ARGV[1] user id (decimal)
--
-- Returns name/value pairs: status, seq, rank, expires_at_ms, created, now_ms, epoch (the
-- room's, empty for a room created before epochs existed), total, held, sold (the
-- inventory; total -1 when booking never published it), opens_at_ms, prequeue_ms (the
-- opening and the pre-queue window's start, empty when none is scheduled).
--   status "active"   seq, rank 0, expires_at_ms; created 1 when admitted by this call
--          "waiting"  seq, 0-based rank (counting pre-queue entries the draw has still to
--                     place); created 1 when the ticket was created by this call
--          "prequeue" in the pre-queue (seq 0); created 1 when the entry was made by this
--                     call
--          "closed"   the room is closed (mode closed) and the buyer has no place (nothing
--                     written); in mode queue_all, while the opening's draw is not done, or
--                     while no seat is buyable (all held or sold), nobody is admitted at once
--          "sold_out" every seat is sold, the room releases its line at the sell-out (setting
--                     waitlist 0) and the buyer has no place (nothing written); a
--                     waitlisted room places the buyer at the back ("waiting")
--          "not_open" the pre-queue window has not opened yet (nothing written)
--          "unfrozen" the opening has passed and the pre-queue is not frozen yet (nothing
--                     written: freeze it, then call again)
--          "noroom"   the room hash does not exist or lacks a setting (nothing written)
local user = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local room = redis.call('HMGET', KEYS[5], 'capacity', 'active_ttl_secs', 'enabled', 'epoch',
  'mode', 'opens_at_ms', 'prequeue_secs', 'pre_n', 'draw_state', 'draw_written', 'waitlist',
  'waitlisted_ms')
-- A hash written before modes existed has only `enabled`.
local mode = room[5] or ((room[3] == '1') and 'open' or 'closed')
local opens = tonumber(room[6])
local prequeue_ms = opens and opens - (tonumber(room[7]) or 0) * 1000
local pre_n, drawn = tonumber(room[8]), room[9] == 'drawn'

local inv = redis.call('HMGET', KEYS[8], 'total', 'held', 'sold')
local total = tonumber(inv[1]) or -1
local held, sold = tonumber(inv[2]) or 0, tonumber(inv[3]) or 0

local function reply(status, seq, rank, expiry, created)
  return {'status', status, 'seq', seq, 'rank', rank, 'expires_at_ms', expiry,
    'created', created, 'now_ms', now, 'epoch', room[4] or '',
    'total', total, 'held', held, 'sold', sold,
    'opens_at_ms', opens or '', 'prequeue_ms', prequeue_ms or ''}
end

-- Pre-queue entries the draw has not placed in line yet: they are ahead of every ticket
-- handed out after the opening.
local function unplaced()
  if pre_n and not drawn then
    return pre_n - (tonumber(room[10]) or 0)
  end
  return 0
end

local capacity, ttl = tonumber(room[1]), tonumber(room[2])
if not capacity or not ttl or not room[3] then
  return reply('noroom', 0, 0, 0, 0)
end
local ttl_ms = ttl * 1000

local exp = redis.call('ZSCORE', KEYS[2], user)
if exp then
  exp = tonumber(exp)
  if exp > now then
    local aseq = tonumber(redis.call('HGET', KEYS[3], user)) or 0
    return reply('active', aseq, 0, exp, 0)
  end
end

local wseq = redis.call('ZSCORE', KEYS[1], user)
if wseq then
  return reply('waiting', tonumber(wseq), redis.call('ZRANK', KEYS[1], user) + unplaced(), 0, 0)
end

if opens and not drawn and redis.call('ZSCORE', KEYS[9], user) then
  return reply('prequeue', 0, 0, 0, 0)
end

if mode == 'closed' then
  return reply('closed', 0, 0, 0, 0)
end
-- Sold out: a waitlisted room still places the buyer, at the back of its line.
local waitlist = room[11] ~= '0'
if total > 0 and sold >= total and not waitlist then
  return reply('sold_out', 0, 0, 0, 0)
end

if opens and not pre_n then
  if now < prequeue_ms then
    return reply('not_open', 0, 0, 0, 0)
  end
  if now < opens then
    redis.call('ZADD', KEYS[9], now, user)
    return reply('prequeue', 0, 0, 0, 1)
  end
  return reply('unfrozen', 0, 0, 0, 0)
end

-- An admission that expired but that no tick has dropped yet: it is over.
if exp then
  redis.call('ZREM', KEYS[2], user)
  redis.call('HDEL', KEYS[3], user)
end

local seq = redis.call('INCR', KEYS[4])

-- Empty line, free capacity and a buyable seat in an open room whose opening (if any) is
-- drawn: admitted at once (nobody is ahead).
-- A waitlisted room that sold out once admits no more buyers than seats are buyable beyond
-- those already active.
local live = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
local spare = total - held - sold
if room[12] then
  spare = spare - live - redis.call('ZCOUNT', KEYS[10], now - 2000, '+inf')
end
if mode == 'open' and (not opens or drawn) and (total < 0 or spare > 0)
  and redis.call('ZCARD', KEYS[1]) == 0 and live < capacity then
  local expiry = now + ttl_ms
  redis.call('ZADD', KEYS[2], expiry, user)
  redis.call('HSET', KEYS[3], user, seq)
  redis.call('ZADD', KEYS[6], now, 'j' .. seq .. ':1')
  redis.call('HINCRBY', KEYS[5], 'admitted_1m', 1)
  return reply('active', seq, 0, expiry, 1)
end

redis.call('ZADD', KEYS[1], seq, user)

-- At most one checkpoint per second: every ticket between two checkpoints joined within
-- one second of the earlier one, so the head's wait is known to the second.
local last = redis.call('ZRANGE', KEYS[7], -1, -1)
if last[1] == nil or now - tonumber(last[1]) >= 1000 then
  redis.call('ZADD', KEYS[7], seq, now)
end

-- The new ticket has the highest number, so it is last in line.
return reply('waiting', seq, redis.call('ZCARD', KEYS[1]) - 1 + unplaced(), 0, 1)
