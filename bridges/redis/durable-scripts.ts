// The durable channel's bookkeeping, each step one Lua script so that it is atomic in Redis and timed by
// Redis's clock (TIME), never a host's. Keys are built from the prefix (ARGV[1]); bridges/redis/README.md lists them.
// KEYS[1] is always the deadlines sorted set, declared so that a Cluster routes the script to its slot.

const COMMON = `
local P = ARGV[1]
local DEADLINES = KEYS[1]
-- A Cluster resharding the prefix's slot (MIGRATING here, or IMPORTING and asked with ASKING) holds some of
-- its keys on each node, and a script that meets a moved key fails there, its earlier writes kept (a take
-- that moved an id into a held list, a finish that dropped a deadline, then failed: the message was lost).
-- Two keys never written are missing on either side then, which makes this read fail before any write:
-- answered TRYAGAIN, which ioredis retries until the slot has moved. Any other refusal (an ACL...) as it is.
local gate, refused = pcall(redis.call, 'EXISTS', P .. 'unwritten:1', P .. 'unwritten:2')
if not gate then
  local text = type(refused) == 'table' and tostring(refused.err) or tostring(refused)
  if not string.find(text, 'non local key', 1, true) then error(refused) end
  return redis.error_reply('TRYAGAIN berrymq: the slot of prefix ' .. P .. ' is being migrated')
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- How many finished records are kept past a minute: the largest finishedRecords of the channels of the
-- prefix alive now, so that a channel asking fewer does not drop another's (a resend of the other would then
-- get NotHeldError), and a channel that asked more stops counting once it ended or died. Each channel's
-- bound is in P keepby (consumer -> its finishedRecords), written by its heartbeat (BEAT) and removed with
-- its lease when it ends or the sweep finds it dead (requeue): the largest member whose lease is still
-- recorded counts (one left by a client that removed the lease without it is dropped here). P keepfinished
-- is the bound channels before r24 kept (the largest ever asked): it counts while it is there, and the sweep
-- deletes it once no channel of that version is alive. Another type under a name (written by another
-- client): that key counts for nothing, this call's own bound always does.
local function keptFinished(n)
  local bound = n
  local legacy = P .. 'keepfinished'
  if redis.call('TYPE', legacy).ok == 'string' then bound = math.max(bound, tonumber(redis.call('GET', legacy)) or 0) end
  local keepby = P .. 'keepby'
  if redis.call('TYPE', keepby).ok ~= 'zset' then return bound end
  for _ = 1, 10 do
    local top = redis.call('ZREVRANGE', keepby, 0, 0, 'WITHSCORES')
    if not top[1] then break end
    if redis.call('HEXISTS', P .. 'leases', top[1]) == 1 then
      return math.max(bound, tonumber(top[2]) or 0)
    end
    redis.call('ZREM', keepby, top[1])
  end
  return bound
end
-- Drops up to most finished records (P finished, a sorted set) of those past the prefix's bound and
-- finished before the time given: the oldest first, each record only if it is still a done one.
local function trimFinished(asked, before, most)
  local FINISHED = P .. 'finished'
  local over = redis.call('ZCARD', FINISHED) - keptFinished(asked)
  if over <= 0 then return end
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', FINISHED, '-inf', before, 'LIMIT', 0, math.min(over, most))) do
    redis.call('ZREM', FINISHED, old)
    local om = P .. 'm:' .. old
    -- Another type under the record (written by another client) is another's key, left as it is: its HGET
    -- failed the finish that trimmed it after that finish's writes (before the r30 review).
    if redis.call('TYPE', om).ok == 'hash' and redis.call('HGET', om, 'state') == 'done' then redis.call('DEL', om) end
  end
end
-- Whether a write of that type can go to key: another type under it (written by another client) fails the
-- write, and a script's writes before an error stay. So a script checks where it will write before its
-- first write (before r27, a finish had dropped the message's deadline and held entry when its reply's RPUSH
-- failed: the message was lost).
local function writable(key, kind)
  local found = redis.call('TYPE', key).ok
  return found == kind or found == 'none', found
end
-- The deadlines of every message: another type under the name (written by another client) fails their ZADD
-- or ZREM, after the writes before it (before r30 a send with a timeout recorded its message, then failed,
-- and the same send resent found the record and answered as sent: the message was in no inbox; a reply took
-- its message out of the held list, then failed: nothing gave it back). The scripts that write it refuse
-- first, nothing written; the sweep then times nothing out but still requeues.
local function deadlinesRefused()
  local ok, found = writable(DEADLINES, 'zset')
  if ok then return nil end
  return redis.error_reply('WRONGTYPE berrymq: ' .. DEADLINES .. ' holds a ' .. found .. ', not a sorted set of deadlines')
end
-- Times a message out: exactly once, because only the call that removes it from DEADLINES goes on. A
-- notice its sender's inbox cannot take (another type there) waits, the message still due, until it can.
local function expire(id, t, retain)
  local m = P .. 'm:' .. id
  -- Another type under the record (written by another client): no message to time out, its deadline goes
  -- (an HGET there failed every sweep of the prefix, for ever, when it came before the ZREM).
  if redis.call('TYPE', m).ok ~= 'hash' then
    redis.call('ZREM', DEADLINES, id)
    return 0
  end
  local from = redis.call('HGET', m, 'from')
  if from and not writable(P .. 'in:' .. from, 'list') then return 0 end
  -- Anything under the notice's name (another type, written by another client) failed its HSET below,
  -- after the ZREM: the notice was lost (before the r30 review). It goes under a name of this time then.
  local nid = id .. '/timeout'
  if redis.call('EXISTS', P .. 'm:' .. nid) == 1 then nid = nid .. '/' .. t end
  if redis.call('EXISTS', P .. 'm:' .. nid) == 1 then return 0 end
  if redis.call('ZREM', DEADLINES, id) == 0 then return 0 end
  local f = redis.call('HMGET', m, 'from', 'to', 'content')
  if not f[1] then return 0 end
  redis.call('HSET', m, 'state', 'timedout')
  redis.call('PEXPIRE', m, retain)
  redis.call('HSET', P .. 'm:' .. nid, 'from', f[2], 'to', f[1], 'kind', 'timeout', 'content', f[3],
    'inReplyTo', id, 'deadline', 0, 'state', 'queued', 'attempts', 0, 'sent', t)
  redis.call('RPUSH', P .. 'in:' .. f[1], nid)
  return 1
end
-- A record's fields (HMGET), or none and true when another type is under its name (written by another
-- client): the HMGET failed the whole call there, after its earlier writes. Before r30 such a record in an
-- inbox failed the take that moved its id into a held list, then every requeue of that list (end(), and
-- every sweep of the prefix once the receiver's lease ran out, for ever: nothing else it held came back,
-- no message of the prefix timed out).
local function readRecord(m, ...)
  local kind = redis.call('TYPE', m).ok
  if kind ~= 'hash' and kind ~= 'none' then return {}, true end
  return redis.call('HMGET', m, ...), false
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
-- A write of this call's own, for a call that found its work done already (resent after a lost answer):
-- a WAIT behind it then counts replicas that have everything up to now, that work included.
local function mark(t)
  redis.call('SET', P .. 'written', t)
end
-- Puts back what a receiver held (it died or ended): first in line again, unless finished or timed out.
-- One whose channel's inbox is another type (written by another client) stays held, and so does the
-- receiver's entry, for the next sweep to try again (an LPUSH failing there failed every sweep of the
-- prefix, timeouts included, and the held list lost what it had put back already).
local function requeue(consumer, watch)
  local held = P .. 'held:' .. consumer
  -- Another type under the name (written by another client) holds nothing: LRANGE would fail every sweep.
  local ids = {}
  if redis.call('TYPE', held).ok == 'list' then ids = redis.call('LRANGE', held, 0, -1) end
  local n = 0
  local stuck = false
  for i = #ids, 1, -1 do
    local m = P .. 'm:' .. ids[i]
    local f = readRecord(m, 'state', 'to')
    -- A record without a channel, or of another type (written by another client), has nowhere to go: the
    -- held list drops it.
    if (f[1] == 'taken' or f[1] == 'queued') and f[2] then
      if writable(P .. 'in:' .. f[2], 'list') then
        redis.call('HSET', m, 'state', 'queued')
        redis.call('HDEL', m, 'holder')
        redis.call('LPUSH', P .. 'in:' .. f[2], ids[i])
        redis.call('LREM', held, 1, ids[i])
        n = n + 1
      else
        stuck = true
      end
    end
  end
  if stuck then return n end
  redis.call('DEL', held)
  -- Found dead by the sweep (watch): watched for a while (see SWEEP), as a receiver stopped rather than dead
  -- keeps its connection, and its BLMOVE, still blocked, moves the next message into the held list just
  -- deleted. (One that ended unblocked its BLMOVE before it gave back what it held.)
  local gone = P .. 'gone'
  local gk = redis.call('TYPE', gone).ok
  if watch and (gk == 'zset' or gk == 'none') then redis.call('ZADD', gone, now(), consumer) end
  redis.call('HDEL', P .. 'consumers', consumer)
  redis.call('HDEL', P .. 'leases', consumer)
  redis.call('HDEL', P .. 'leasems', consumer)
  redis.call('HDEL', P .. 'lasttake', consumer)
  if redis.call('TYPE', P .. 'keepby').ok == 'zset' then redis.call('ZREM', P .. 'keepby', consumer) end
  return n
end
`;

