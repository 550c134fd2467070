#!lua
--[[
  Adds jobs: to their type's wait zset, or to `delayed` when they have a delay.
  A job with a caller-chosen id that already exists is left untouched.

  Input:
    KEYS[1] id counter       KEYS[2] delayed zset    KEYS[3] counts hash
    KEYS[4] events stream    KEYS[5] types set       KEYS[6] repeats hash
    ARGV[1] key base `<prefix>:{<queue>}:`   ARGV[2] max events
    ARGV[3] number of jobs, then 11 fields per job:
      custom id ('' = generate), type name, data JSON, priority, delay ms,
      options JSON, expire-after ms (0 = never), contract version,
      repeat key ('' = none), repeat spec JSON ('' = the repeat must exist),
      contract fingerprint
  Output: per job, two entries: id and status
     1 created, 0 duplicate (existing id returned), -4 repeat was removed
  Events: waiting | delayed
]]
-- @include base
local base, maxEvents = ARGV[1], ARGV[2]
local now = nowMs()
local out = {}
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local a = 4 + i * 11
  local customId, name, data, prio, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  local opts, expireAfter, version = ARGV[a + 5], tonumber(ARGV[a + 6]), ARGV[a + 7]
  local repeatKey, repeatSpec, fingerprint = ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
  local status = 1
  if customId ~= '' and redis.call('EXISTS', base .. 'j:' .. customId) == 1 then
    status = 0
  elseif repeatKey ~= '' and repeatSpec == '' and redis.call('HEXISTS', KEYS[6], repeatKey) == 0 then
    status = -4
  end
  local id = customId
  if status == 1 then
    local seq = redis.call('INCR', KEYS[1])
    if id == '' then id = tostring(seq) end
    local jk = base .. 'j:' .. id
    redis.call('HSET', jk, 'n', name, 'd', data, 'p', prio, 'sq', seq, 'o', opts,
      't', now, 'v', version, 'a', 0, 'fp', fingerprint)
    if expireAfter > 0 then redis.call('HSET', jk, 'ea', expireAfter) end
    if repeatKey ~= '' then
      if repeatSpec ~= '' then redis.call('HSET', KEYS[6], repeatKey, repeatSpec) end
      redis.call('HSET', KEYS[6], repeatKey .. ':next', id)
    end
    redis.call('SADD', KEYS[5], name)
    if delay > 0 then
      redis.call('HSET', jk, 's', 'd')
      redis.call('ZADD', KEYS[2], now + delay, id)
      moveCount(KEYS[3], name, '', 'd')
      emit(KEYS[4], maxEvents, 'delayed', id, name, 'due', now + delay)
      -- Wake a blocked worker so it re-reads the next due time.
      redis.call('ZADD', base .. 'm:' .. name, 0, '0')
    else
      redis.call('HSET', jk, 's', 'w')
      if expireAfter > 0 then redis.call('HSET', jk, 'x', now + expireAfter) end
      pushWait(base, id, name, waitScore(prio, seq))
      moveCount(KEYS[3], name, '', 'w')
      emit(KEYS[4], maxEvents, 'waiting', id, name)
    end
  end
  out[#out + 1] = id
  out[#out + 1] = status
end
return out
