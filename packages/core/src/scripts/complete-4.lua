#!lua
--[[
  Completes an active job, if the caller still holds its lease, and applies
  the completed-job retention rule.

  Input:
    KEYS[1] active   KEYS[2] completed   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id   ARGV[4] lease token
    ARGV[5] result JSON ('' = none)   ARGV[6] keep count (-1 all)
    ARGV[7] keep age ms (0 any)
  Output: 1 completed; -1 job missing; -2 lease lost (fenced)
  Events: completed (field r = result)
]]
-- @include base
local base, maxEvents, id, token, result = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, 'n', 'tk', 's')
if not f[1] then return -1 end
if f[2] ~= token or f[3] ~= 'a' then return -2 end
local now = nowMs()
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', jk, 'tk')
redis.call('HINCRBY', jk, 'a', 1)
redis.call('HSET', jk, 's', 'c', 'f', now)
if result ~= '' then redis.call('HSET', jk, 'r', result) end
moveCount(KEYS[3], f[1], 'a', 'c')
emit(KEYS[4], maxEvents, 'completed', id, f[1], 'r', result)
if tonumber(ARGV[6]) == 0 then
  removeJob(base, KEYS[2], KEYS[3], 'c', id)
else
  redis.call('ZADD', KEYS[2], now, id)
  trimFinished(base, KEYS[2], KEYS[3], 'c', ARGV[6], ARGV[7], now)
end
return 1
