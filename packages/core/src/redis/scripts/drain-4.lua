#!lua
--[[
  Removes up to `limit` waiting jobs, of every version lane (and delayed
  ones when asked) in one
  call; the caller repeats until it returns 0, so Redis is never blocked
  for long. A schedule outlives a drain: a removed pending occurrence of a
  repeat is replaced by its next slot, and a delayed pending occurrence is
  left alone (else every call would remove its replacement, for ever).
  One `drained` event per call that removed jobs, not a `removed` event per
  job: a drain of a large queue would otherwise flood the event log and push
  other outcomes out of it. finished() waiters re-check their job hashes
  when they read it.

  Input:
    KEYS[1] delayed   KEYS[2] counts   KEYS[3] types set   KEYS[4] events
    ARGV[1] key base   ARGV[2] limit   ARGV[3] '1' to include delayed jobs
    ARGV[4] max events
  Output: the number of jobs removed
  Events: drained (field count), when at least one job was removed;
    delayed (the next occurrence of a repeat)
]]
-- @include base
-- @include repeat
local base, left = ARGV[1], tonumber(ARGV[2])
local removed = 0
local now = nowMs()
-- Every lane of every type: lane 1 of each type, then those above version 1.
for _, l in ipairs(allLanes(KEYS[3], base)) do
  local key = base .. 'w:' .. l
  for _, id in ipairs(redis.call('ZRANGE', key, 0, left - removed - 1)) do
    local f = redis.call('HMGET', base .. 'j:' .. id, F.repeatKey, F.flowKey)
    if f[2] then groupRemove(base, l, f[2], id) end
    removeJob(base, key, KEYS[2], 'w', id)
    advanceRepeat(base, f[1], id, now)
    removed = removed + 1
  end
  if removed >= left then break end
end
if ARGV[3] == '1' and removed < left then
  -- Skipped occurrences stay in the set: look past them (one per schedule).
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, left * 2 - removed - 1)) do
    if removed >= left then break end
    if not isPendingOccurrence(base, base .. 'j:' .. id, id) then
      removeJob(base, KEYS[1], KEYS[2], 'd', id)
      removed = removed + 1
    end
  end
end
if removed > 0 then emit(KEYS[4], ARGV[4], 'drained', '', '', 'count', removed) end
return removed