// Sends the message of the 7 ARGV from i (id, from, to, kind, content, inReplyTo, timeout), appending its
// sent and deadline to result. Idempotent: a resent send finds the record and answers as the first did.
const SEND_FUNCTION = `
local function send(i, t, result)
  local m = P .. 'm:' .. ARGV[i]
  local f, foreign = readRecord(m, 'sent', 'deadline', 'from', 'to')
  if foreign then
    -- Another type under the record (written by another client): the id is another thing's, -1 as below.
    -- (Before r30 the HMGET failed the whole batch, the sends recorded before it in the batch included.)
    table.insert(result, -1)
    table.insert(result, 0)
  elseif f[1] and ((f[3] and f[3] ~= ARGV[i + 1]) or (f[4] and f[4] ~= ARGV[i + 2])) then
    -- Another message has the id (from or to another channel): answered -1, refused, nothing recorded.
    -- (Answered as a resend, it was taken as sent and went nowhere.)
    table.insert(result, -1)
    table.insert(result, 0)
  elseif f[1] then
    mark(t)
    -- A nil would leave a hole: the batch's later messages would read their neighbours' answers.
    table.insert(result, tonumber(f[1]) or 0)
    table.insert(result, tonumber(f[2]) or 0)
  elseif not writable(P .. 'in:' .. ARGV[i + 2], 'list') then
    -- The channel's inbox is another type (written by another client): -2, refused, nothing recorded.
    table.insert(result, -2)
    table.insert(result, 0)
  else
    table.insert(result, t)
    table.insert(result, record(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6]), t))
  end
end
`;

