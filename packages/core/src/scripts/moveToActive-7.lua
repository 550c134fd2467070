#!lua
--[[
  Promotes due delayed jobs, then leases up to N waiting jobs of the given
  types, best priority first and FIFO within a priority. Jobs past their
  expiry are moved to `expired` instead.

  Input:
    KEYS[1] id counter   KEYS[2] delayed   KEYS[3] active   KEYS[4] counts
    KEYS[5] events       KEYS[6] meta      KEYS[7] expired
    ARGV[1] key base   ARGV[2] max events   ARGV[3] lease ms
    ARGV[4] worker token prefix   ARGV[5] max jobs
    ARGV[6] number of types, then pairs: type name, max jobs of that type
  Output: { paused (0|1), next delayed due ms (-1 = none), now ms, count,
            then 11 fields per job: id, type, data, options, attempts made,
            lease token, stall count, created ms, version, progress,
            contract fingerprint }
  Events: waiting (promoted), active, expired
]]
-- @include base
local base, maxEvents, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = nowMs()

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  local jk = base .. 'j:' .. id
  local f = redis.call('HMGET', jk, 'n', 'p', 'ea')
  redis.call('ZREM', KEYS[2], id)
  if f[1] then
    local seq = redis.call('INCR', KEYS[1])
    redis.call('HSET', jk, 's', 'w', 'sq', seq)
    if f[3] then redis.call('HSET', jk, 'x', now + tonumber(f[3])) end
    pushWait(base, id, f[1], waitScore(f[2], seq))
    moveCount(KEYS[4], f[1], 'd', 'w')
    emit(KEYS[5], maxEvents, 'waiting', id, f[1])
  end
end

local nextDue = -1
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if head[2] then nextDue = tonumber(head[2]) end

if redis.call('HGET', KEYS[6], 'paused') == '1' then
  return { 1, nextDue, now, 0 }
end

local types, quota = {}, {}
for i = 0, tonumber(ARGV[6]) - 1 do
  types[#types + 1] = ARGV[7 + i * 2]
  quota[#types] = tonumber(ARGV[8 + i * 2])
end

local out = { 0, nextDue, now, 0 }
local left = tonumber(ARGV[5])
while left > 0 do
  local best, bestScore, bestId
  for i, t in ipairs(types) do
    if quota[i] > 0 then
      local h = redis.call('ZRANGE', base .. 'w:' .. t, 0, 0, 'WITHSCORES')
      if h[1] and (best == nil or tonumber(h[2]) < bestScore) then
        best, bestScore, bestId = i, tonumber(h[2]), h[1]
      end
    end
  end
  if best == nil then break end
  local name = types[best]
  redis.call('ZREM', base .. 'w:' .. name, bestId)
  local jk = base .. 'j:' .. bestId
  local f = redis.call('HMGET', jk, 'd', 'o', 'a', 'sc', 't', 'v', 'pg', 'x', 'fp')
  if f[1] == false then
    -- The hash is gone (removed by hand): drop the dangling index entry.
    moveCount(KEYS[4], name, 'w', '')
  elseif f[8] and tonumber(f[8]) <= now then
    redis.call('HSET', jk, 's', 'x', 'f', now)
    redis.call('ZADD', KEYS[7], now, bestId)
    moveCount(KEYS[4], name, 'w', 'x')
    emit(KEYS[5], maxEvents, 'expired', bestId, name)
  else
    local token = ARGV[4] .. ':' .. redis.call('HINCRBY', jk, 'dl', 1)
    redis.call('HSET', jk, 's', 'a', 'tk', token, 'ps', now)
    redis.call('ZADD', KEYS[3], now + leaseMs, bestId)
    moveCount(KEYS[4], name, 'w', 'a')
    emit(KEYS[5], maxEvents, 'active', bestId, name)
    local o = out
    o[#o + 1] = bestId; o[#o + 1] = name; o[#o + 1] = f[1]; o[#o + 1] = f[2]
    o[#o + 1] = f[3] or '0'; o[#o + 1] = token; o[#o + 1] = f[4] or '0'
    o[#o + 1] = f[5] or '0'; o[#o + 1] = f[6] or '1'; o[#o + 1] = f[7] or ''
    o[#o + 1] = f[9] or ''
    out[4] = out[4] + 1
    quota[best] = quota[best] - 1
    left = left - 1
  end
end

-- Jobs left behind need another worker: re-arm their markers.
for _, t in ipairs(types) do
  if redis.call('ZCARD', base .. 'w:' .. t) > 0 then
    redis.call('ZADD', base .. 'm:' .. t, 0, '0')
  end
end
return out
