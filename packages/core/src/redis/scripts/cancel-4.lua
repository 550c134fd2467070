#!lua
--[[
  Cancels a job. A waiting or delayed job ends as cancelled at once. An
  active job is only marked (F.cancelRequested): its worker learns it from
  its next lease renewal and aborts the handler's signal, and the outcome
  written next under the lease (complete, fail, release, deferNewer, or a
  stall) ends it as cancelled (includes/cancel.lua). A finished job is
  refused. Cancelling a repeat's pending occurrence skips that slot: the
  next one is scheduled, as a remove does.

  Input:
    KEYS[1] delayed   KEYS[2] cancelled   KEYS[3] counts   KEYS[4] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] job id
    ARGV[4] reason ('' = none)
  Output: { code, state letter }: 1 cancelled; 2 requested (active); 3
    already requested (active); -1 missing; -3 finished (the letter says
    which state)
  Events: cancelled (fields reason, from = the state letter it left),
    delayed (the next occurrence of a repeat)
]]
-- @include base
-- @include repeat
-- @include cancel
local base, maxEvents, id, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = base .. 'j:' .. id
local f = redis.call('HMGET', jk, F.name, F.state, F.version, F.repeatKey, F.cancelRequested)
if not f[1] then return { -1, '' } end
local state = f[2] or ''
if state == 'a' then
  if f[5] then return { 3, state } end
  redis.call('HSET', jk, F.cancelRequested, nowMs())
  if reason ~= '' then redis.call('HSET', jk, F.cancelReason, reason) end
  return { 2, state }
end
local removed = 0
if state == 'w' then
  -- The job's version lane; a job stored before lanes existed waits in
  -- the type's first lane whatever its version.
  removed = redis.call('ZREM', base .. 'w:' .. lane(f[1], f[3]), id)
  if removed == 0 then removed = redis.call('ZREM', base .. 'w:' .. f[1], id) end
elseif state == 'd' then
  removed = redis.call('ZREM', KEYS[1], id)
end
-- Finished, or a hash no state structure holds (hand-written): refused.
if removed == 0 then return { -3, state } end
if reason ~= '' then redis.call('HSET', jk, F.cancelReason, reason) end
local now = nowMs()
finishCancelled(base, jk, id, f[1], state, KEYS[3], KEYS[4], maxEvents, now)
advanceRepeat(base, f[4], id, now)
return { 1, state }
