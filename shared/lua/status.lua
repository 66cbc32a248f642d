-- status: where the ticket a token carries stands now.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] room        hash   (only its epoch is read)
-- KEYS[5] optional: a seat's hold key (`<p>hold:{concert}:<schedule>:<seat>`, same slot)
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries
-- ARGV[3] the room epoch the token carries ("" when it carries none: not checked)
--
-- Returns name/value pairs: status, rank, expires_at_ms, now_ms, seat.
--   status "active"  the admission of this very ticket has not expired (rank 0)
--          "waiting" the ticket is in line, rank is 0-based (expires_at_ms 0)
--          "gone"    the ticket was dropped: left, expired, paid, or replaced by a newer one
--          "reset"   the room is not the one the token was issued in (Redis lost its data
--                    and the room was created again, or it is missing right now)
--   seat_held 1 when the ticket is active and KEYS[4] exists (someone holds that seat)
local user = ARGV[1]
local want = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function reply(status, rank, expiry, seat)
  return {'status', status, 'rank', rank, 'expires_at_ms', expiry, 'now_ms', now,
    'seat', seat}
end

if ARGV[3] ~= '' and redis.call('HGET', KEYS[4], 'epoch') ~= ARGV[3] then
  return reply('reset', 0, 0, '')
end

local exp = tonumber(redis.call('ZSCORE', KEYS[2], user))
if exp and exp > now and tonumber(redis.call('HGET', KEYS[3], user)) == want then
  local seat = ''
  if KEYS[5] then seat = redis.call('GET', KEYS[5]) or '' end
  return reply('active', 0, exp, seat)
end

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if seq and seq == want then
  return reply('waiting', redis.call('ZRANK', KEYS[1], user), 0, '')
end

return reply('gone', 0, 0, '')
