-- seat_lock: the fast gate of a hold. Takes a seat's key for a new hold, or says who has it.
--
-- KEYS[1] the seat's key (`<p>hold:{concert}:<schedule>:<seat>`)
-- ARGV[1] the value for the new hold: "<reservation id>:<user id>"
-- ARGV[2] the hold's TTL, ms
--
-- Returns name/value pairs: won (1 when this call took the key), holder (the key's value
-- when it did not: "<reservation id>:<user id>" of a live hold, or "sold").
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'won', 1, 'holder', ''}
end
return {'won', 0, 'holder', redis.call('GET', KEYS[1]) or ''}
