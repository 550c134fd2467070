#!lua
--[[
  Sends a failed or expired job back to waiting with fresh attempt and stall
  counts. Its recorded errors are kept. An expired job (never started) gets
  a fresh expiry; a job that has started has none.

  Input:
    KEYS[1] failed   KEYS[2] expired   KEYS[3] counts   KEYS[4] events
    KEYS[5] id counter
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id
  Output: 1 re-queued; -1 missing; -3 not failed or expired
  Events: waiting
]]
-- @include base
local base, maxEvents, id = ARGV[1], ARGV[2], ARGV[3]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.priority, F.state, F.expireAfterMs, F.version, F.flowKey)
if not f[1] then return -1 end
local from
if f[3] == 'f' and redis.call('ZREM', KEYS[1], id) == 1 then from = 'f'
elseif f[3] == 'x' and redis.call('ZREM', KEYS[2], id) == 1 then from = 'x'
else return -3 end
redis.call('ZREM', typeFinishedKey(base, from, f[1]), id)
local seq = redis.call('INCR', KEYS[5])
redis.call('HSET', jk, F.state, 'w', F.sequence, seq, F.attemptsMade, 0, F.stalls, 0)
redis.call('HDEL', jk, F.finishedAt, F.expiresAt, F.result)
local ea = num(f[4], nil)
if ea then redis.call('HSET', jk, F.expiresAt, nowMs() + ea) end
pushWait(base, id, f[1], f[5], waitScore(f[2], seq), f[6])
moveCount(KEYS[3], f[1], from, 'w')
emit(KEYS[4], maxEvents, 'waiting', id, f[1], 'retried', '1')
return 1
