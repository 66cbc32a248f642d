-- seat_lock: the fast gate of a hold. Takes the keys of every seat of an order (one seat
-- or several) for the new hold, or none of them, and says who has those it could not take.
-- One script call, so an order is never half locked; the keys of one concert share a
-- hash tag, so they sit on one slot of a Redis Cluster.
--
-- KEYS   the seats' keys (`<p>hold:{concert}:<schedule>:<seat>`)
-- ARGV[1] the hold's TTL, ms (every key of the order expires at the same moment)
-- ARGV[1+i] the value for KEYS[i]: "<reservation id>:<user id>"
--
-- Returns name/value pairs: won (1 when this call took every key, else 0 and it took
-- none), holders (per key, in KEYS order: the value already there — "<reservation
-- id>:<user id>" of a live hold, or "sold" — or '' for a free key).
local holders = {}
local taken = false
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current then
    taken = true
    holders[i] = current
  else
    holders[i] = ''
  end
end
if taken then
  return {'won', 0, 'holders', holders}
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
end
return {'won', 1, 'holders', holders}
