#!lua
--[[
  Hands an active job back to waiting at its original place, without
  counting an attempt or a stall: used at shutdown for jobs whose handler
  was aborted at the deadline.

  Input:
    KEYS[1] active   KEYS[2] counts   KEYS[3] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id   ARGV[4] token
  Output: 1 released; 3 cancelled (a cancel was requested:
    includes/cancel.lua); -1 missing; -2 lease lost
  Events: waiting | cancelled
]]
-- @include base
-- @include cancel
local base, maxEvents, id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.token, F.state, F.priority, F.sequence, F.version,
  F.cancelRequested, F.flowKey)
if not f[1] then return -1 end
if f[2] ~= token or f[3] ~= 'a' then return -2 end
if cancelIfRequested(base, KEYS[1], KEYS[2], KEYS[3], maxEvents, id, f[1], f[7]) then return 3 end
redis.call('ZREM', KEYS[1], id)
if f[8] then releaseSlot(base, f[1], f[8], id) end
redis.call('HDEL', jk, F.token)
redis.call('HSET', jk, F.state, 'w')
pushWait(base, id, f[1], f[6], waitScore(f[4], f[5]), f[8])
moveCount(KEYS[2], f[1], 'a', 'w')
emit(KEYS[3], maxEvents, 'waiting', id, f[1], 'released', '1')
return 1
