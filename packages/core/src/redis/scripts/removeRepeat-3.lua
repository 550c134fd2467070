#!lua
--[[
  Deletes a repeat definition and its pending occurrence, if that is still
  waiting or delayed.

  Input:
    KEYS[1] repeats hash   KEYS[2] delayed   KEYS[3] counts
    ARGV[1] key base   ARGV[2] repeat key
  Output: 1 removed; 0 no such repeat
  Events: none
]]
-- @include base
local base, key = ARGV[1], ARGV[2]
local nextId = redis.call('HGET', KEYS[1], key .. ':next')
local existed = redis.call('HDEL', KEYS[1], key, key .. ':next')
if nextId then
  local f = redis.call('HMGET', base .. 'j:' .. nextId, 'n', 's')
  if f[2] == 'd' then removeJob(base, KEYS[2], KEYS[3], 'd', nextId)
  elseif f[2] == 'w' then removeJob(base, base .. 'w:' .. f[1], KEYS[3], 'w', nextId) end
end
return existed > 0 and 1 or 0
