#!lua
--[[
  Checks, and records, the storage layout of a queue (redis/layout.ts):
  the version of the form its jobs and keys are stored in. A caller whose
  build knows layouts up to ARGV[1] is refused when the queue records a
  newer one, and then nothing is written. Otherwise the field is raised to
  ARGV[1] when missing or older: always for a producer (it is about to
  store jobs in that form), for a worker only when the queue holds data
  (its counts hash exists), so a worker started on an empty queue creates
  no key.

  Input:
    KEYS[1] meta   KEYS[2] counts
    ARGV[1] the newest layout this build knows
    ARGV[2] '1': record even in an empty queue (a producer), '0': a worker
  Output: the layout recorded before the call (0 for none); when it is
    above ARGV[1] the call was refused and wrote nothing
  Events: none
]]
local known = tonumber(ARGV[1])
local found = tonumber(redis.call('HGET', KEYS[1], 'layout')) or 0
if found > known then return found end
if found < known and (ARGV[2] == '1' or redis.call('EXISTS', KEYS[2]) == 1) then
  redis.call('HSET', KEYS[1], 'layout', known)
end
return found
