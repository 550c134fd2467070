#!lua
--[[
  Hands back an active job that was written by a newer contract version
  than the worker holding it knows. Nothing about the job's attempts,
  stalls or errors changes: it moves to delayed for a short while, so that
  a worker that knows its version (or this one, after a deploy) takes it,
  and its deferral count grows.

  Input:
    KEYS[1] active   KEYS[2] delayed   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id   ARGV[4] token
    ARGV[5] delay ms   ARGV[6] the newest version the worker knows
  Output: 1 deferred; 3 cancelled (a cancel was requested:
    includes/cancel.lua); -1 missing; -2 lease lost
  Events: delayed (fields due, why = newer-version, known) | cancelled
]]
-- @include base
-- @include cancel
local base, maxEvents, id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.token, F.state, F.version, F.cancelRequested, F.flowKey)
if not f[1] then return -1 end
if f[2] ~= token or f[3] ~= 'a' then return -2 end
if cancelIfRequested(base, KEYS[1], KEYS[3], KEYS[4], maxEvents, id, f[1], f[5]) then return 3 end
local due = nowMs() + tonumber(ARGV[5])
redis.call('ZREM', KEYS[1], id)
if f[6] then releaseSlot(base, f[1], f[6], id) end
-- F.unstarted too: a prefetched job that never started must not be re-queued by
-- the stall check while it waits in delayed.
redis.call('HDEL', jk, F.token, F.unstarted)
redis.call('HSET', jk, F.state, 'd')
redis.call('HINCRBY', jk, F.newerVersionDeferrals, 1)
redis.call('ZADD', KEYS[2], due, id)
moveCount(KEYS[3], f[1], 'a', 'd')
emit(KEYS[4], maxEvents, 'delayed', id, f[1], 'due', due, 'why', 'newer-version', 'known', ARGV[6])
-- Wake a blocked worker of the job's lane so it re-reads the next due time;
-- promotion then moves the job to that lane, which this worker never reads.
wakeLane(base, f[1], f[4])
return 1
