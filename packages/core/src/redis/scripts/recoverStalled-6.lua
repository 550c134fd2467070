#!lua
--[[
  Finds active jobs whose lease deadline has passed (their worker died or
  froze) and puts them back to waiting at the tail of their priority, or
  fails them with STALL_LIMIT after more than `maxStalls` stalls, so a job
  that kills its worker cannot loop forever. At most one run per interval
  across all workers, guarded by a lock key.

  Input:
    KEYS[1] active   KEYS[2] failed   KEYS[3] counts   KEYS[4] events
    KEYS[5] stall lock   KEYS[6] id counter
    ARGV[1] key base   ARGV[2] max events   ARGV[3] max stalls
    ARGV[4] lock ms (the check interval)
  Output: { number re-queued, number failed } or {} when another worker
          holds the lock
  Events: stalled | failed (err code STALL_LIMIT)
]]
-- @include base
local base, maxEvents, maxStalls = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not redis.call('SET', KEYS[5], '1', 'PX', ARGV[4], 'NX') then return {} end
local now = nowMs()
local requeued, failed = 0, 0
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local jk = base .. 'j:' .. id
  local f = redis.call('HMGET', jk, 'n', 'p', 'o')
  redis.call('ZREM', KEYS[1], id)
  if f[1] then
    redis.call('HDEL', jk, 'tk')
    local stalls = redis.call('HINCRBY', jk, 'sc', 1)
    if stalls > maxStalls then
      local err = cjson.encode({ code = 'STALL_LIMIT', name = 'JobwireError', at = now,
        message = 'job stalled ' .. stalls .. ' times (its worker died or froze); maxStalls is ' .. maxStalls })
      appendError(jk, err)
      redis.call('HSET', jk, 's', 'f', 'f', now)
      addFinished(base, KEYS[2], 'f', f[1], now, id)
      moveCount(KEYS[3], f[1], 'a', 'f')
      emit(KEYS[4], maxEvents, 'failed', id, f[1], 'err', err)
      local keep = cjson.decode(f[3]).kf
      trimFinished(base, KEYS[2], KEYS[3], 'f', f[1], keep[1], keep[2], now, 1)
      failed = failed + 1
    else
      local seq = redis.call('INCR', KEYS[6])
      redis.call('HSET', jk, 's', 'w', 'sq', seq)
      pushWait(base, id, f[1], waitScore(f[2], seq))
      moveCount(KEYS[3], f[1], 'a', 'w')
      emit(KEYS[4], maxEvents, 'stalled', id, f[1], 'sc', stalls)
      requeued = requeued + 1
    end
  end
end
return { requeued, failed }
