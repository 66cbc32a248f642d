-- leave: the buyer leaves the line or gives up an admission. Only the ticket the token
-- carries is affected, so an old token cannot drop a newer place of the same user.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] left        zset   ticket number -> time it left the line (ms); entries older
--                            than ARGV[3] ms are trimmed here. Gateways read it each tick
--                            so status polls answered from memory skip left tickets.
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries
-- ARGV[3] how long a left ticket stays listed, ms
--
-- Returns name/value pairs: left ("waiting" when the buyer left the line, "active" when
-- an admission was given up, its slot going to the next in line at the next tick, "none"
-- when the ticket was already gone).
local user = ARGV[1]
local want = tonumber(ARGV[2])

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if seq and seq == want then
  redis.call('ZREM', KEYS[1], user)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[4], now, seq)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[3]))
  return {'left', 'waiting'}
end

local aseq = tonumber(redis.call('HGET', KEYS[3], user))
if aseq and aseq == want then
  redis.call('ZREM', KEYS[2], user)
  redis.call('HDEL', KEYS[3], user)
  return {'left', 'active'}
end

return {'left', 'none'}