// ARGV: prefix, then 7 per message: id, from, to, kind, content, inReplyTo, timeout. Returns sent,
// deadline for each (-1, 0: another message, from or to another channel, has the id; -2, 0: the channel's
// inbox is another type than a list).
const SEND = `${COMMON}${SEND_FUNCTION}
local wrong = deadlinesRefused()
if wrong then return wrong end
local t = now()
local result = {}
for i = 2, #ARGV, 7 do send(i, t, result) end
return result
`;

// Takes up to 'want' messages for a receiver: the given id first (just moved into its held list by
// BLMOVE), with 'scan' the ids left queued in the held list (a BLMOVE whose answer was lost to a
// reconnection), then the inbox. Drops ids that finished or timed out while queued. A call resent after
// a reconnection (same token as one of its last few takes) gets the same messages again, not new ones. Each message is
// {id, kind, from, to, content, inReplyTo, sent, deadline, attempts} (durable-message.ts reads it).
const TAKE_FUNCTION = `
-- More than can be on their way at once for one receiver (1 pump take + 2 finishes).
local RECENT_TAKES = 4
local function take(consumer, channel, given, retain, token, want, scan, t)
  local held = P .. 'held:' .. consumer
  local inbox = P .. 'in:' .. channel
  local last = P .. 'lasttake'
  local taken = {}
  -- The record of the last takes is a JSON list of {token, ids taken}, oldest first: several takes can be
  -- on their way at once (the pump's and two finishes'), and a lost connection loses all their answers.
  local ok, recent = pcall(cjson.decode, redis.call('HGET', last, consumer) or '[]')
  if not ok or type(recent) ~= 'table' then recent = {} end
  for _, entry in ipairs(recent) do
    if type(entry) == 'table' and entry[1] == token and type(entry[2]) == 'table' then
      local ids = entry[2]
      for i = 1, #ids do
        local f = readRecord(P .. 'm:' .. ids[i], 'state', 'holder', 'from', 'to', 'kind', 'content', 'inReplyTo', 'sent', 'deadline', 'attempts')
        if f[1] == 'taken' and f[2] == consumer then
          table.insert(taken, {ids[i], f[5], f[3], f[4], f[6], f[7] or '', f[8], f[9], f[10]})
        end
      end
      mark(t)
      return taken
    end
  end
  local candidates = {}
  if given ~= '' then table.insert(candidates, given) end
  if scan then
    for _, id in ipairs(redis.call('LRANGE', held, 0, -1)) do
      if id ~= given then table.insert(candidates, id) end
    end
  end
  local ids = {}
  local pos = 1
  local givenCount = 0
  if given ~= '' then givenCount = 1 end
  for _ = 1, 1000 do
    if #taken >= want then break end
    local id = candidates[pos]
    local scanned = pos > givenCount
    if id then
      pos = pos + 1
    else
      id = redis.call('LMOVE', inbox, held, 'LEFT', 'RIGHT')
      if not id then break end
      scanned = false
    end
    local m = P .. 'm:' .. id
    local f, foreign = readRecord(m, 'state', 'holder', 'from', 'to', 'kind', 'content', 'inReplyTo', 'sent', 'deadline', 'attempts')
    if f[1] == 'queued' and id == given and not redis.call('LPOS', held, id, 'RANK', -1) then
      -- The BLMOVE that gave this id was taken back by a failover (the promoted replica never had it) and
      -- the take was resent: the id is in the inbox again. Moved as BLMOVE would have, or a take from the
      -- inbox would drop it as another's, and a death of this receiver would requeue nothing.
      redis.call('LREM', inbox, 1, id)
      redis.call('RPUSH', held, id)
    end
    if foreign then
      -- Another type under the record: no message, its id leaves the held list, answered as the lone id.
      redis.call('LREM', held, 1, id)
      table.insert(taken, {id})
    elseif f[1] == 'queued' and not (f[3] and f[4] and f[5] and f[6]) then
      -- Not a message (a record another client wrote): never given out nor requeued, and answered as the
      -- lone id, which the receiver reports as an invalid record.
      redis.call('HSET', m, 'state', 'invalid')
      redis.call('LREM', held, 1, id)
      table.insert(taken, {id})
    elseif f[1] == 'queued' then
      -- A deadline that is not a number (written by another client) is no deadline: a Lua error here
      -- would fail the whole take, leaving what it took before held and given to nobody.
      local deadline = tonumber(f[9]) or 0
      if deadline > 0 and t >= deadline then
        expire(id, t, retain)
        redis.call('LREM', held, 1, id)
      else
        local attempts = (tonumber(f[10]) or 0) + 1
        redis.call('HSET', m, 'state', 'taken', 'holder', consumer, 'attempts', attempts)
        table.insert(taken, {id, f[5], f[3], f[4], f[6], f[7] or '', f[8], f[9], attempts})
        table.insert(ids, id)
      end
    elseif not scanned and not (f[1] == 'taken' and f[2] == consumer) then
      -- Finished or timed out while queued (a held message this receiver has is left where it is).
      redis.call('LREM', held, 1, id)
    end
  end
  if #ids > 0 then
    table.insert(recent, {token, ids})
    while #recent > RECENT_TAKES do table.remove(recent, 1) end
    redis.call('HSET', last, consumer, cjson.encode(recent))
  end
  return taken
end
`;

