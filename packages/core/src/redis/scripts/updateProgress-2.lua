#!lua
--[[
  Stores a job's latest progress and publishes it, if the caller holds the
  lease.

  Input:
    KEYS[1] job hash   KEYS[2] events
    ARGV[1] max events   ARGV[2] job id   ARGV[3] token   ARGV[4] progress JSON
  Output: 1 stored; -1 missing; -2 lease lost
  Events: progress (field pg)
]]
-- @include base
local f = redis.call('HMGET', KEYS[1], F.name, F.token)
if not f[1] then return -1 end
if f[2] ~= ARGV[3] then return -2 end
redis.call('HSET', KEYS[1], F.progress, ARGV[4])
emit(KEYS[2], ARGV[1], 'progress', ARGV[2], f[1], 'pg', ARGV[4])
return 1
