-- draw_write: writes one chunk of the opening's draw, in drawn order, and finishes the draw
-- with the last chunk.
--
-- The chunk's users get tickets pre_base + offset + 1, + 2, ... in the waiting line and
-- are appended to the published order; draw_written moves on and the lease is extended.
-- Only the lease's owner writes, and only at draw_written (a stale or repeated chunk
-- changes nothing). With the last chunk: draw_state "drawn", drawn_ms, the pre-queue
-- deleted (in the background) — the seed is public from then on, and admission starts at
-- the next tick.
--
-- KEYS[1] room   hash  the draw's fields
-- KEYS[2] w      zset  the waiting line: user id -> ticket number
-- KEYS[3] drawn  list  the drawn order (user ids)
-- KEYS[4] pre    zset  the pre-queue
-- ARGV[1] instance id
-- ARGV[2] offset: how many entries the draw placed before this chunk
-- ARGV[3] lease, ms
-- ARGV[4..] user ids, in drawn order
--
-- Returns name/value pairs: result ("ok", "lost": the caller does not own the draw,
-- "skipped": draw_written is not at offset), written, done (1 when the draw is complete).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'draw_owner', 'draw_written', 'pre_n', 'pre_base',
  'draw_state')
local written, n, base = tonumber(r[2]) or 0, tonumber(r[3]) or 0, tonumber(r[4]) or 0
local function reply(result)
  return {'result', result, 'written', written, 'done', (written >= n) and 1 or 0}
end
if r[5] ~= 'drawing' or r[1] ~= ARGV[1] then
  return reply('lost')
end
local offset = tonumber(ARGV[2])
if offset ~= written then
  return reply('skipped')
end

local count = #ARGV - 3
if offset + count > n then
  return redis.error_reply('draw_write: chunk past the pre-queue size')
end
for i = 4, #ARGV, 500 do
  local j = math.min(i + 499, #ARGV)
  local zargs, users = {}, {}
  for k = i, j do
    zargs[#zargs + 1] = base + offset + (k - 3)
    zargs[#zargs + 1] = ARGV[k]
    users[#users + 1] = ARGV[k]
  end
  redis.call('ZADD', KEYS[2], unpack(zargs))
  redis.call('RPUSH', KEYS[3], unpack(users))
end
written = offset + count
redis.call('HSET', KEYS[1], 'draw_written', written, 'draw_lease_ms', now + tonumber(ARGV[3]))
if written >= n then
  redis.call('HSET', KEYS[1], 'draw_state', 'drawn', 'drawn_ms', now)
  redis.call('UNLINK', KEYS[4])
end
return reply('ok')