// ARGV: prefix, channel, consumer, id or '', retain, token, how many, scan ('1': look in the held list).
// Returns {messages, inbox length}.
const TAKE = `${COMMON}${TAKE_FUNCTION}
local wrong = deadlinesRefused()
if wrong then return wrong end
local taken = take(ARGV[3], ARGV[2], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1', now())
return {taken, redis.call('LLEN', P .. 'in:' .. ARGV[2])}
`;

// ARGV: prefix, consumer, retain (or 'retain:n': keep the newest n finished records beyond a minute;
// default 10,000), channel, take token ('' = take nothing), how many to take, scan ('1': the take looks
// in the held list too, as TAKE's), then 5 per message: id, mode ('reply' | 'close'), replyId (a fresh
// token for close), response, replyTimeout.
// Returns {outcomes, messages taken, inbox length (-1 without a take)}, an outcome being {'ok', sent,
// deadline}, {'late'}, {'notheld', state} or {'refused', why} (nothing written: the sender's inbox is
// another type). With a take token, the call also takes this receiver's next messages (as TAKE would),
// saving it a call. A finished message is kept as 'done' for at least a minute
// and at most retain (as a timed-out one), so that the same call resent after a reconnection (same
// replyId, same take token), or a send() retried with the message's id, gets the same answer. Beyond a
// minute, only the newest n are kept (the sorted set P finished lists them by finish time).
const FINISH_FUNCTION = `
local consumer = ARGV[2]
local retain, keepFinished = string.match(ARGV[3], '^(%d+):(%d+)$')
if retain then
  retain, keepFinished = tonumber(retain), tonumber(keepFinished)
else
  retain, keepFinished = tonumber(ARGV[3]), 10000
end
local held = P .. 'held:' .. consumer
local t = now()
local FINISHED = P .. 'finished'
local MINUTE = 60000
-- Keeps a finished record: PEXPIRE bounds its age, P finished the number of those older than a minute
-- (two trimmed per finish, so that a set over a lowered bound shrinks back).
local function keep(id, m)
  local kind = redis.call('TYPE', FINISHED).ok
  -- Another type under the name (written by another client): the record lives a minute, as it used to.
  if kind ~= 'zset' and kind ~= 'none' then
    redis.call('PEXPIRE', m, MINUTE)
    return
  end
  local life = math.max(MINUTE, retain)
  redis.call('PEXPIRE', m, life)
  redis.call('ZADD', FINISHED, t, id)
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', FINISHED, '-inf', t - life, 'LIMIT', 0, 2)) do
    redis.call('ZREM', FINISHED, old)
  end
  trimFinished(keepFinished, t - MINUTE, 2)
end
local function finish(id, mode, replyId, response, replyTimeout)
  local m = P .. 'm:' .. id
  local f, foreign = readRecord(m, 'state', 'holder', 'deadline', 'from', 'to', 'finished', 'finishedBy', 'sent')
  -- Another type under the record: no message this receiver holds (the requeue drops its id).
  if foreign then return {'notheld', 'not a message (another type under its record)'} end
  if f[1] == 'timedout' then
    redis.call('LREM', held, 1, id)
    return {'late'}
  end
  if f[1] == 'done' and f[2] == consumer and f[7] == replyId then
    mark(t)
    local sep = string.find(f[6], ' ', 1, true)
    return {'ok', tonumber(string.sub(f[6], 1, sep - 1)), tonumber(string.sub(f[6], sep + 1))}
  end
  -- Queued in this receiver's held list, yet the receiver has it: a take of its own whose writes a
  -- failover lost (asynchronous replication), the move into the held list having reached the replica.
  if f[1] == 'queued' and redis.call('LPOS', held, id) then f[1], f[2] = 'taken', consumer end
  if f[1] ~= 'taken' or f[2] ~= consumer then return {'notheld', f[1] or 'finished or unknown'} end
  local deadline = tonumber(f[3]) or 0
  -- A reply, or a timeout notice, goes to the sender's inbox: refused, nothing written, when it cannot.
  if mode == 'reply' or (deadline > 0 and t >= deadline) then
    local inbox = P .. 'in:' .. (f[4] or '')
    local ok, found = writable(inbox, 'list')
    if not ok then return {'refused', 'WRONGTYPE ' .. inbox .. ' holds a ' .. found .. ', not a list'} end
  end
  redis.call('LREM', held, 1, id)
  if deadline > 0 and t >= deadline then
    expire(id, t, retain)
    return {'late'}
  end
  if deadline > 0 then redis.call('ZREM', DEADLINES, id) end
  local replyDeadline = 0
  if mode == 'reply' then
    replyDeadline = record(replyId, f[5], f[4], 'reply', response, id, replyTimeout, t)
  end
  redis.call('DEL', m)
  -- 'sent' and 'deadline' stay, so that a resent SEND of this id finds it and answers as the first did ('from'
  -- and 'to', so that a send of another message under the id is refused).
  redis.call('HSET', m, 'state', 'done', 'holder', consumer, 'finished', t .. ' ' .. replyDeadline, 'finishedBy', replyId,
    'sent', f[8], 'deadline', f[3])
  if f[4] and f[5] then redis.call('HSET', m, 'from', f[4], 'to', f[5]) end
  keep(id, m)
  return {'ok', t, replyDeadline}
end
`;

