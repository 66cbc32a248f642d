-- draw_begin: at the opening, freezes the pre-queue and (optionally) claims the draw.
--
-- Freezing (once, by whichever caller comes first after opens_at_ms): pre_n = the
-- pre-queue's size, pre_base = the last ticket number handed out; the ticket counter jumps
-- by pre_n, so the draw's tickets are pre_base + 1 .. pre_base + pre_n and every join from
-- now on gets a higher number (behind all of them). From then on no join adds to the
-- pre-queue, so the draw reads a fixed set. An empty pre-queue is drawn at once.
--
-- Claiming: one instance at a time writes the draw, under a lease (draw_owner,
-- draw_lease_ms) that draw_write.lua extends with every chunk. When the owner dies, the
-- lease runs out and another instance takes over from draw_written: the order is a
-- function of the seed and the frozen set, so the takeover writes exactly what the first
-- owner would have.
--
-- KEYS[1] room  hash   opens_at_ms, seed, the draw's fields
-- KEYS[2] seq   string last ticket number handed out
-- KEYS[3] pre   zset   the pre-queue: user id -> join time (ms)
-- ARGV[1] instance id
-- ARGV[2] lease, ms
-- ARGV[3] "1" to claim the draw, "0" only to freeze
--
-- Returns name/value pairs: state, pre_n, pre_base, written, seed, now_ms.
--   state "not_yet"  no opening, or opens_at_ms is still ahead (nothing written)
--          "drawn"    the draw is done
--          "go"       the caller owns the draw (claim) or froze / found it frozen (no claim)
--          "busy"     another live instance owns the draw
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'opens_at_ms', 'pre_n', 'pre_base', 'draw_state',
  'draw_written', 'draw_owner', 'draw_lease_ms', 'seed')
local opens = tonumber(r[1])
local function reply(state)
  local f = redis.call('HMGET', KEYS[1], 'pre_n', 'pre_base', 'draw_written')
  return {'state', state, 'pre_n', tonumber(f[1]) or 0, 'pre_base', tonumber(f[2]) or 0,
    'written', tonumber(f[3]) or 0, 'seed', r[8] or '', 'now_ms', now}
end

if not opens or now < opens then
  return reply('not_yet')
end
if r[4] == 'drawn' then
  return reply('drawn')
end

if not r[2] then
  local n = redis.call('ZCARD', KEYS[3])
  local base = tonumber(redis.call('GET', KEYS[2])) or 0
  redis.call('SET', KEYS[2], base + n)
  redis.call('HSET', KEYS[1], 'pre_n', n, 'pre_base', base, 'draw_written', 0,
    'draw_state', 'drawing')
  if n == 0 then
    redis.call('HSET', KEYS[1], 'draw_state', 'drawn', 'drawn_ms', now)
    redis.call('DEL', KEYS[3])
    return reply('drawn')
  end
end

if ARGV[3] ~= '1' then
  return reply('go')
end
if r[6] and r[6] ~= ARGV[1] and (tonumber(r[7]) or 0) > now then
  return reply('busy')
end
redis.call('HSET', KEYS[1], 'draw_owner', ARGV[1], 'draw_lease_ms', now + tonumber(ARGV[2]))
return reply('go')
