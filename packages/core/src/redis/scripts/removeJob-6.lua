#!lua
--[[
  Removes a job that is not active, with its log, from whatever state it is
  in. Active jobs are refused: their worker still holds a lease. Removing a
  repeat's pending occurrence skips that slot: the next one is scheduled.

  Input:
    KEYS[1] delayed   KEYS[2] completed   KEYS[3] failed   KEYS[4] expired
    KEYS[5] counts    KEYS[6] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id
  Output: 1 removed; -1 missing; -3 active
  Events: removed, delayed (the next occurrence of a repeat)
]]
-- @include base
-- @include repeat
local base, maxEvents, id = ARGV[1], ARGV[2], ARGV[3]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.state, F.repeatKey, F.version, F.flowKey)
if not f[1] then return -1 end
local sets = { d = KEYS[1], c = KEYS[2], f = KEYS[3], x = KEYS[4] }
sets.k = base .. 'cancelled'
local setKey = sets[f[2]]
if f[2] == 'w' then
  removeWaiting(base, KEYS[5], id, f[1], f[4], f[5])
elseif setKey == nil then
  return -3
else
  removeJob(base, setKey, KEYS[5], f[2], id)
end
if f[2] == 'w' or f[2] == 'd' then advanceRepeat(base, f[3], id, nowMs()) end
emit(KEYS[6], maxEvents, 'removed', id, f[1])
return 1
