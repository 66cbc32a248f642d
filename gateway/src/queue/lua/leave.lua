-- leave: the buyer leaves the line or gives up an admission. Only the ticket the token
-- carries is affected, so an old token cannot drop a newer place of the same user.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries
--
-- Returns 1 when the buyer left the line, 2 when an admission was given up (its slot goes
-- to the next in line at the next tick), 0 when the ticket was already gone.
local user = ARGV[1]
local want = tonumber(ARGV[2])

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if seq and seq == want then
  redis.call('ZREM', KEYS[1], user)
  return 1
end

local aseq = tonumber(redis.call('HGET', KEYS[3], user))
if aseq and aseq == want then
  redis.call('ZREM', KEYS[2], user)
  redis.call('HDEL', KEYS[3], user)
  return 2
end

return 0
