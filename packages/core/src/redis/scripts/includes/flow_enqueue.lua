-- Debounce and throttle at enqueue (enqueue.lua), and their counters.
-- Needs `-- @include base` and `-- @include cancel` first. Drops and
-- replacements of a batch are summed here and written once per counter at
-- the end (flushFlowStats), as tally.lua does for the state counts.
local flowStats, throttledKeys = {}, {}

local function countFlow(name, what)
  local k = name .. '|' .. what
  flowStats[k] = (flowStats[k] or 0) + 1
end

-- Throttle (drop): a sliding window log per key, <base>th:<type>:<key>, of
-- the jobs accepted in the last `periodMs` (member = job id, score = ms
-- accepted), so no window of periodMs ever accepts more than `limit`.
-- Returns true when the job is accepted (and logs it); false when it is
-- dropped, counted in <type>|throttled and, for a real key, per key.
-- `entry` is unique per accepted job (its id and sequence number): a job
-- id used again after its job was removed must add an entry of its own,
-- not move the old one, or the window would under-count.
local function throttleAdmit(base, name, key, entry, limit, periodMs, now)
  local log = base .. 'th:' .. name .. ':' .. key
  -- Old entries are trimmed only when the log looks full: below the limit
  -- they cannot change the answer, and the log never exceeds the limit.
  local card = redis.call('ZCARD', log)
  if card >= limit then
    card = card - redis.call('ZREMRANGEBYSCORE', log, '-inf', now - periodMs)
  end
  if card < limit then
    redis.call('ZADD', log, now, entry)
    -- An idle key's log goes away once its window has passed.
    redis.call('PEXPIRE', log, periodMs)
    return true
  end
  countFlow(name, 'throttled')
  if key ~= '' then
    local per = throttledKeys[name]
    if not per then per = {}; throttledKeys[name] = per end
    per[key] = (per[key] or 0) + 1
  end
  return false
end

-- Debounce (trailing edge): <base>db:<type> maps a debounce key ('' when
-- per type) to its pending job, which now becomes `id`. The previous one,
-- when it is still delayed and was never leased, ends as cancelled
-- (includes/cancel.lua, so counts, events and retention stay right) and
-- its id is returned; a job already promoted, leased or gone is left as it
-- is (the new job then starts a new burst).
local function debounceReplace(base, name, key, id, delayedKey, countsKey, eventsKey, maxEvents, now)
  local dbKey = base .. 'db:' .. name
  local prev = redis.call('HGET', dbKey, key)
  redis.call('HSET', dbKey, key, id)
  if not prev or prev == id then return nil end
  local pk = base .. 'j:' .. prev
  local f = redis.call('HMGET', pk, F.state, F.name, F.deliveries)
  if f[1] ~= 'd' or f[2] ~= name or f[3] then return nil end
  if redis.call('ZREM', delayedKey, prev) == 0 then return nil end
  redis.call('HSET', pk, F.cancelReason, 'debounced: replaced by ' .. id)
  finishCancelled(base, pk, prev, name, 'd', countsKey, eventsKey, maxEvents, now)
  countFlow(name, 'debounced')
  return prev
end

-- Writes the batch's flow counters: <base>flow-stats, and per type the
-- keys' throttled-drop counts <base>tk:<type>, kept to the 1000 highest.
local function flushFlowStats(base)
  for k, d in pairs(flowStats) do redis.call('HINCRBY', base .. 'flow-stats', k, d) end
  for name, per in pairs(throttledKeys) do
    local tk = base .. 'tk:' .. name
    for key, d in pairs(per) do redis.call('ZINCRBY', tk, d, key) end
    redis.call('ZREMRANGEBYRANK', tk, 0, -1001)
  end
  flowStats, throttledKeys = {}, {}
end
