-- status: where the ticket a token carries stands now.
--
-- KEYS[1] waiting     zset   user id -> ticket number
-- KEYS[2] active      zset   user id -> admission expiry (ms, Redis server clock)
-- KEYS[3] active_seq  hash   user id -> ticket number of the admission
-- KEYS[4] room        hash   (its epoch, the draw's fields, the sold-out mark the promote
--                            script sets)
-- KEYS[5] inv         hash   the concert's seats as booking published them: total, held, sold
-- KEYS[6] pre         zset   the pre-queue: user id -> join time (ms)
-- KEYS[7] optional: a seat's hold key (`<p>hold:{concert}:<schedule>:<seat>`, same slot)
-- ARGV[1] user id
-- ARGV[2] ticket number the token carries; 0 for a pre-queue entry (whose number the draw
--         gives: any ticket of this user within the draw's numbers is that entry's)
-- ARGV[3] the room epoch the token carries ("" when it carries none: not checked)
--
-- Returns name/value pairs: status, seq (the ticket's number), rank, expires_at_ms, now_ms,
-- seat, total, held, sold, opens_at_ms (0 when no opening is scheduled).
--   status "active"   the admission of this very ticket has not expired (rank 0)
--          "waiting"  the ticket is in line, rank is 0-based, counting pre-queue entries
--                     the draw has still to place (expires_at_ms 0)
--          "prequeue" the entry waits in the pre-queue for the draw
--          "sold_out" the ticket was in line when the concert sold out, and the line was
--                     released; said for active_ttl_secs after that
--          "gone"     the ticket was dropped: left, expired, paid, or replaced by a newer
--                     one; or released by the sell-out longer ago ("gone_sold_out")
--          "reset"    the room is not the one the token was issued in (Redis lost its
--                     data and the room was created again, or it is missing right now)
--   seat: for an active ticket, KEYS[7]'s value ("<reservation>:<user>" of a live hold, or
--   "sold"), empty when the key does not exist or was not asked for
--   total, held, sold: the inventory (total -1 when booking never published it)
local user = ARGV[1]
local want = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local room = redis.call('HMGET', KEYS[4], 'epoch', 'sold_out_ms', 'sold_out_seq',
  'active_ttl_secs', 'pre_n', 'pre_base', 'draw_state', 'draw_written', 'opens_at_ms')
local inv = redis.call('HMGET', KEYS[5], 'total', 'held', 'sold')
local function reply(status, seq, rank, expiry, seat)
  return {'status', status, 'seq', seq, 'rank', rank, 'expires_at_ms', expiry, 'now_ms', now,
    'seat', seat, 'total', tonumber(inv[1]) or -1, 'held', tonumber(inv[2]) or 0,
    'sold', tonumber(inv[3]) or 0, 'opens_at_ms', tonumber(room[9]) or 0}
end

if ARGV[3] ~= '' and room[1] ~= ARGV[3] then
  return reply('reset', want, 0, 0, '')
end
local pre_n, pre_base = tonumber(room[5]), tonumber(room[6])
local drawn = room[7] == 'drawn'

-- A pre-queue entry's ticket is whichever ticket of this user the draw numbered.
local function mine(seq)
  if want == 0 then
    return seq and pre_n and seq > pre_base and seq <= pre_base + pre_n
  end
  return seq == want
end

local exp = tonumber(redis.call('ZSCORE', KEYS[2], user))
if exp and exp > now then
  local aseq = tonumber(redis.call('HGET', KEYS[3], user))
  if mine(aseq) then
    local seat = ''
    if KEYS[7] then seat = redis.call('GET', KEYS[7]) or '' end
    return reply('active', aseq, 0, exp, seat)
  end
end

local seq = tonumber(redis.call('ZSCORE', KEYS[1], user))
if mine(seq) then
  local rank = redis.call('ZRANK', KEYS[1], user)
  if pre_n and not drawn then
    rank = rank + pre_n - (tonumber(room[8]) or 0)
  end
  return reply('waiting', seq, rank, 0, '')
end

if want == 0 and not drawn and redis.call('ZSCORE', KEYS[6], user) then
  return reply('prequeue', 0, 0, 0, '')
end

-- Released by the sell-out: a ticket handed out before it that is neither active nor
-- waiting any more (a pre-queue entry counts from the draw's first number).
local sold_out_ms, sold_out_seq = tonumber(room[2]), tonumber(room[3])
local numbered = want
if want == 0 then numbered = pre_base and pre_base + 1 end
if sold_out_ms and sold_out_seq and numbered and numbered <= sold_out_seq then
  if now < sold_out_ms + (tonumber(room[4]) or 0) * 1000 then
    return reply('sold_out', want, 0, 0, '')
  end
  return reply('gone_sold_out', want, 0, 0, '')
end

return reply('gone', want, 0, 0, '')
