-- lib/end_admission: the one body that ends an admission, shared by end_admission.lua
-- (payments) and leave.lua (a buyer giving up the slot); the store prepends it to both.
--
-- end_admission(active, active_seq, ended, room, user, want)
--   active      zset   user id -> admission expiry (ms)
--   active_seq  hash   user id -> ticket number of the admission
--   ended       zset   ticket number -> time its admission ended (ms), kept for as long as
--                      the admission could have lasted (active_ttl_secs), so the gateways,
--                      which read it every tick, never call an ended admission active
--   room        hash   only active_ttl_secs is read
--   user        the user id
--   want        the ticket number the caller's token carries; 0 ends whatever admission
--               the user has
-- Returns 1 when an admission was removed; 0 when there was none, or it belongs to another
-- ticket of the same user (left alone).
local function end_admission(active, active_seq, ended, room, user, want)
  local seq = redis.call('HGET', active_seq, user)
  if not redis.call('ZSCORE', active, user) then
    if seq then redis.call('HDEL', active_seq, user) end
    return 0
  end
  if want ~= 0 and tonumber(seq) ~= want then
    return 0
  end
  redis.call('ZREM', active, user)
  redis.call('HDEL', active_seq, user)
  if seq then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local ttl = tonumber(redis.call('HGET', room, 'active_ttl_secs')) or 86400
    redis.call('ZADD', ended, now, seq)
    redis.call('ZREMRANGEBYSCORE', ended, '-inf', now - ttl * 1000)
  end
  return 1
end