const FINISH = `${COMMON}${TAKE_FUNCTION}${FINISH_FUNCTION}
local wrong = deadlinesRefused()
if wrong then return wrong end
local outcomes = {}
for i = 8, #ARGV, 5 do
  table.insert(outcomes, finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])))
end
if ARGV[5] == '' then return {outcomes, {}, -1} end
local taken = take(consumer, ARGV[4], '', retain, ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1', t)
return {outcomes, taken, redis.call('LLEN', P .. 'in:' .. ARGV[4])}
`;

// A SEND and a FINISH of one channel in one call (they were made in the same tick: one round trip and
// one script run instead of two). ARGV: FINISH's first 7, the number of finished messages, 'f' when the
// finishes run first ('s': the sends), the finished messages' 5 each, then SEND's 7 per message. The
// kind whose first call was made first runs first, as if its call had gone first (a reply, then a send
// to the same channel, arrive in that order). Returns FINISH's answer with SEND's appended: {outcomes,
// messages taken, inbox length, sent and deadlines}.
const SEND_FINISH = `${COMMON}${TAKE_FUNCTION}${SEND_FUNCTION}${FINISH_FUNCTION}
local wrong = deadlinesRefused()
if wrong then return wrong end
local sends = 10 + 5 * tonumber(ARGV[8])
local sent = {}
local outcomes = {}
local function finishes()
  for i = 10, sends - 1, 5 do
    table.insert(outcomes, finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])))
  end
end
if ARGV[9] == 'f' then finishes() end
for i = sends, #ARGV, 7 do send(i, t, sent) end
if ARGV[9] ~= 'f' then finishes() end
if ARGV[5] == '' then return {outcomes, {}, -1, sent} end
local taken = take(consumer, ARGV[4], '', retain, ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1', t)
return {outcomes, taken, redis.call('LLEN', P .. 'in:' .. ARGV[4]), sent}
`;

