#!lua
--[[
  Finds active jobs whose lease deadline has passed (their worker died or
  froze) and puts them back to waiting at the tail of their priority, or
  fails them with STALL_LIMIT after more than `maxStalls` stalls, so a job
  that kills its worker cannot loop forever. At most one run per interval
  across all workers, guarded by a lock key. A job whose hash cannot be run
  (its stored options are missing or not JSON: hand-written or legacy) is
  failed with CORRUPT_JOB instead; every field is read and checked before a
  job's first write, so such a hash never aborts the check halfway.
  A job still marked F.unstarted (prefetched, and its worker never
  reported starting its handler) did not cause the stall: it goes back to
  waiting with no stall counted, once (F.freeRequeues; see leaseJobs in lease.lua).
  So does a job leased by a call whose reply its worker reported lost (the
  token's call prefix is in `lost leases`; see markLostLeases). Then a few
  keys parked at their concurrency limit get stale slots dropped (healParked).
  Last, the age rules of the checking worker's job types (applyAgeRules).

  Input:
    KEYS[1] active   KEYS[2] failed   KEYS[3] counts   KEYS[4] events
    KEYS[5] stall lock   KEYS[6] id counter   KEYS[7] lost leases
    ARGV[1] key base   ARGV[2] max events   ARGV[3] max stalls
    ARGV[4] lock ms (the check interval)
    ARGV[5] age rules ('' for none; applyAgeRules in includes/base.lua)
  A job whose cancel was requested ends as cancelled (includes/cancel.lua).

  Output: { number re-queued, number failed, number cancelled } or {} when
          another worker holds the lock
  Events: stalled | waiting (field released: never started) | failed (err
    code STALL_LIMIT or CORRUPT_JOB) | cancelled
]]
-- @include base
-- @include cancel
local base, maxEvents, maxStalls = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not redis.call('SET', KEYS[5], '1', 'PX', ARGV[4], 'NX') then return {} end
local now = nowMs()
local requeued, failed, cancelled = 0, 0, 0
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)

-- A job whose own rule keeps no failed jobs is deleted at once, as fail.lua
-- does: indexed and then trimmed to its count of 0, it would take every
-- trimmable failed job of its type with it.
local function failJob(jk, id, name, code, message, kf)
  local err = cjson.encode({ code = code, name = 'JobwireError', at = now, message = message })
  emit(KEYS[4], maxEvents, 'failed', id, name, 'err', err)
  failed = failed + 1
  if kf[1] == 0 then
    deleteJobKeys(base, id)
    moveCount(KEYS[3], name, 'a', '')
    return
  end
  appendError(jk, err)
  redis.call('HSET', jk, F.state, 'f', F.finishedAt, now)
  addFinished(base, KEYS[2], 'f', name, now, id, kf[1], kf[2])
  moveCount(KEYS[3], name, 'a', 'f')
  trimFinished(base, KEYS[2], KEYS[3], 'f', name, kf[1], kf[2], now, 1)
end

local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local jk = base .. 'j:' .. id
  local f = redis.call('HMGET', jk, F.name, F.priority, F.options, F.stalls, F.unstarted,
    F.freeRequeues, F.sequence, F.token, F.version, F.cancelRequested, F.flowKey, F.settingsRef)
  local opts = decodeOr((jobSettings(base, f[3], true, f[12])))
  local kf = type(opts) == 'table' and type(opts.kf) == 'table' and opts.kf or {}
  kf = { num(kf[1], 10000), num(kf[2], 0) }
  -- A token is '<call prefix>:<place in the call>'.
  local call = f[8] and string.match(f[8], '^(.*):[^:]*$')
  local lost = call and redis.call('ZSCORE', KEYS[7], call)
  redis.call('ZREM', KEYS[1], id)
  if f[1] and cancelIfRequested(base, KEYS[1], KEYS[3], KEYS[4], maxEvents, id, f[1], f[10]) then
    cancelled = cancelled + 1
  elseif f[1] then
    -- Whether re-queued or failed, it holds its key's slot no longer.
    if f[11] then releaseSlot(base, f[1], f[11], id) end
    redis.call('HDEL', jk, F.token, F.unstarted)
    local unstarted = (f[5] or lost) and type(opts) == 'table'
    local stalls = num(f[4], 0) + (unstarted and 0 or 1)
    redis.call('HSET', jk, F.stalls, stalls)
    if unstarted then
      -- Back to its old place, as a hand-back does.
      local seq = num(f[7], nil) or redis.call('INCR', KEYS[6])
      redis.call('HSET', jk, F.state, 'w', F.sequence, seq, F.freeRequeues, num(f[6], 0) + 1)
      pushWait(base, id, f[1], f[9], waitScore(f[2], seq), f[11])
      moveCount(KEYS[3], f[1], 'a', 'w')
      emit(KEYS[4], maxEvents, 'waiting', id, f[1], 'released', '1')
      requeued = requeued + 1
    elseif type(opts) ~= 'table' then
      failJob(jk, id, f[1], 'CORRUPT_JOB', 'job ' .. id ..
        ' stalled, and its stored options are missing or not JSON; it was not written by a jobwire producer', kf)
    elseif stalls > maxStalls then
      failJob(jk, id, f[1], 'STALL_LIMIT', 'job stalled ' .. stalls ..
        ' times (its worker died or froze); maxStalls is ' .. maxStalls, kf)
    else
      local seq = redis.call('INCR', KEYS[6])
      redis.call('HSET', jk, F.state, 'w', F.sequence, seq)
      pushWait(base, id, f[1], f[9], waitScore(f[2], seq), f[11])
      moveCount(KEYS[3], f[1], 'a', 'w')
      emit(KEYS[4], maxEvents, 'stalled', id, f[1], 'sc', stalls)
      requeued = requeued + 1
    end
  end
end
healParked(base, KEYS[1], base .. 'types')
applyAgeRules(base, KEYS[3], ARGV[5] or '', now)
return { requeued, failed, cancelled }
