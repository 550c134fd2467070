-- Flow control: the per-key groups of keyed job types (per-key concurrency
-- and per-key rate limits), shared by every script that queues, removes or
-- ends a keyed job. Included by base.lua, so pushWait can route keyed jobs;
-- it needs nothing from base. The lease side (round robin, rate windows)
-- is in includes/flowlease.lua. Layout (docs/keyed-concurrency.md), all
-- under `base`, where a lane never contains ':':
--   g:<lane>:<key>   zset  waiting jobs of one key, score = the wait score
--   gr:<lane>        zset  the ring: keys with waiting jobs that may be
--                          eligible; lowest score = next turn
--   gd:<lane>        zset  keys held back by their rate limit, score = the
--                          ms their window frees
--   gp:<type>        hash  key -> comma-separated lanes where it is parked
--                          at its concurrency limit
--   ga:<type>:<key>  zset  active job ids holding a slot of the key
-- A keyed job (F.flowKey set) waits in BOTH w:<lane> and g:<lane>:<key>.
-- Invariant: a non-empty group's key is in the ring, in gd or parked.

-- The score that puts a key at the back of a ring: one past its tail.
local function ringTail(ring)
  local t = redis.call('ZRANGE', ring, -1, -1, 'WITHSCORES')
  return t[2] and tonumber(t[2]) + 1 or 1
end

-- Puts waiting job `id` of `key` into its group in `lane`. A group that was
-- empty puts its key at the back of the ring (NX: a key already there keeps
-- its turn); a group that had jobs already has its key in the ring, in
-- gd:<lane> or parked, each of which brings it back in its time.
local function groupPush(base, lane, key, id, score)
  local gk = base .. 'g:' .. lane .. ':' .. key
  redis.call('ZADD', gk, score, id)
  if redis.call('ZCARD', gk) == 1 then
    local ring = base .. 'gr:' .. lane
    redis.call('ZADD', ring, 'NX', ringTail(ring), key)
  end
end

-- Takes waiting job `id` out of its group. An emptied group's key stays in
-- the ring until a lease meets it and drops it (one call here, not two).
local function groupRemove(base, lane, key, id)
  redis.call('ZREM', base .. 'g:' .. lane .. ':' .. key, id)
end

-- Gives back the slot job `id` held on `key` of type `name` (it ended or
-- went back to waiting). A key parked at its concurrency limit comes back
-- into the ring of each lane where it has waiting jobs, whose marker is
-- armed so a blocked worker takes it.
local function releaseSlot(base, name, key, id)
  redis.call('ZREM', base .. 'ga:' .. name .. ':' .. key, id)
  local gp = base .. 'gp:' .. name
  local lanes = redis.call('HGET', gp, key)
  if not lanes then return end
  redis.call('HDEL', gp, key)
  for l in string.gmatch(lanes, '[^,]+') do
    if redis.call('ZCARD', base .. 'g:' .. l .. ':' .. key) > 0 then
      local ring = base .. 'gr:' .. l
      redis.call('ZADD', ring, 'NX', ringTail(ring), key)
      redis.call('ZADD', base .. 'm:' .. l, 0, '0')
    end
  end
end
