#!lua
--[[
  Renews the leases of a worker's active jobs in one call.

  Input:
    KEYS[1] active
    ARGV[1] key base   ARGV[2] lease ms   then triples: job id, lease token,
      '1' if the job is a prefetched one whose handler has started (its
      unstarted mark is cleared) else '0'
  Output: { lost, cancelling }: the tokens whose lease was lost (token
    changed or job not active), and pairs of token and reason ('' = none)
    of the renewed jobs whose cancel was requested (cancel.lua): the
    worker aborts their handlers. The lease is still renewed, so the
    outcome the aborted run writes ends the job as cancelled.
  Events: none
]]
-- @include base
local base, leaseMs = ARGV[1], tonumber(ARGV[2])
local deadline = nowMs() + leaseMs
local lost, cancelling = {}, {}
for i = 3, #ARGV, 3 do
  local id, token = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', base .. 'j:' .. id, F.token, F.cancelRequested, F.cancelReason)
  if f[1] == token and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
    if ARGV[i + 2] == '1' then redis.call('HDEL', base .. 'j:' .. id, F.unstarted) end
    if f[2] then
      cancelling[#cancelling + 1] = token
      cancelling[#cancelling + 1] = f[3] or ''
    end
  else
    lost[#lost + 1] = token
  end
end
return { lost, cancelling }
