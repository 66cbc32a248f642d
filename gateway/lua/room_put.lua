-- room_put: creates a room, or brings its settings to a newer version.
--
-- KEYS[1] room  hash  settings, version, epoch; tick bookkeeping (left alone here)
-- ARGV[1] the settings' version (booking's count of operator changes; 0 = defaults)
-- ARGV[2] "1" when these are new defaults for a room still on defaults (a gateway reloaded
--         its configuration): they replace version-0 settings
-- ARGV[3..] field, value pairs: every setting
--
-- The settings are written when the hash has none yet, or holds an older version (a hash
-- with settings but no version counts as version 0), or holds defaults and ARGV[2] says
-- these are newer defaults, so instances creating a room at the same time, or an
-- operator's change racing a creation, never go backwards. A hash without
-- an epoch gets one: the Redis time in microseconds, so a room created again after Redis
-- lost its data has a new epoch. Returns name/value pairs: applied (1/0), version, epoch.
local t = redis.call('TIME')
local current = tonumber(redis.call('HGET', KEYS[1], 'version'))
if not current then
  current = (redis.call('HEXISTS', KEYS[1], 'capacity') == 1) and 0 or -1
end
local want = tonumber(ARGV[1])
local applied = 0
if want > current or (want == 0 and current == 0 and ARGV[2] == '1') then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 3))
  applied = 1
  current = want
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
return {'applied', applied, 'version', current, 'epoch', epoch}
