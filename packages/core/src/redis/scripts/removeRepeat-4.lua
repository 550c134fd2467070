#!lua
--[[
  Deletes a repeat schedule (every field, see includes/repeat.lua) and its
  pending occurrence, if that is still waiting or delayed.

  Input:
    KEYS[1] repeats hash   KEYS[2] delayed   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] repeat key   ARGV[3] max events
    ARGV[4] job type: keys are per queue, so the schedule under the key
      may be another type's (a later repeat() of that type replaced it);
      then nothing is removed
  Output: 1 removed; 0 no such repeat of that type
  Events: removed (the pending occurrence, if one was removed)
]]
-- @include base
local base, key = ARGV[1], ARGV[2]
-- An ended schedule keeps its spec as <key>:ended (includes/repeat.lua).
local spec = decodeOr(redis.call('HGET', KEYS[1], key) or redis.call('HGET', KEYS[1], key .. ':ended'))
if type(spec) == 'table' and type(spec.name) == 'string' and spec.name ~= ARGV[4] then return 0 end
local nextId = redis.call('HGET', KEYS[1], key .. ':next')
local existed = redis.call('HDEL', KEYS[1], key, key .. ':next', key .. ':job', key .. ':slots',
  key .. ':made', key .. ':ended', key .. ':last')
if nextId then
  local f = redis.call('HMGET', base .. 'j:' .. nextId, F.name, F.state, F.version, F.flowKey)
  if f[1] and (f[2] == 'd' or f[2] == 'w') then
    if f[2] == 'd' then
      removeJob(base, KEYS[2], KEYS[3], 'd', nextId)
    else
      removeWaiting(base, KEYS[3], nextId, f[1], f[3], f[4])
    end
    emit(KEYS[4], ARGV[3], 'removed', nextId, f[1])
  end
end
return existed > 0 and 1 or 0
