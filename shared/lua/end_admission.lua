-- end_admission: ends a buyer's admission (payment done, or the buyer left an active slot).
--
-- KEYS[1] active set   (zset: user -> admission expiry ms)
-- KEYS[2] active seqs  (hash: user -> ticket number)
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
return {'ended', 1}
