#!lua
--[[
  Pauses or resumes a queue. Resuming re-arms the markers of every lane
  (each type at each version) with waiting jobs so that blocked workers
  wake at once.

  Input:
    KEYS[1] meta   KEYS[2] events   KEYS[3] types set
    ARGV[1] key base   ARGV[2] max events   ARGV[3] '1' pause, '0' resume
  Output: 1
  Events: paused | resumed
]]
-- @include base
local base = ARGV[1]
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'paused', '1')
  emit(KEYS[2], ARGV[2], 'paused', '', '')
else
  redis.call('HDEL', KEYS[1], 'paused')
  for _, l in ipairs(allLanes(KEYS[3], base)) do
    if redis.call('ZCARD', base .. 'w:' .. l) > 0 then
      redis.call('ZADD', base .. 'm:' .. l, '0', '0')
    end
  end
  emit(KEYS[2], ARGV[2], 'resumed', '', '')
end
return 1
