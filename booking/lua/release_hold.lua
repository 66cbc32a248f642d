-- release_hold: compare-and-delete of a seat hold key.
--
-- KEYS[1] the seat's hold key (`<p>hold:{concert}:<schedule>:<seat>`)
-- ARGV[1] the reservation id the caller put there
--
-- Deletes the key only while it still holds the caller's reservation id, so a late
-- release can never free a seat that someone else holds now. Returns 1 if deleted.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
