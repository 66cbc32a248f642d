-- end_admission: ends a buyer's admission (payment done, or the buyer left an active slot).
--
-- The ended ticket is listed in the room's `ended` set for as long as its admission could
-- have lasted (active_ttl_secs), so the gateways, which read the set every tick, answer a
-- status poll of an admitted token from memory and never call an ended admission active.
--
-- KEYS[1] active set   (zset: user -> admission expiry ms)
-- KEYS[2] active seqs  (hash: user -> ticket number)
-- KEYS[3] ended        (zset: ticket number -> time it ended, ms)
-- KEYS[4] room         (hash: only active_ttl_secs is read)
-- ARGV[1] user id
-- ARGV[2] ticket number the caller's token carries; "0" ends whatever admission exists
--
-- Returns name/value pairs: ended (1 when an admission was removed, 0 when there was none,
-- or it belonged to another ticket of the same user, which is left alone).
local user = ARGV[1]
local want = tonumber(ARGV[2])
local seq = redis.call('HGET', KEYS[2], user)
if not redis.call('ZSCORE', KEYS[1], user) then
  if seq then redis.call('HDEL', KEYS[2], user) end
  return {'ended', 0}
end
if want ~= 0 and seq and tonumber(seq) ~= want then
  return {'ended', 0}
end
redis.call('ZREM', KEYS[1], user)
redis.call('HDEL', KEYS[2], user)
if seq then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local ttl = tonumber(redis.call('HGET', KEYS[4], 'active_ttl_secs')) or 86400
  redis.call('ZADD', KEYS[3], now, seq)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - ttl * 1000)
end
return {'ended', 1}