// ARGV: prefix, retain, batch, outage gap, optional hold (ms), optional finishedRecords. Times out what is due (up to 10 batches)
// and requeues what dead receivers held. With a hold, the first sweep of the prefix sets P sweeping for
// that long and the other channels' sweeps meanwhile return at once: every open channel sweeps, and each
// sweep reads every receiver's lease, so without it n channels cost n * n reads every interval (200 idle
// channels: 411,000 commands a second measured, 75% of a core; with it 10,300, 7%).
// A receiver is dead when its lease (renewed by its heartbeat) ran out. Time in which nobody could sweep
// (Redis was down, restarting or failing over: no sweep came for longer than the outage gap) is added
// to every lease first, so that a live receiver does not lose what it holds because Redis was away. With
// no record of the last sweep (lost in a failover, or never written), every lease starts again from now.
const SWEEP = `${COMMON}
if ARGV[5] then
  local hold = tonumber(ARGV[5])
  local lock = P .. 'sweeping'
  local ttl = redis.call('PTTL', lock)
  -- Held by another sweep: only a string this script could have set (a TTL within the hold) counts, so a
  -- key another client wrote without a TTL, or with a longer one, cannot stop the sweeps.
  if ttl > 0 and ttl <= hold and redis.call('TYPE', lock).ok == 'string' then return {0, 0} end
  local kind = redis.call('TYPE', lock).ok
  if kind == 'string' or kind == 'none' then redis.call('SET', lock, '1', 'PX', hold) end
end
local t = now()
local leases = P .. 'leases'
local last = tonumber(redis.call('GET', P .. 'swept'))
redis.call('SET', P .. 'swept', t)
if not last or t - last > tonumber(ARGV[4]) then
  local all = redis.call('HGETALL', leases)
  for i = 1, #all, 2 do
    -- A lease that is not a number (written by another client) is left as it is: below, it counts as run
    -- out. Adding to it would fail every sweep of the prefix, for ever.
    local lease = tonumber(all[i + 1])
    if lease then
      if last then
        lease = lease + (t - last)
      else
        lease = math.max(lease, t + (tonumber(redis.call('HGET', P .. 'leasems', all[i])) or 0))
      end
      redis.call('HSET', leases, all[i], lease)
    end
  end
end
local expired = 0
local batch = tonumber(ARGV[3])
-- Those expire leaves due (their notice waits for their sender's inbox) stay first in line: the next page
-- starts past them (before, a batch of them due made every page the same, and no other message timed out).
local waiting = 0
-- Another type under the deadlines (see deadlinesRefused): nothing to time out, the requeues still run.
for _ = 1, writable(DEADLINES, 'zset') and 10 or 0 do
  local due = redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', t, 'LIMIT', waiting, batch)
  for _, id in ipairs(due) do
    local n = expire(id, t, tonumber(ARGV[2]))
    expired = expired + n
    if n == 0 and redis.call('ZSCORE', DEADLINES, id) then waiting = waiting + 1 end
  end
  if #due < batch then break end
end
local requeued = 0
local consumers = redis.call('HKEYS', P .. 'consumers')
-- Whether a receiver alive has no bound in P keepby: a channel before r24, which counts on P keepfinished.
local keepby = P .. 'keepby'
local bounds = redis.call('TYPE', keepby).ok == 'zset'
local older = false
for _, consumer in ipairs(consumers) do
  local lease = tonumber(redis.call('HGET', leases, consumer))
  if not lease or lease < t then requeued = requeued + requeue(consumer, true)
  elseif not bounds or not redis.call('ZSCORE', keepby, consumer) then older = true end
end
-- Receivers forgotten lately (requeued above): one whose process stopped (SIGSTOP, a frozen VM,
-- an event loop held by a handler) past its lease keeps its connection, so its BLMOVE, blocked for up to
-- a second more, moved the next message into a held list nobody looked at again: lost once the process was
-- killed (before r30). What comes into such a list within GONE_WATCH goes back; a receiver that came back
-- to life (a lease again) is watched by its own entry again.
local GONE_WATCH = 60000
local gone = P .. 'gone'
if redis.call('TYPE', gone).ok == 'zset' then
  redis.call('ZREMRANGEBYSCORE', gone, '-inf', t - GONE_WATCH)
  for _, c in ipairs(redis.call('ZRANDMEMBER', gone, 100)) do
    if redis.call('HEXISTS', leases, c) == 1 then redis.call('ZREM', gone, c)
    elseif redis.call('EXISTS', P .. 'held:' .. c) == 1 then
      requeued = requeued + requeue(c, true)
      -- Stuck (its channel's inbox is another type): watched until it can go.
      if redis.call('EXISTS', P .. 'held:' .. c) == 1 then redis.call('ZADD', gone, t, c) end
    end
  end
end
-- Members of P keepby whose lease is gone (a channel before r24 requeued their channel: it leaves them)
-- are dropped here, 100 picked at random a sweep while there are more members than leases (keptFinished
-- drops only the top one).
if bounds and redis.call('ZCARD', keepby) > redis.call('HLEN', leases) then
  for _, c in ipairs(redis.call('ZRANDMEMBER', keepby, 100)) do
    if redis.call('HEXISTS', leases, c) == 0 then redis.call('ZREM', keepby, c) end
  end
end
-- The largest bound ever asked by a channel before r24: it goes once none of them is alive (one that is
-- writes it again), so that the bound follows the channels alive now.
if not older and redis.call('TYPE', P .. 'keepfinished').ok == 'string' then redis.call('DEL', P .. 'keepfinished') end
-- ARGV[6]: finishedRecords. Finished records older than a minute beyond the newest n go, up to 1,000 a
-- sweep: FINISH trims two a call, so after a burst of finishes (then quiet) they all lived the whole retain.
if ARGV[6] and redis.call('TYPE', P .. 'finished').ok == 'zset' then trimFinished(tonumber(ARGV[6]), t - 60000, 1000) end
return {expired, requeued}
`;

