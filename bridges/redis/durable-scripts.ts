// The durable channel's bookkeeping, each step one Lua script so that it is atomic in Redis and timed by
// Redis's clock (TIME), never a host's. Keys are built from the prefix (ARGV[1]); README.md lists them.
// KEYS[1] is always the deadlines sorted set, declared so that a Cluster routes the script to its slot.

const COMMON = `
local P = ARGV[1]
local DEADLINES = KEYS[1]
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Times a message out: exactly once, because only the call that removes it from DEADLINES goes on.
local function expire(id, t, retain)
  if redis.call('ZREM', DEADLINES, id) == 0 then return 0 end
  local m = P .. 'm:' .. id
  local f = redis.call('HMGET', m, 'from', 'to', 'content')
  if not f[1] then return 0 end
  redis.call('HSET', m, 'state', 'timedout')
  redis.call('PEXPIRE', m, retain)
  local nid = id .. '/timeout'
  redis.call('HSET', P .. 'm:' .. nid, 'from', f[2], 'to', f[1], 'kind', 'timeout', 'content', f[3],
    'inReplyTo', id, 'deadline', 0, 'state', 'queued', 'attempts', 0, 'sent', t)
  redis.call('RPUSH', P .. 'in:' .. f[1], nid)
  return 1
end
local function record(id, from, to, kind, content, inReplyTo, timeout, t)
  local m = P .. 'm:' .. id
  local deadline = 0
  if timeout > 0 then deadline = t + timeout end
  redis.call('HSET', m, 'from', from, 'to', to, 'kind', kind, 'content', content, 'inReplyTo', inReplyTo,
    'deadline', deadline, 'state', 'queued', 'attempts', 0, 'sent', t)
  if deadline > 0 then redis.call('ZADD', DEADLINES, deadline, id) end
  redis.call('RPUSH', P .. 'in:' .. to, id)
  return deadline
end
-- Puts back what a receiver held (it died or ended): first in line again, unless finished or timed out.
local function requeue(consumer)
  local held = P .. 'held:' .. consumer
  local ids = redis.call('LRANGE', held, 0, -1)
  local n = 0
  for i = #ids, 1, -1 do
    local m = P .. 'm:' .. ids[i]
    local f = redis.call('HMGET', m, 'state', 'to')
    if f[1] == 'taken' or f[1] == 'queued' then
      redis.call('HSET', m, 'state', 'queued')
      redis.call('HDEL', m, 'holder')
      redis.call('LPUSH', P .. 'in:' .. f[2], ids[i])
      n = n + 1
    end
  end
  redis.call('DEL', held)
  redis.call('HDEL', P .. 'consumers', consumer)
  redis.call('HDEL', P .. 'leases', consumer)
  redis.call('HDEL', P .. 'leasems', consumer)
  redis.call('HDEL', P .. 'lasttake', consumer)
  return n
end
`;

// ARGV: prefix, id, from, to, kind, content, inReplyTo, timeout. Idempotent: a resent SEND is a no-op.
const SEND = `${COMMON}
local m = P .. 'm:' .. ARGV[2]
if redis.call('EXISTS', m) == 1 then
  return {tonumber(redis.call('HGET', m, 'sent')), tonumber(redis.call('HGET', m, 'deadline'))}
end
local t = now()
return {t, record(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), t)}
`;

// Claims the given id (just moved into the held list by BLMOVE) or takes the next one: first one left
// queued in the held list (a BLMOVE whose answer was lost to a reconnection), then the inbox. Drops ids
// that finished or timed out while queued. A call resent after a reconnection (same token) gets the same
// message again instead of a second one. Returns the record's fields, 'id', id, 'more', inbox length.
const TAKE_FUNCTION = `
local function take(consumer, channel, given, retain, token)
  local held = P .. 'held:' .. consumer
  local inbox = P .. 'in:' .. channel
  local last = P .. 'lasttake'
  local function out(id)
    local fields = redis.call('HGETALL', P .. 'm:' .. id)
    table.insert(fields, 'id')
    table.insert(fields, id)
    table.insert(fields, 'more')
    table.insert(fields, redis.call('LLEN', inbox))
    return fields
  end
  local previous = redis.call('HGET', last, consumer)
  if previous then
    local sep = string.find(previous, ' ', 1, true)
    local id = string.sub(previous, sep + 1)
    if string.sub(previous, 1, sep - 1) == token and redis.call('HMGET', P .. 'm:' .. id, 'state', 'holder')[2] == consumer then
      return out(id)
    end
  end
  local t = now()
  local id = given
  if id == '' then
    for _, candidate in ipairs(redis.call('LRANGE', held, 0, -1)) do
      if redis.call('HGET', P .. 'm:' .. candidate, 'state') == 'queued' then
        id = candidate
        break
      end
    end
  end
  for _ = 1, 1000 do
    if id == '' then
      id = redis.call('LMOVE', inbox, held, 'LEFT', 'RIGHT')
      if not id then return nil end
    end
    local m = P .. 'm:' .. id
    local f = redis.call('HMGET', m, 'state', 'deadline')
    if f[1] == 'queued' then
      local deadline = tonumber(f[2])
      if deadline > 0 and t >= deadline then
        expire(id, t, retain)
      else
        redis.call('HSET', m, 'state', 'taken', 'holder', consumer)
        redis.call('HINCRBY', m, 'attempts', 1)
        redis.call('HSET', last, consumer, token .. ' ' .. id)
        return out(id)
      end
    end
    redis.call('LREM', held, 1, id)
    if given ~= '' then return nil end
    id = ''
  end
  return nil
end
`;

