-- release_hold: compare-and-delete of a seat hold key.
--
-- KEYS[1] the seat's hold key (`<p>hold:{concert}:<schedule>:<seat>`)
-- ARGV[1] the reservation id the caller put there
--
-- Deletes the key only while it still holds the caller's reservation id, so a late
-- release can never free a seat that someone else holds now. Returns name/value pairs:
-- released (1 if deleted, else 0).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return {'released', redis.call('DEL', KEYS[1])}
end
return {'released', 0}
