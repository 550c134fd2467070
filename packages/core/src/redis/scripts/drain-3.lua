#!lua
--[[
  Removes up to `limit` waiting jobs (and delayed ones when asked) in one
  call; the caller repeats until it returns 0, so Redis is never blocked
  for long.

  Input:
    KEYS[1] delayed   KEYS[2] counts   KEYS[3] types set
    ARGV[1] key base   ARGV[2] limit   ARGV[3] '1' to include delayed jobs
  Output: the number of jobs removed
  Events: none
]]
-- @include base
local base, left = ARGV[1], tonumber(ARGV[2])
local removed = 0
for _, t in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local key = base .. 'w:' .. t
  for _, id in ipairs(redis.call('ZRANGE', key, 0, left - removed - 1)) do
    removeJob(base, key, KEYS[2], 'w', id)
    removed = removed + 1
  end
  if removed >= left then return removed end
end
if ARGV[3] == '1' then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, left - removed - 1)) do
    removeJob(base, KEYS[1], KEYS[2], 'd', id)
    removed = removed + 1
  end
end
return removed
