#!lua
--[[
  Appends a line to a job's log, if the caller holds the lease, keeping the
  newest lines only.

  Input:
    KEYS[1] job hash   KEYS[2] job log list
    ARGV[1] token   ARGV[2] line   ARGV[3] max lines
  Output: 1 stored; -1 missing; -2 lease lost
  Events: none
]]
local tk = redis.call('HGET', KEYS[1], F.token)
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if tk ~= ARGV[1] then return -2 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
return 1
