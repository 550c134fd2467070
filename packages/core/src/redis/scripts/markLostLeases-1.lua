#!lua
--[[
  Records that a worker never got the reply of one of its leasing calls
  (moveToActive, or complete with leasing): the call may have run, and the
  jobs it leased wait for their lease to lapse without their handlers ever
  starting. The stall check then re-queues them without counting a stall.

  Input:
    KEYS[1] lost leases
    ARGV[1] lease token prefix of the call   ARGV[2] how long to keep it (ms)
  Output: 1
  Events: none
]]
-- @include base
local now = nowMs()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1
