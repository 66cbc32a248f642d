-- leave: the buyer leaves the line or gives up an admission. Only the ticket the token
-- carries is affected, so an old token cannot drop a newer place of the same user. The
-- store prepends lib/end_admission.lua (the one body that ends an admission).
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] left        zset   ticket number -> time it left the line (ms); entries older
--                            than ARGV[3] ms are trimmed here. Gateways read it each tick
--                            so status polls answered from memory skip left tickets.
-- KEYS[5] room        hash   (pre_n: whether the pre-queue is frozen; active_ttl_secs)
-- KEYS[6] pre         zset   the pre-queue: user id -> join time (ms)
-- KEYS[7] ended       zset   ticket number -> time its admission ended (ms), kept for
--                            active_ttl_secs (see end_admission.lua)
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries (0: a pre-queue entry)
-- ARGV[3] how long a left ticket stays listed, ms
--
-- Returns name/value pairs: left ("waiting" when the buyer left the line, "active" when
-- an admission was given up, its slot going to the next in line at the next tick,
-- "prequeue" when the buyer left the pre-queue before the opening, "none" when the ticket
-- was already gone — or is a pre-queue entry the draw is placing right now: its token gets
-- its ticket number at the next status call, and can leave with that).
local user = ARGV[1]
local want = tonumber(ARGV[2])

if want == 0 then
  if not redis.call('HGET', KEYS[5], 'pre_n') and redis.call('ZREM', KEYS[6], user) == 1 then
    return {'left', 'prequeue'}
  end
  return {'left', 'none'}
end

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if seq and seq == want then
  redis.call('ZREM', KEYS[1], user)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[4], now, seq)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[3]))
  return {'left', 'waiting'}
end

-- Giving up an admission ends it the way a payment does (lib/end_admission.lua).
if end_admission(KEYS[2], KEYS[3], KEYS[7], KEYS[5], user, want) == 1 then
  return {'left', 'active'}
end

return {'left', 'none'}
