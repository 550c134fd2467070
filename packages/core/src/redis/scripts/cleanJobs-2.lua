#!lua
--[[
  Removes up to `limit` finished jobs of one state that finished before a
  cutoff.

  Input:
    KEYS[1] the state's zset (completed, failed or expired)   KEYS[2] counts
    ARGV[1] key base   ARGV[2] state letter   ARGV[3] older than ms   ARGV[4] limit
  Output: the removed ids
  Events: none
]]
-- @include base
local base = ARGV[1]
local cutoff = nowMs() - tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do removeJob(base, KEYS[1], KEYS[2], ARGV[2], id) end
return ids
