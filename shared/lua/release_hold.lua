-- release_hold: compare-and-delete of the seat keys of a hold (one seat or an order).
--
-- KEYS   the seats' hold keys (`<p>hold:{concert}:<schedule>:<seat>`)
-- ARGV[i] the value the caller put in KEYS[i] ("<reservation id>:<user id>")
--
-- Deletes each key only while it still holds the caller's value, so a late release can
-- never free a seat that someone else holds now. Returns name/value pairs: released (how
-- many keys were deleted).
local released = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    released = released + redis.call('DEL', key)
  end
end
return {'released', released}
