#!lua
--[[
  The repair pass of one repeat schedule (layout in includes/repeat.lua),
  run by workers on their periodic check: stores what the client
  recomputed (cron slots, a template for schedules written by older
  versions), then makes sure the schedule has its one pending occurrence,
  creating it at the first slot after now when it is missing (a chain
  broken by hand, by an older version, or by a cron slot list that ran dry).

  Input:
    KEYS[1] repeats hash   KEYS[2] delayed   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] repeat key
    ARGV[4] the spec JSON the client read (the write is skipped if it changed)
    ARGV[5] occurrence template JSON ('' = keep)
    ARGV[6] cron slots ('' = keep)
  Output: 0 schedule replaced or removed meanwhile; 1 pending occurrence
          present; 2 created; -1 missing and no slot known
  Events: delayed
]]
-- @include base
-- @include repeat
local base, maxEvents, key = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', KEYS[1], key) ~= ARGV[4] then return 0 end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], key .. ':job', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], key .. ':slots', ARGV[6]) end
local nextId = redis.call('HGET', KEYS[1], key .. ':next')
if nextId then
  local jk = base .. 'j:' .. nextId
  local s = redis.call('HGET', jk, F.state)
  if s == 'w' or s == 'd' then
    -- An occurrence written by an older version lacks its repeat key.
    redis.call('HSET', jk, F.repeatKey, key)
    return 1
  end
end
local now = nowMs()
local id = scheduleOccurrence(base, key, now, now)
trimEvents(KEYS[4], maxEvents)
return id and 2 or -1
