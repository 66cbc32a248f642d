-- status: where the ticket a token carries stands now.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] room        hash   (its epoch, and the sold-out mark the promote script sets)
-- KEYS[5] inv         hash   the concert's seats as booking published them: total, held, sold
-- KEYS[6] optional: a seat's hold key (`<p>hold:{concert}:<schedule>:<seat>`, same slot)
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries
-- ARGV[3] the room epoch the token carries ("" when it carries none: not checked)
--
-- Returns name/value pairs: status, rank, expires_at_ms, now_ms, seat, total, held, sold.
--   status "active"   the admission of this very ticket has not expired (rank 0)
--          "waiting"  the ticket is in line, rank is 0-based (expires_at_ms 0)
--          "sold_out" the ticket was in line when the concert sold out, and the line was
--                     released; said for active_ttl_secs after that
--          "gone"     the ticket was dropped: left, expired, paid, or replaced by a newer
--                     one; or released by the sell-out longer ago ("gone_sold_out")
--          "reset"    the room is not the one the token was issued in (Redis lost its
--                     data and the room was created again, or it is missing right now)
--   seat: for an active ticket, KEYS[6]'s value ("<reservation>:<user>" of a live hold, or
--   "sold"), empty when the key does not exist or was not asked for
--   total, held, sold: the inventory (total -1 when booking never published it)
local user = ARGV[1]
local want = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local inv = redis.call('HMGET', KEYS[5], 'total', 'held', 'sold')
local function reply(status, rank, expiry, seat)
  return {'status', status, 'rank', rank, 'expires_at_ms', expiry, 'now_ms', now,
    'seat', seat, 'total', tonumber(inv[1]) or -1, 'held', tonumber(inv[2]) or 0,
    'sold', tonumber(inv[3]) or 0}
end

local room = redis.call('HMGET', KEYS[4], 'epoch', 'sold_out_ms', 'sold_out_seq',
  'active_ttl_secs')
if ARGV[3] ~= '' and room[1] ~= ARGV[3] then
  return reply('reset', 0, 0, '')
end

local exp = tonumber(redis.call('ZSCORE', KEYS[2], user))
if exp and exp > now and tonumber(redis.call('HGET', KEYS[3], user)) == want then
  local seat = ''
  if KEYS[6] then seat = redis.call('GET', KEYS[6]) or '' end
  return reply('active', 0, exp, seat)
end

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if seq and seq == want then
  return reply('waiting', redis.call('ZRANK', KEYS[1], user), 0, '')
end

-- Released by the sell-out: a ticket handed out before it that is neither active nor
-- waiting any more.
local sold_out_ms, sold_out_seq = tonumber(room[2]), tonumber(room[3])
if sold_out_ms and sold_out_seq and want <= sold_out_seq then
  if now < sold_out_ms + (tonumber(room[4]) or 0) * 1000 then
    return reply('sold_out', 0, 0, '')
  end
  return reply('gone_sold_out', 0, 0, '')
end

return reply('gone', 0, 0, '')
