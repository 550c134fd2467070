#!lua
--[[
  Completes a batch of active jobs, each only if the caller still holds its
  lease, applies each job's completed retention rule to its type's completed
  jobs (removing at least as many as the batch added, so the set stays at
  its bound), then (when asked) leases the next jobs as moveToActive does.
  Input:
    KEYS[1] active   KEYS[2] completed   KEYS[3] counts   KEYS[4] events
    KEYS[5] id counter   KEYS[6] delayed   KEYS[7] meta   KEYS[8] expired
    ARGV[1] key base   ARGV[2] max events   ARGV[3] number of jobs N,
      then 5 fields per job: id, lease token, result JSON ('' = none),
      keep count (-1 all), keep age ms (0 any)
    then: lease ms, lease token prefix (unique per call), max jobs to lease
      (0 = none), how many of them start at once, number of types, then 8
      fields per type as moveToActive takes them
    then: number of start reports M, then M ids of prefetched jobs whose
      handlers started (their unstarted mark is cleared)
  Output: N codes (1 completed; 3 cancelled instead, a cancel was
    requested: includes/cancel.lua; -1 job missing; -2 lease lost, fenced),
    then, when leasing, moveToActive's reply
  Events: completed (field r = result, left out when none) | cancelled, then moveToActive's
]]
-- @include base
-- @include cancel
-- @include tally
-- @include lease
local base, maxEvents, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Numbers go to redis.call as '%d' text: Redis would print them '%.17g'.
local nowS, nowUs = string.format('%d', now), tonumber(t[1]) * 1000000 + tonumber(t[2])
local out, done, trims, removed, p = {}, {}, {}, {}, 4 + n * 5 -- removed: count by type
local marks = p + 5 + tonumber(ARGV[p + 4]) * TYPE_FIELDS
local ended = tonumber(ARGV[marks]) > 0 and {} or nil -- jobs ended here (for the start reports)
for i = 0, n - 1 do
  local a = 4 + i * 5
  local id, token, result, keep = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local jk = base .. 'j:' .. id
  local removing, f = keep == '0', nil -- f[4]: deliveries if so, else attempts (absent ones scan)
  if removing then f = redis.call('HMGET', jk, F.name, F.token, F.state, F.deliveries, F.cancelRequested, F.flowKey)
  else f = redis.call('HMGET', jk, F.name, F.token, F.state, F.attemptsMade, F.cancelRequested, F.flowKey) end
  if not f[1] then
    out[i + 1] = -1
  elseif f[2] ~= token or f[3] ~= 'a' then
    out[i + 1] = -2
  elseif cancelIfRequested(base, KEYS[1], KEYS[3], KEYS[4], maxEvents, id, f[1], f[5]) then
    out[i + 1] = 3
    if ended then ended[id] = true end
  else
    out[i + 1] = 1
    done[#done + 1] = id
    if ended then ended[id] = true end
    if f[6] then releaseSlot(base, f[1], f[6], id) end
    -- Without r it has most events' fields, which a stream node stores once.
    if result == '' then emitUntrimmed(KEYS[4], 'completed', id, f[1])
    else emitUntrimmed(KEYS[4], 'completed', id, f[1], 'r', result) end
    if removing then
      -- Removed at once: no state to write on a hash about to go. On its first
      -- delivery it has no legacy log (includes/base.lua, deleteJobKeys).
      deleteJobKeys(base, id, num(f[4], 0) <= 1)
      removed[f[1]] = (removed[f[1]] or 0) + 1
    else
      redis.call('HDEL', jk, F.token, F.unstarted)
      local attempts = f[4] and string.format('%d', tonumber(f[4]) + 1) or '1'
      if result == '' then
        redis.call('HSET', jk, F.state, 'c', F.finishedAt, nowS, F.attemptsMade, attempts)
      else
        redis.call('HSET', jk, F.state, 'c', F.finishedAt, nowS, F.attemptsMade, attempts,
          F.result, result)
      end
      -- Jobs of one batch finish in its order: a microsecond apart, so a
      -- count rule keeps the newest even when all share a millisecond.
      local us = nowUs + #done
      addFinished(base, KEYS[2], 'c', f[1], string.format('%d.%03d', math.floor(us / 1000), us % 1000), id, keep, ARGV[a + 4])
      tallyMove(f[1], 'a', 'c')
      -- One trim per type and rule, sized by the jobs this batch added.
      local rule = f[1] .. '|' .. keep .. '|' .. ARGV[a + 4]
      local tr = trims[rule]
      if tr then tr[4] = tr[4] + 1 else trims[rule] = { f[1], keep, ARGV[a + 4], 1 } end
    end
  end
end
callSliced('ZREM', KEYS[1], done)
for name, count in pairs(removed) do tallyAdd(name, 'a', -count) end
for _, t in pairs(trims) do trimFinished(base, KEYS[2], KEYS[3], 'c', t[1], t[2], t[3], now, t[4]) end
-- A job ended here lost its unstarted mark: its start report needs no HDEL.
for i = marks + 1, marks + tonumber(ARGV[marks]) do
  if not ended[ARGV[i]] then redis.call('HDEL', base .. 'j:' .. ARGV[i], F.unstarted) end
end
local maxJobs = tonumber(ARGV[p + 2])
if maxJobs > 0 then
  out[n + 1] = 0
  out[n + 2] = promoteDue(base, KEYS[5], KEYS[6], KEYS[4], maxEvents, now)
  out[n + 3] = now
  out[n + 4] = 0
  if redis.call('HGET', KEYS[7], 'paused') == '1' then
    out[n + 1] = 1
  else
    local types, quota, known, rules = readLeaseTypes(p + 4)
    local due
    out[n + 4], due = leaseJobs(base, KEYS[1], KEYS[4], KEYS[8], KEYS[3], maxEvents,
      tonumber(ARGV[p]), ARGV[p + 1], maxJobs, tonumber(ARGV[p + 3]), types, quota, known, rules,
      now, out)
    out[n + 2] = earlier(out[n + 2], due)
  end
end
flushTally(KEYS[3])
trimEvents(KEYS[4], maxEvents)
return out
