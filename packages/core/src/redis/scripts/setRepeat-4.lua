#!lua
--[[
  Creates or replaces a repeat schedule (layout in includes/repeat.lua):
  writes the latest spec and occurrence template, removes the pending
  occurrence built from the previous spec, and schedules the first slot
  after now from the new one. So a schedule keeps exactly one pending
  occurrence, and it carries the latest spec and payload. Concurrent calls
  with the same spec converge on the same slot id.

  Declaring the very same spec and template again keeps the pending
  occurrence, due or not: every process declares its schedules at
  start-up, and a restart while a slot is overdue (no worker free, a
  deploy) must not skip that slot. Specs and templates are compared as
  values (the payload inside too), whatever their key order. Declaring
  the spec of an ended schedule (its endAt passed, its limit reached)
  again leaves it ended; the same spec with a new template (a deploy's new
  fingerprint or default options) replaces the pending occurrence and
  keeps the count; any other spec starts afresh, its limit from zero.

  Input:
    KEYS[1] repeats hash   KEYS[2] delayed   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] repeat key
    ARGV[4] spec JSON   ARGV[5] occurrence template JSON
    ARGV[6] cron slots ('' for an interval)
  Output: { id, kept }: the id of the pending occurrence ('' when the
          schedule has no slot left), or of an ended schedule's last
          occurrence ('' if none); kept 1 when the declaration changed
          nothing (the same spec again), else 0
  Events: removed (the replaced occurrence, unless the same id is
          scheduled again), delayed
]]
-- @include base
-- @include repeat
local base, maxEvents, key = ARGV[1], ARGV[2], ARGV[3]
local now = nowMs()
local prev = redis.call('HMGET', KEYS[1], key, key .. ':job', key .. ':next', key .. ':ended',
  key .. ':last')
-- The spec of a schedule that ended, declared again: it stays ended.
if not prev[1] and sameRepeatJson(prev[4], ARGV[4], 'data') then return { prev[5] or '', 1 } end
-- Same spec: the same schedule, its count kept, even when its template
-- changed (a deploy's new schema fingerprint or default options).
local sameSpec = sameRepeatJson(prev[1], ARGV[4], 'data')
local same = sameSpec and sameRepeatJson(prev[2], ARGV[5], 'd')
-- A new or changed schedule with no slot within its bounds is refused
-- before anything is written.
if not sameSpec then
  if not hasSlotAfter(cjson.decode(ARGV[5]), ARGV[6], now) then return { '', 0 } end
  redis.call('HDEL', KEYS[1], key .. ':made', key .. ':ended', key .. ':last')
end
local old = prev[3]
redis.call('HSET', KEYS[1], key, ARGV[4], key .. ':job', ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], key .. ':slots', ARGV[6])
else
  redis.call('HDEL', KEYS[1], key .. ':slots')
end
if old and same then
  local state = redis.call('HGET', base .. 'j:' .. old, F.state)
  if state == 'd' or state == 'w' then return { old, 1 } end
end
local oldName
if old then
  local f = redis.call('HMGET', base .. 'j:' .. old, F.name, F.state, F.version, F.flowKey)
  if f[2] == 'd' then
    removeJob(base, KEYS[2], KEYS[3], 'd', old)
    oldName = f[1]
  elseif f[2] == 'w' then
    removeWaiting(base, KEYS[3], old, f[1], f[3], f[4])
    oldName = f[1]
  end
end
-- The replaced occurrence never ran: under a kept count it is made again.
if oldName and sameSpec then
  if redis.call('HEXISTS', KEYS[1], key .. ':made') == 1 then
    redis.call('HINCRBY', KEYS[1], key .. ':made', -1)
  end
end
local id = scheduleOccurrence(base, key, now, now)
if oldName and id ~= old then emitUntrimmed(KEYS[4], 'removed', old, oldName) end
trimEvents(KEYS[4], maxEvents)
return { id or '', 0 }
