#!lua
--[[
  Adds jobs: to the wait zset of their lane (their type at their contract
  version, see lane() in includes/base.lua), or to `delayed` when they have
  a delay. Lanes above version 1 are recorded in <base>lanes, once per lane
  and call.
  A job whose id already exists is left untouched: a custom id's duplicate,
  or (for an id the producer generated) its own earlier, re-sent call.
  Index writes, counters and wake-up markers are gathered and written once
  per type or lane, so a batch costs about one HSET and one XADD per job.

  Input:
    KEYS[1] seq counter      KEYS[2] delayed zset    KEYS[3] counts hash
    KEYS[4] events stream    KEYS[5] types set
    ARGV[1] key base `<prefix>:{<queue>}:`   ARGV[2] max events
    ARGV[3] number of settings sets S, then 4 fields per set (shared by the
      jobs that name it): options JSON, expire-after ms (0 = never),
      contract version, contract fingerprint
    then the number of jobs, then 6 fields per job: id (never empty: the
      producer generates one), type name, data JSON, priority, delay, set (1..S);
      the delay is ms from now, or `@<epoch ms>` for a `runAt`: due times
      are Redis time, so an absolute time is turned into a delay here, not
      on a producer whose clock may be skewed
  Output: per job, two entries: id and status
     1 created, 0 duplicate (existing id returned)
  Events: waiting | delayed
]]
-- @include base
-- @include tally
local base, maxEvents = ARGV[1], ARGV[2]
local now = nowMs()
local out = {}
local sets = {}
for i = 0, tonumber(ARGV[3]) - 1 do
  local a = 4 + i * 4
  sets[i + 1] = { ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3] }
end
local first = 5 + #sets * 4
local n = tonumber(ARGV[first - 1])
-- One INCRBY reserves the sequence numbers of the whole batch; numbers of
-- duplicates go unused, which only leaves gaps.
local seq = redis.call('INCRBY', KEYS[1], n) - n
local waiting, touched, lanes = {}, {}, {}
for i = 0, n - 1 do
  local a = first + i * 6
  local id, name, data, prio, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  if string.sub(delay, 1, 1) == '@' then
    delay = tonumber(string.sub(delay, 2)) - now
  else
    delay = tonumber(delay)
  end
  local set = sets[tonumber(ARGV[a + 5])]
  local opts, expireAfter, version, fingerprint = set[1], set[2], set[3], set[4]
  local status = 1
  if redis.call('EXISTS', base .. 'j:' .. id) == 1 then
    status = 0
  end
  seq = seq + 1
  if status == 1 then
    local jk = base .. 'j:' .. id
    local state = delay > 0 and 'd' or 'w'
    if expireAfter > 0 then
      redis.call('HSET', jk, F.name, name, F.priority, prio, F.sequence, seq, F.options, opts,
        F.createdAt, now, F.version, version, F.fingerprint, fingerprint, F.state, state,
        F.expireAfterMs, expireAfter)
      if delay <= 0 then redis.call('HSET', jk, F.expiresAt, now + expireAfter) end
    else
      redis.call('HSET', jk, F.name, name, F.priority, prio, F.sequence, seq, F.options, opts,
        F.createdAt, now, F.version, version, F.fingerprint, fingerprint, F.state, state)
    end
    redis.call('SET', base .. 'p:' .. id, data)
    touched[name] = true
    local l = lane(name, version)
    lanes[l] = name
    if delay > 0 then
      redis.call('ZADD', KEYS[2], now + delay, id)
      tallyMove(name, '', 'd')
      emitUntrimmed(KEYS[4], 'delayed', id, name, 'due', now + delay)
    else
      local w = waiting[l]
      if not w then w = {}; waiting[l] = w end
      w[#w + 1] = waitScore(prio, seq)
      w[#w + 1] = id
      emitUntrimmed(KEYS[4], 'waiting', id, name)
    end
  end
  out[#out + 1] = id
  out[#out + 1] = status
end
for l, w in pairs(waiting) do
  callSliced('ZADD', base .. 'w:' .. l, w)
  tallyAdd(lanes[l], 'w', #w / 2)
end
for name in pairs(touched) do redis.call('SADD', KEYS[5], name) end
for l, name in pairs(lanes) do
  if l ~= name then redis.call('SADD', base .. 'lanes', l) end
  -- Wakes one blocked worker of the lane, which re-marks if more remain; a
  -- delayed job wakes one too, so it re-reads the next due time.
  redis.call('ZADD', base .. 'm:' .. l, 0, '0')
end
flushTally(KEYS[3])
trimEvents(KEYS[4], maxEvents)
return out
