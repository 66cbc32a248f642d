-- seat_sold: after a payment, a sold seat's key becomes a long-lived "sold" marker, so every
-- later attempt on the seat stops in Redis (at the gateway or at booking's first gate)
-- instead of reaching PostgreSQL. (The concert's inventory is not touched here: booking's
-- publisher writes it whole, and counting the sale here too could count it twice, which
-- could call a concert sold out while a seat is left.)
--
-- KEYS[1] the seat's key
-- ARGV[1] the paid hold's value ("<reservation id>:<user id>")
-- ARGV[2] the marker's TTL, ms
--
-- The marker replaces the paid hold's own value, or a key that expired meanwhile; a key
-- someone else took after the hold ran out is left alone (their hold will fail in
-- PostgreSQL, which knows the seat is sold). Returns name/value pairs: marked (1/0).
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], 'sold', 'PX', ARGV[2])
  return {'marked', 1}
end
return {'marked', 0}
