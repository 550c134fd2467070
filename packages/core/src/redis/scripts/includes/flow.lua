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

-- Brings `key` of type `name`, parked at its concurrency limit, back into
-- the ring of each lane where it has waiting jobs, and arms that lane's
-- marker so a blocked worker takes it. `lanes` is its gp:<type> entry.
local function unparkKey(base, name, key, lanes)
  redis.call('HDEL', base .. 'gp:' .. name, key)
  for l in string.gmatch(lanes, '[^,]+') do
    if redis.call('ZCARD', base .. 'g:' .. l .. ':' .. key) > 0 then
      local ring = base .. 'gr:' .. l
      redis.call('ZADD', ring, 'NX', ringTail(ring), key)
      redis.call('ZADD', base .. 'm:' .. l, '0', '0')
    end
  end
end

-- Gives back the slot job `id` held on `key` of type `name` (it ended or
-- went back to waiting); a parked key is unparked.
local function releaseSlot(base, name, key, id)
  redis.call('ZREM', base .. 'ga:' .. name .. ':' .. key, id)
  local lanes = redis.call('HGET', base .. 'gp:' .. name, key)
  if lanes then unparkKey(base, name, key, lanes) end
end

-- The slots of `ga` (a ga:<type>:<key> zset) whose job is no longer in
-- `active`: dropped, and counted. One ZMSCORE for all of them.
local function dropStaleSlots(ga, activeKey)
  local ids = redis.call('ZRANGE', ga, 0, -1)
  if #ids == 0 then return 0 end
  local scores = redis.call('ZMSCORE', activeKey, unpack(ids))
  local stale = {}
  for i, id in ipairs(ids) do
    if not scores[i] then stale[#stale + 1] = id end
  end
  if #stale > 0 then redis.call('ZREM', ga, unpack(stale)) end
  return #stale
end

-- Parked keys looked at per type and stall check, at most.
local HEAL_PARKED_PER_CHECK = 20

-- Safety net, run by the stall check: a release that never ran (a job hash
-- deleted by hand while active) would leave its key parked for ever, out
-- of the ring where a lease would heal it. So a few parked keys per type
-- are checked; one whose slots were stale (or that holds none) is
-- unparked; a lease parks it again if it is still full. Costs one
-- HRANDFIELD per type when nothing is parked.
local function healParked(base, activeKey, typesKey)
  for _, name in ipairs(redis.call('SMEMBERS', typesKey)) do
    local gp = base .. 'gp:' .. name
    for _, key in ipairs(redis.call('HRANDFIELD', gp, HEAL_PARKED_PER_CHECK)) do
      local ga = base .. 'ga:' .. name .. ':' .. key
      if dropStaleSlots(ga, activeKey) > 0 or redis.call('EXISTS', ga) == 0 then
        unparkKey(base, name, key, redis.call('HGET', gp, key))
      end
    end
  end
end
