#!lua
--[[
  Moves a delayed job to waiting now.

  Input:
    KEYS[1] delayed   KEYS[2] counts   KEYS[3] events   KEYS[4] id counter
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id
  Output: 1 promoted; -1 missing; -3 not delayed
  Events: waiting
]]
-- @include base
local base, maxEvents, id = ARGV[1], ARGV[2], ARGV[3]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.priority, F.expireAfterMs, F.version, F.flowKey)
if not f[1] then return -1 end
if redis.call('ZREM', KEYS[1], id) == 0 then return -3 end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', jk, F.state, 'w', F.sequence, seq)
local ea = num(f[3], nil)
if ea then redis.call('HSET', jk, F.expiresAt, nowMs() + ea) end
pushWait(base, id, f[1], f[4], waitScore(f[2], seq), f[5])
moveCount(KEYS[2], f[1], 'd', 'w')
emit(KEYS[3], maxEvents, 'waiting', id, f[1])
return 1
