-- stats: a room's settings and live figures for the admin API (read only).
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   (unused; keeps the key list of the queue scripts)
-- KEYS[4] seq         string last ticket number handed out
-- KEYS[5] room        hash   settings; last_tick_ms, last_tick_by, admitted_1m
-- KEYS[6] log         zset   (unused)
-- KEYS[7] jt          zset   join-time checkpoints: member time ms, score ticket number
-- KEYS[8] inv         hash   the concert's seats as booking published them: total, held, sold
-- KEYS[9] pre         zset   the pre-queue
--
-- Returns name/value pairs: exists, mode, waitlist (1 unless the room releases its line at
-- the sell-out), capacity, batch_size, tick_ms, active_ttl_secs,
-- waiting, active, admitted_1m, head_seq, last_seq, oldest_wait_ms, last_tick_ms,
-- last_tick_by, now_ms, version, epoch, total, held, sold (total -1 when never published),
-- opens_at_ms, prequeue_secs, draw_state, prequeued, draw_written, seed_sha256, seed (empty
-- until drawn), drawn_ms (as the promote script replies them); exists is 0 when the room
-- hash is missing (the settings are then 0 and the figures come from the keys as they
-- are).
--   oldest_wait_ms: how long the head of the line has waited, to the second (from the
--   last join-time checkpoint at or below the head's ticket), 0 when the line is empty.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local r = redis.call('HMGET', KEYS[5], 'capacity', 'batch_size', 'tick_ms',
  'active_ttl_secs', 'enabled', 'admitted_1m', 'last_tick_ms', 'last_tick_by', 'version',
  'epoch', 'mode', 'opens_at_ms', 'prequeue_secs', 'draw_state', 'pre_n', 'draw_written',
  'seed_sha256', 'seed', 'drawn_ms', 'waitlist')
local inv = redis.call('HMGET', KEYS[8], 'total', 'held', 'sold')
local draw_state = r[14] or ((tonumber(r[12]) and 'scheduled') or '')
local drawn = draw_state == 'drawn'
local last_seq = tonumber(redis.call('GET', KEYS[4])) or 0
local waiting = redis.call('ZCARD', KEYS[1])

local head = last_seq + 1
local oldest = 0
local h = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if h[2] then
  head = tonumber(h[2])
  local cp = redis.call('ZREVRANGEBYSCORE', KEYS[7], head, '-inf', 'LIMIT', 0, 1)
  if cp[1] then
    oldest = math.max(0, now - tonumber(cp[1]))
  end
end

return {
  'exists', redis.call('EXISTS', KEYS[5]),
  'capacity', tonumber(r[1]) or 0,
  'batch_size', tonumber(r[2]) or 0,
  'tick_ms', tonumber(r[3]) or 0,
  'active_ttl_secs', tonumber(r[4]) or 0,
  -- A hash written before modes existed has only `enabled`.
  'mode', r[11] or ((r[5] == '1') and 'open' or 'closed'),
  'waitlist', (r[20] == '0') and 0 or 1,
  'waiting', waiting,
  'active', redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  'admitted_1m', tonumber(r[6]) or 0,
  'head_seq', head,
  'last_seq', last_seq,
  'oldest_wait_ms', oldest,
  'last_tick_ms', tonumber(r[7]) or 0,
  'last_tick_by', r[8] or '',
  'now_ms', now,
  'version', tonumber(r[9]) or 0,
  'epoch', r[10] or '',
  'total', tonumber(inv[1]) or -1,
  'held', tonumber(inv[2]) or 0,
  'sold', tonumber(inv[3]) or 0,
  'opens_at_ms', r[12] or '',
  'prequeue_secs', tonumber(r[13]) or 0,
  'draw_state', draw_state,
  'prequeued', tonumber(r[15]) or redis.call('ZCARD', KEYS[9]),
  'draw_written', tonumber(r[16]) or 0,
  'seed_sha256', r[17] or '',
  'seed', drawn and r[18] or '',
  'drawn_ms', tonumber(r[19]) or 0,
}
