-- Per-key queues of keyed jobs (types with per-key concurrency or a per-key
-- rate limit), see docs/flow-control.md. Needs `-- @include base` first.
-- A keyed waiting job is in its lane's wait zset AND in its key's group
-- <base>g:<lane>:<key> (same score); the ring <base>gr:<lane> holds the
-- keys with waiting jobs, lowest score = next turn.
--
-- NOTE: written by the enqueue helper with groupPush only, so that
-- enqueue could be built in parallel; the lease helper owns this file and
-- its version (groupRemove, releaseSlot, ...) replaces this one.

-- Adds job `id` (wait score `score`) to its key's group, and the key to
-- the lane's ring when it is not there: at the back (the ring's highest
-- turn + 1), so a new key waits for the keys already taking turns.
local function groupPush(base, lane, key, id, score)
  redis.call('ZADD', base .. 'g:' .. lane .. ':' .. key, score, id)
  local ring = base .. 'gr:' .. lane
  if redis.call('ZSCORE', ring, key) then return end
  local last = redis.call('ZRANGE', ring, -1, -1, 'WITHSCORES')
  redis.call('ZADD', ring, 'NX', (tonumber(last[2]) or 0) + 1, key)
end