// ARGV: prefix, consumer, channel, lease, optional mark, optional finishedRecords. A receiver's heartbeat:
// its lease runs until now + lease, and its finishedRecords is its bound in P keepby (keptFinished), for as
// long as it has a lease. With a mark, returns the prefix's mark (P instance), set to the given one when
// there is none: a mark that changed means the prefix's keys were lost meanwhile (Redis restarted empty,
// or flushed). '' when another type is under the name (written by another client): no check.
const BEAT = `${COMMON}
redis.call('HSET', P .. 'leases', ARGV[2], now() + tonumber(ARGV[4]))
redis.call('HSET', P .. 'leasems', ARGV[2], ARGV[4])
redis.call('HSET', P .. 'consumers', ARGV[2], ARGV[3])
if ARGV[6] then
  local kind = redis.call('TYPE', P .. 'keepby').ok
  if kind == 'zset' or kind == 'none' then redis.call('ZADD', P .. 'keepby', tonumber(ARGV[6]), ARGV[2]) end
  -- Raised as channels before r24 did: they read only P keepfinished, and trimmed this channel's records
  -- to their own bound. The sweep deletes it once no such channel is alive; the beats then write it again
  -- from the channels alive, so it follows them within a sweep.
  local legacy = P .. 'keepfinished'
  local lk = redis.call('TYPE', legacy).ok
  if lk == 'none' or (lk == 'string' and (tonumber(redis.call('GET', legacy)) or 0) < tonumber(ARGV[6])) then
    redis.call('SET', legacy, ARGV[6])
  end
end
if not ARGV[5] then return 1 end
local instance = P .. 'instance'
local kind = redis.call('TYPE', instance).ok
if kind == 'none' then
  redis.call('SET', instance, ARGV[5])
  return ARGV[5]
end
if kind == 'string' then return redis.call('GET', instance) end
return ''
`;

// ARGV: prefix, consumer, id. A record this receiver took and cannot read (content that is not JSON, an
// unknown kind: written by another client) is marked invalid, as TAKE marks a record without fields: out
// of the held list and the deadlines (no timeout notice carries it on), never given out again. Returns 1,
// or 0 when it was finished or timed out meanwhile.
const INVALID = `${COMMON}
local wrong = deadlinesRefused()
if wrong then return wrong end
local m = P .. 'm:' .. ARGV[3]
redis.call('LREM', P .. 'held:' .. ARGV[2], 1, ARGV[3])
local state = redis.call('HGET', m, 'state')
if state ~= 'taken' and state ~= 'queued' then return 0 end
redis.call('HSET', m, 'state', 'invalid')
redis.call('HDEL', m, 'holder')
redis.call('ZREM', DEADLINES, ARGV[3])
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
  berrymqDurableSendFinish: { lua: SEND_FINISH, keys: 1 },
  berrymqDurableSweep: { lua: SWEEP, keys: 1 },
  berrymqDurableRelease: { lua: RELEASE, keys: 1 },
  berrymqDurableBeat: { lua: BEAT, keys: 1 },
  berrymqDurableInvalid: { lua: INVALID, keys: 1 },
});
