-- Cancellation, shared by cancel.lua and the scripts that write an active
-- job's outcome (complete, fail, release, deferNewer, recoverStalled).
-- Needs `-- @include base` before it.
--
-- A cancelled job is finished: its state letter is 'k', and it is indexed
-- in <base>cancelled (queue-wide, for listings and clean()) and in
-- <base>k:<type> (for retention), kept by its failed-job keep rule as
-- expired jobs are. A cancel of an active job only marks it
-- (F.cancelRequested): its worker holds the lease, so whichever outcome is
-- written next under that lease ends the job as cancelled instead, and a
-- stall ends it cancelled too. So once a cancel was requested, the job is
-- never completed, failed, retried or re-queued.

-- Redis TIME in ms with its microseconds, as a score: cancels a moment
-- apart keep their order, so a count rule keeps the newest.
local function nowFineScore()
  local t = redis.call('TIME')
  return string.format('%.3f', tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000)
end

-- Ends job `id` (hash `jk`, type `name`) as cancelled, from state `from`
-- ('w', 'd' or 'a'); the caller has taken it out of that state's
-- structure. Its failed-job keep rule applies; when it keeps nothing the
-- job is deleted at once, as a failed job would be.
local function finishCancelled(base, jk, id, name, from, countsKey, eventsKey, maxEvents, now)
  local f = redis.call('HMGET', jk, F.options, F.cancelReason, F.flowKey, F.version, F.settingsRef)
  f[1] = jobSettings(base, f[1], true, f[5])
  -- A keyed job leaves its key's group (waiting) or gives back its slot (active).
  if f[3] and from == 'w' then groupRemove(base, lane(name, f[4]), f[3], id) end
  if f[3] and from == 'a' then releaseSlot(base, name, f[3], id) end
  local opts = decodeOr(f[1])
  -- An unreadable rule keeps the job: erring on the side of keeping.
  local kf = type(opts) == 'table' and type(opts.kf) == 'table' and opts.kf or nil
  emit(eventsKey, maxEvents, 'cancelled', id, name, 'reason', f[2] or '', 'from', from)
  if kf and num(kf[1], -1) == 0 then
    deleteJobKeys(base, id)
    moveCount(countsKey, name, from, '')
    return
  end
  redis.call('HDEL', jk, F.token, F.unstarted, F.expiresAt)
  redis.call('HSET', jk, F.state, 'k', F.finishedAt, now)
  addFinished(base, base .. 'cancelled', 'k', name, nowFineScore(), id, kf and kf[1], kf and kf[2])
  moveCount(countsKey, name, from, 'k')
  if kf then trimFinished(base, base .. 'cancelled', countsKey, 'k', name, kf[1], kf[2], now, 1) end
end

-- For the outcome scripts, after their lease check: when a cancel of the
-- active job `id` was requested, ends it as cancelled (whatever outcome the
-- caller came to write) and returns true; otherwise changes nothing.
-- `requested` is the job's F.cancelRequested as the caller's HMGET read it
-- (false when absent), so the check costs no call of its own.
local function cancelIfRequested(base, activeKey, countsKey, eventsKey, maxEvents, id, name, requested)
  if not requested then return false end
  local jk = base .. 'j:' .. id
  redis.call('ZREM', activeKey, id)
  finishCancelled(base, jk, id, name, 'a', countsKey, eventsKey, maxEvents, nowMs())
  return true
end