// ARGV: prefix, channel, consumer, id or '', retain, token.
const TAKE = `${COMMON}${TAKE_FUNCTION}
return take(ARGV[3], ARGV[2], ARGV[4], tonumber(ARGV[5]), ARGV[6])
`;

// ARGV: prefix, consumer, id, mode ('reply' | 'close'), retain, replyId (a fresh token for close),
// response, replyTimeout, channel, take token ('' = take nothing).
// Returns {'ok', sent, deadline[, next message]}, {'late'}, or {'notheld', state}. With a take token, a
// finish also takes this receiver's next message (as TAKE would), saving the receiver a call. A finished
// message is kept a minute as 'done', so that the same call resent after a reconnection (same replyId,
// same take token) gets the same answer.
const FINISH = `${COMMON}${TAKE_FUNCTION}
local function finished(t, replyDeadline)
  local result = {'ok', t, replyDeadline}
  if ARGV[10] ~= '' then
    local nextMessage = take(ARGV[2], ARGV[9], '', tonumber(ARGV[5]), ARGV[10])
    if nextMessage then table.insert(result, nextMessage) end
  end
  return result
end
local held = P .. 'held:' .. ARGV[2]
local id = ARGV[3]
local m = P .. 'm:' .. id
local f = redis.call('HMGET', m, 'state', 'holder', 'deadline', 'from', 'to', 'finished', 'finishedBy')
if f[1] == 'timedout' then
  redis.call('LREM', held, 1, id)
  return {'late'}
end
if f[1] == 'done' and f[2] == ARGV[2] and f[7] == ARGV[6] then
  local sep = string.find(f[6], ' ', 1, true)
  return finished(tonumber(string.sub(f[6], 1, sep - 1)), tonumber(string.sub(f[6], sep + 1)))
end
if f[1] ~= 'taken' or f[2] ~= ARGV[2] then return {'notheld', f[1] or 'finished or unknown'} end
local t = now()
local deadline = tonumber(f[3])
redis.call('LREM', held, 1, id)
if deadline > 0 and t >= deadline then
  expire(id, t, tonumber(ARGV[5]))
  return {'late'}
end
redis.call('ZREM', DEADLINES, id)
local replyDeadline = 0
if ARGV[4] == 'reply' then
  replyDeadline = record(ARGV[6], f[5], f[4], 'reply', ARGV[7], id, tonumber(ARGV[8]), t)
end
redis.call('DEL', m)
redis.call('HSET', m, 'state', 'done', 'holder', ARGV[2], 'finished', t .. ' ' .. replyDeadline, 'finishedBy', ARGV[6])
redis.call('PEXPIRE', m, 60000)
return finished(t, replyDeadline)
`;

// ARGV: prefix, retain, batch, outage gap. Times out what is due and requeues what dead receivers held.
// A receiver is dead when its lease (renewed by its heartbeat) ran out. Time in which nobody could sweep
// (Redis was down, restarting or failing over: no sweep came for longer than the outage gap) is added
// to every lease first, so that a live receiver does not lose what it holds because Redis was away. With
// no record of the last sweep (lost in a failover, or never written), every lease starts again from now.
const SWEEP = `${COMMON}
local t = now()
local leases = P .. 'leases'
local last = tonumber(redis.call('GET', P .. 'swept'))
redis.call('SET', P .. 'swept', t)
if not last or t - last > tonumber(ARGV[4]) then
  local all = redis.call('HGETALL', leases)
  for i = 1, #all, 2 do
    local lease = tonumber(all[i + 1])
    if last then
      lease = lease + (t - last)
    else
      lease = math.max(lease, t + (tonumber(redis.call('HGET', P .. 'leasems', all[i])) or 0))
    end
    redis.call('HSET', leases, all[i], lease)
  end
end
local expired = 0
local due = redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', t, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do expired = expired + expire(id, t, tonumber(ARGV[2])) end
local requeued = 0
local consumers = redis.call('HKEYS', P .. 'consumers')
for _, consumer in ipairs(consumers) do
  local lease = tonumber(redis.call('HGET', leases, consumer))
  if not lease or lease < t then requeued = requeued + requeue(consumer) end
end
return {expired, requeued}
`;

// ARGV: prefix, consumer, channel, lease. A receiver's heartbeat: its lease runs until now + lease.
const BEAT = `${COMMON}
redis.call('HSET', P .. 'leases', ARGV[2], now() + tonumber(ARGV[4]))
redis.call('HSET', P .. 'leasems', ARGV[2], ARGV[4])
redis.call('HSET', P .. 'consumers', ARGV[2], ARGV[3])
return 1
`;

// ARGV: prefix, consumer. A receiver that ends gives back what it held.
const RELEASE = `${COMMON}
return requeue(ARGV[2])
`;

/** The scripts, by the command name they are defined under on a client. */
export const DURABLE_SCRIPTS = Object.freeze({
  berrymqDurableSend: { lua: SEND, keys: 1 },
  berrymqDurableTake: { lua: TAKE, keys: 1 },
  berrymqDurableFinish: { lua: FINISH, keys: 1 },
  berrymqDurableSweep: { lua: SWEEP, keys: 1 },
  berrymqDurableRelease: { lua: RELEASE, keys: 1 },
  berrymqDurableBeat: { lua: BEAT, keys: 1 },
});
