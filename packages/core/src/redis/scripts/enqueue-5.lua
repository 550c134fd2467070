#!lua
--[[
  Adds jobs: to the wait zset of their lane (their type at their contract
  version, lane() in includes/base.lua; lanes above version 1 are recorded
  in <base>lanes), or to `delayed` when they have a delay. A keyed job
  (group key given) also joins its key's group and the lane's ring
  (includes/flow.lua); debounce and throttle: includes/flow_enqueue.lua.
  A job whose id exists is left untouched (a custom id's duplicate, or a
  generated id's re-sent call) and touches no debounce or throttle state.
  Indexes, counters, markers and the log trim are once per type or lane.
  Input:
    KEYS[1] seq counter      KEYS[2] delayed zset    KEYS[3] counts hash
    KEYS[4] events stream    KEYS[5] types set
    ARGV[1] key base `<prefix>:{<queue>}:`   ARGV[2] max events
    ARGV[3] number of settings sets S, then 9 fields per set (shared by the
      jobs that name it): type name, options JSON, expire-after ms (0 =
      never), contract version, contract fingerprint, debounce period ms,
      throttle limit, throttle period ms (0 = no such rule), the settings
      ref when the options are the type's defaults (stored once, in
      <base>settings: includes/enqueue_batch.lua), else '' (stored inline)
    then the number of jobs n, their n ids (never empty), then per job its
      data JSON and set (1..S); a job with a priority, a delay or a flow
      key gives its set negated, then priority, delay, group key, debounce
      key, throttle key ('' = none; with the set's rule, '' = per type);
      the delay is ms from now, or `@<epoch ms>` for a `runAt` (Redis time)
  Output: per job its status, then the replaced id of each status 2, in
     job order: 1 created, 0 duplicate, 2 created and replaced (cancelled)
     the pending job of its debounce key, 3 throttled (nothing stored)
  Events: waiting | delayed; cancelled (a debounced-away job, from 'd')
]]
-- @include base
-- @include tally
-- @include cancel
-- @include flow
-- @include flow_enqueue
-- @include enqueue_batch
local base, maxEvents, now, out = ARGV[1], ARGV[2], nowMs(), {}
-- Numbers go to redis.call as strings ('%d' for integers): Redis prints a
-- Lua number with '%.17g', several times slower.
local nowS, events, sets, at = string.format('%d', now), KEYS[4], readSets()
local n, first = tonumber(ARGV[at]), at + 1
-- One INCRBY reserves the sequence numbers of the whole batch; numbers of
-- duplicates and dropped jobs go unused, which only leaves gaps.
local seq = redis.call('INCRBY', KEYS[1], n) - n
-- When no id of the batch existed, only a job of the batch itself can make
-- a later one a duplicate (`seen`), until a debounce cancels a job (which
-- may delete jobs): from then on each job asks Redis.
local jks, ask = jobKeys(base, first, n)
local seen, replaced, waiting, lanes, untrimmed, a = {}, {}, {}, {}, false, first + n
for i = 1, n do
  local id, jk, data, s = ARGV[first + i - 1], jks[i], ARGV[a], ARGV[a + 1]
  local set, prio, delay, gk, dk, tk = sets[s], '0', 0, '', '', ''
  if set then a = a + 2 else
    set, prio, delay, gk, dk, tk = sets[string.sub(s, 2)], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
    -- A runAt is turned into a delay with Redis time.
    if string.sub(delay, 1, 1) == '@' then delay = tonumber(string.sub(delay, 2)) - now else delay = tonumber(delay) end
    a = a + 7
  end
  local name, status = set[1], 1
  seq = seq + 1
  local seqS = string.format('%d', seq)
  if ask and redis.call('EXISTS', jk) == 1 or not ask and seen[id] then
    status = 0
  elseif set[7] > 0 and not throttleAdmit(base, name, tk, id .. '|' .. seqS, set[7], set[8], now) then
    status = 3
  elseif set[6] > 0 then
    -- Trailing edge: the job waits out the period (or its own longer delay).
    if delay < set[6] then delay = set[6] end
    local prev = debounceReplace(base, name, dk, id, KEYS[2], KEYS[3], events, maxEvents, now)
    if prev then status, ask = 2, true; replaced[#replaced + 1] = prev end
  end
  if status ~= 0 and status ~= 3 then
    if not ask then seen[id] = true end
    writeJobHash(jk, set, prio, seqS, nowS, delay > 0 and 'd' or 'w')
    if set[3] > 0 then
      if delay > 0 then redis.call('HSET', jk, F.expireAfterMs, set[10])
      else redis.call('HSET', jk, F.expireAfterMs, set[10], F.expiresAt, string.format('%d', now + set[3])) end
    end
    if gk ~= '' then redis.call('HSET', jk, F.flowKey, gk) end
    redis.call('SET', base .. 'p:' .. id, data)
    local l = set[9]
    lanes[l] = name
    -- The last job's event trims the log; earlier ones leave that to it.
    untrimmed = i < n
    if delay > 0 then
      local due = string.format('%d', now + delay)
      redis.call('ZADD', KEYS[2], due, id)
      tallyMove(name, '', 'd')
      if untrimmed then redis.call('XADD', events, '*', 'ev', 'delayed', 'id', id, 'n', name, 'due', due)
      else emit(events, maxEvents, 'delayed', id, name, 'due', due) end
    else
      local w = waiting[l]
      if not w then w = {}; waiting[l] = w end
      local score = prio == '0' and seqS or waitScore(prio, seq)
      w[#w + 1] = score; w[#w + 1] = id
      if gk ~= '' then groupPush(base, l, gk, id, score) end
      if untrimmed then redis.call('XADD', events, '*', 'ev', 'waiting', 'id', id, 'n', name)
      else emit(events, maxEvents, 'waiting', id, name) end
    end
  end
  out[i] = status
end
for i = 1, #replaced do out[n + i] = replaced[i] end
indexBatch(base, waiting, lanes, KEYS[3], KEYS[5])
flushFlowStats(base)
if untrimmed then trimEvents(events, maxEvents) end
return out
