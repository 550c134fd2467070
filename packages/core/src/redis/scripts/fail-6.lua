#!lua
--[[
  Records a failed attempt of an active job, if the caller still holds its
  lease. It either schedules a retry (into `delayed`, or straight back to
  waiting at the tail when the delay is 0) or fails the job for good.

  Input:
    KEYS[1] active   KEYS[2] failed   KEYS[3] delayed   KEYS[4] counts
    KEYS[5] events   KEYS[6] id counter
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id   ARGV[4] token
    ARGV[5] error JSON   ARGV[6] retry delay ms (-1 = no retry)
    ARGV[7] keep count (-1 all)   ARGV[8] keep age ms (0 any): the rule
      applies to the failed jobs of this job's type only
  Output: 1 retry scheduled; 2 failed for good; 3 cancelled (a cancel was
    requested: includes/cancel.lua); -1 missing; -2 lease lost
  Events: retrying (field due) | failed (field err) | cancelled
]]
-- @include base
-- @include cancel
local base, maxEvents, id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local errJson, retry = ARGV[5], tonumber(ARGV[6])
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.token, F.state, F.priority, F.attemptsMade,
  F.version, F.cancelRequested, F.flowKey)
if not f[1] then return -1 end
if f[2] ~= token or f[3] ~= 'a' then return -2 end
if cancelIfRequested(base, KEYS[1], KEYS[4], KEYS[5], maxEvents, id, f[1], f[7]) then return 3 end
local now = nowMs()
redis.call('ZREM', KEYS[1], id)
if f[8] then releaseSlot(base, f[1], f[8], id) end
redis.call('HDEL', jk, F.token)
redis.call('HSET', jk, F.attemptsMade, num(f[5], 0) + 1)
appendError(jk, errJson)
if retry > 0 then
  redis.call('HSET', jk, F.state, 'd')
  redis.call('ZADD', KEYS[3], now + retry, id)
  moveCount(KEYS[4], f[1], 'a', 'd')
  emit(KEYS[5], maxEvents, 'retrying', id, f[1], 'due', now + retry, 'err', errJson)
  -- Wake a blocked worker so it re-reads the next due time.
  wakeLane(base, f[1], f[6])
  return 1
elseif retry == 0 then
  local seq = redis.call('INCR', KEYS[6])
  redis.call('HSET', jk, F.state, 'w', F.sequence, seq)
  pushWait(base, id, f[1], f[6], waitScore(f[4], seq), f[8])
  moveCount(KEYS[4], f[1], 'a', 'w')
  emit(KEYS[5], maxEvents, 'retrying', id, f[1], 'due', now, 'err', errJson)
  return 1
end
redis.call('HSET', jk, F.state, 'f', F.finishedAt, now)
moveCount(KEYS[4], f[1], 'a', 'f')
emit(KEYS[5], maxEvents, 'failed', id, f[1], 'err', errJson)
if tonumber(ARGV[7]) == 0 then
  removeJob(base, KEYS[2], KEYS[4], 'f', id)
else
  addFinished(base, KEYS[2], 'f', f[1], now, id, ARGV[7], ARGV[8])
  trimFinished(base, KEYS[2], KEYS[4], 'f', f[1], ARGV[7], ARGV[8], now, 1)
end
return 2
