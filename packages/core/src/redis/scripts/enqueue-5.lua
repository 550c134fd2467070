#!lua
--[[
  Adds jobs: to the wait zset of their lane (their type at their contract
  version, lane() in includes/base.lua; lanes above version 1 are recorded
  in <base>lanes), or to `delayed` when they have a delay. A keyed job
  (group key given) also joins its key's group and the lane's ring
  (includes/flow.lua); debounce and throttle: includes/flow_enqueue.lua.
  A job whose id exists is left untouched (a custom id's duplicate, or a
  generated id's re-sent call) and touches no debounce or throttle state.
  Indexes, counters and markers are written once per type or lane.
  Input:
    KEYS[1] seq counter      KEYS[2] delayed zset    KEYS[3] counts hash
    KEYS[4] events stream    KEYS[5] types set
    ARGV[1] key base `<prefix>:{<queue>}:`   ARGV[2] max events
    ARGV[3] number of settings sets S, then 7 fields per set (shared by the
      jobs that name it): options JSON, expire-after ms (0 = never),
      contract version, contract fingerprint, debounce period ms, throttle
      limit, throttle period ms (0 = no such rule)
    then the number of jobs, then 9 fields per job: id (never empty), type
      name, data JSON, priority, delay, set (1..S), group key, debounce
      key, throttle key ('' = none; with the set's rule, '' = per type);
      the delay is ms from now, or `@<epoch ms>` for a `runAt` (Redis time)
  Output: per job, three entries: id, status, replaced id ('' unless 2)
     1 created, 0 duplicate, 2 created and replaced (cancelled) the pending
     job of its debounce key, 3 throttled (nothing stored)
  Events: waiting | delayed; cancelled (a debounced-away job, from 'd')
]]
-- @include base
-- @include tally
-- @include cancel
-- @include flow
-- @include flow_enqueue
local base, maxEvents, now, out, sets = ARGV[1], ARGV[2], nowMs(), {}, {}
for i = 0, tonumber(ARGV[3]) - 1 do
  local a = 4 + i * 7
  sets[i + 1] = { ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3],
    tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]) }
end
local first = 5 + #sets * 7
local n = tonumber(ARGV[first - 1])
-- One INCRBY reserves the sequence numbers of the whole batch; numbers of
-- duplicates and dropped jobs go unused, which only leaves gaps.
local seq = redis.call('INCRBY', KEYS[1], n) - n
local waiting, touched, lanes = {}, {}, {}
for i = 0, n - 1 do
  local a = first + i * 9
  local id, name, data, prio, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  -- A runAt is turned into a delay with Redis time.
  if string.sub(delay, 1, 1) == '@' then delay = tonumber(string.sub(delay, 2)) - now else delay = tonumber(delay) end
  local set = sets[tonumber(ARGV[a + 5])]
  local opts, expireAfter, version, fingerprint = set[1], set[2], set[3], set[4]
  local gk, replaced = ARGV[a + 6], ''
  local status = 1
  if redis.call('EXISTS', base .. 'j:' .. id) == 1 then
    status = 0
  elseif set[6] > 0 and not throttleAdmit(base, name, ARGV[a + 8], id .. '|' .. (seq + 1), set[6], set[7], now) then
    status = 3
  elseif set[5] > 0 then
    -- Trailing edge: the job waits out the period (or its own longer delay).
    if delay < set[5] then delay = set[5] end
    local prev = debounceReplace(base, name, ARGV[a + 7], id, KEYS[2], KEYS[3], KEYS[4], maxEvents, now)
    if prev then status, replaced = 2, prev end
  end
  seq = seq + 1
  if status == 1 or status == 2 then
    local jk = base .. 'j:' .. id
    local state = delay > 0 and 'd' or 'w'
    redis.call('HSET', jk, F.name, name, F.priority, prio, F.sequence, seq, F.options, opts,
      F.createdAt, now, F.version, version, F.fingerprint, fingerprint, F.state, state)
    if expireAfter > 0 then
      if delay > 0 then redis.call('HSET', jk, F.expireAfterMs, expireAfter)
      else redis.call('HSET', jk, F.expireAfterMs, expireAfter, F.expiresAt, now + expireAfter) end
    end
    if gk ~= '' then redis.call('HSET', jk, F.flowKey, gk) end
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
      local score = waitScore(prio, seq)
      w[#w + 1] = score; w[#w + 1] = id
      if gk ~= '' then groupPush(base, l, gk, id, score) end
      emitUntrimmed(KEYS[4], 'waiting', id, name)
    end
  end
  out[#out + 1] = id; out[#out + 1] = status; out[#out + 1] = replaced
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
flushFlowStats(base)
trimEvents(KEYS[4], maxEvents)
return out
