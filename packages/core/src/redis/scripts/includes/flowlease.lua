-- The lease side of flow control (docs/rate-limits.md,
-- docs/keyed-concurrency.md), used by includes/lease.lua: rate windows,
-- and the round robin over the keys of a keyed lane. Needs base (and so
-- flow.lua) before it. Extra keys, under `base`:
--   rl:<type>        zset  type-wide window log: lease token -> start ms
--   rk:<type>:<key>  zset  per-key window log
-- A "start" is a lease (a prefetched job counts from its lease).
-- Every count is read once per call and kept up to date in `ctx`, so a
-- key costs one ZCARD per call, not one per job.

-- Keys a call visits in the rings of keyed lanes, at most: a call always
-- ends soon, and a long ring is worked off over several calls.
local MAX_TURNS_PER_CALL = 1000

-- The earlier of two due times in ms, -1 meaning none.
local function earlier(a, b)
  if a < 0 then return b end
  if b < 0 then return a end
  return math.min(a, b)
end

-- A type's flow rules from a leasing call's arguments at `a`: keyed (0|1),
-- per-key concurrency limit, rate limit, rate window ms (0 = none), rate
-- per key (0|1). nil when the type has none, so an unlimited type costs
-- nothing anywhere.
local function flowRules(argv, a)
  local keyed, conc = argv[a] == '1', tonumber(argv[a + 1]) or 0
  local limit, perMs = tonumber(argv[a + 2]) or 0, tonumber(argv[a + 3]) or 0
  if perMs <= 0 then limit = 0 end
  if not keyed and limit == 0 then return nil end
  local perKey = keyed and limit > 0 and argv[a + 4] == '1'
  return { keyed = keyed, conc = conc, limit = limit, perMs = perMs, perKey = perKey,
    typeWide = limit > 0 and not perKey }
end

-- Sliding window log: drops starts older than the window, counts the rest.
-- A start at t counts while now - perMs < t, so at most `limit` starts
-- fall in any window of perMs.
local function rateWindow(key, perMs, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - perMs)
  return redis.call('ZCARD', key)
end

-- The ms a full window frees a slot: when its oldest start leaves it (now
-- when the only starts are this call's, not yet written).
local function windowFrees(key, perMs, now)
  local o = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return (tonumber(o[2]) or now) + perMs
end

-- Where the next start of a window log goes: one spacing (perMs / limit)
-- after its newest entry, and not before now. Starts taken at once get
-- scores a spacing apart, some in the future, so once a burst has filled
-- the window the log frees one slot per spacing, not the whole burst again
-- perMs later: a worker whose handlers start a little late cannot then
-- push two bursts into one window of handler starts.
local function pacedFrom(key, r, now)
  local newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  if not newest then return now end
  return math.max(now, newest + r.perMs / r.limit)
end

-- The score of the next start in a log, advancing its pace.
local function pacedScore(pace, k, r, now)
  local v = pace[k] or now
  pace[k] = v + r.perMs / r.limit
  return string.format('%.3f', v)
end

-- Caps the quota of each type with a type-wide rate limit at the starts
-- its window has left. Returns the window counts by type index.
local function capByRate(base, types, quota, rules, now, ctx)
  local counts = {}
  for i, r in pairs(rules) do
    if r.typeWide then
      counts[i] = rateWindow(base .. 'rl:' .. types[i], r.perMs, now)
      if counts[i] < r.limit then ctx.pace[i] = pacedFrom(base .. 'rl:' .. types[i], r, now) end
      quota[i] = math.max(0, math.min(quota[i], r.limit - counts[i]))
    end
  end
  return counts
end

-- Whether `key` of type `name` holds `limit` slots. Read once per call;
-- when it looks full, members no longer in `active` are dropped first
-- (a release that never ran, e.g. a hash deleted by hand), so a stale
-- member can never wedge the key. (A key's first check in a call comes
-- before this call takes any job of it, so no member is this call's.)
local function keyFull(base, activeKey, name, key, limit, ctx)
  local tk = name .. ':' .. key
  local n = ctx.held[tk]
  if n == nil then
    local ga = base .. 'ga:' .. tk
    n = redis.call('ZCARD', ga)
    if n >= limit then n = n - dropStaleSlots(ga, activeKey) end
    ctx.held[tk] = n
  end
  return n >= limit
end

-- Parks `key` at its concurrency limit: recorded with lane `l` in
-- gp:<type>; releaseSlot brings it back into the ring.
local function parkKey(base, name, key, l)
  local gp = base .. 'gp:' .. name
  local lanes = redis.call('HGET', gp, key)
  if not lanes then
    redis.call('HSET', gp, key, l)
  elseif not string.find(',' .. lanes .. ',', ',' .. l .. ',', 1, true) then
    redis.call('HSET', gp, key, lanes .. ',' .. l)
  end
end

-- When `key` is over its rate limit: the ms its window frees, else nil.
local function keyRateFull(base, name, key, r, now, ctx)
  local tk = name .. ':' .. key
  local n = ctx.rate[tk]
  if n == nil then
    n = rateWindow(base .. 'rk:' .. tk, r.perMs, now)
    ctx.rate[tk] = n
    if n < r.limit then ctx.pace[tk] = pacedFrom(base .. 'rk:' .. tk, r, now) end
  end
  if n < r.limit then return nil end
  return windowFrees(base .. 'rk:' .. tk, r.perMs, now)
end

-- Moves the keys of lane `l` whose rate window has freed back into its ring.
local function promoteKeys(base, l, now)
  local gd = base .. 'gd:' .. l
  local keys = redis.call('ZRANGEBYSCORE', gd, '-inf', now, 'LIMIT', 0, 1000)
  if #keys == 0 then return end
  local ring = base .. 'gr:' .. l
  local tail, add = ringTail(ring), {}
  for i, key in ipairs(keys) do
    add[#add + 1] = tail + i
    add[#add + 1] = key
  end
  redis.call('ZADD', ring, 'NX', unpack(add))
  redis.call('ZREM', gd, unpack(keys))
end

-- Jobs of a keyed lane stored without a key (before the type had one, or
-- by a producer that does not know it) are in no group. Once the ring is
-- empty, the head of w:<lane> is searched for them, a few per call, so
-- they still run (without per-key limits: they have no key). A dangling id
-- (hash gone) is picked too: the lease drops it.
local MAX_UNKEYED_LOOKS = 20
local function takeUnkeyed(base, l, ti, left, picked)
  local wk, took = base .. 'w:' .. l, {}
  for _, id in ipairs(redis.call('ZRANGE', wk, 0, math.min(left, MAX_UNKEYED_LOOKS) - 1)) do
    if not redis.call('HGET', base .. 'j:' .. id, F.flowKey) then
      took[#took + 1] = id
      picked[#picked + 1] = { id, ti, false }
    end
  end
  if #took > 0 then redis.call('ZREM', wk, unpack(took)) end
  return #took
end

-- Round robin over the ring of keyed lane `l` (type index ti, rules r):
-- each turn takes ONE job (best priority, then FIFO) of the head key and
-- moves the key to the back; a key at its concurrency limit is parked and
-- one over its rate limit waits in gd:<lane>, both out of the ring, and a
-- key with no job left leaves it. Appends up to `left` picks { id, ti, key }
-- to `picked`; returns how many. The job leaves w:<lane> and its group
-- here; a group entry whose job is no longer waiting is dropped.
local function takeKeyed(base, activeKey, l, ti, name, r, left, now, ctx, picked)
  local ring, wk, took, tail = base .. 'gr:' .. l, base .. 'w:' .. l, 0, nil
  while took < left and ctx.turns < MAX_TURNS_PER_CALL do
    local keys = redis.call('ZRANGE', ring, 0, math.min(left - took, MAX_TURNS_PER_CALL) - 1)
    if #keys == 0 then return took + takeUnkeyed(base, l, ti, left - took, picked) end
    tail = tail or ringTail(ring)
    local back, out = {}, {}
    for _, key in ipairs(keys) do
      ctx.turns = ctx.turns + 1
      local tk = name .. ':' .. key
      local frees = r.perKey and keyRateFull(base, name, key, r, now, ctx)
      if r.conc > 0 and keyFull(base, activeKey, name, key, r.conc, ctx) then
        parkKey(base, name, key, l)
        out[#out + 1] = key
      elseif frees then
        redis.call('ZADD', base .. 'gd:' .. l, frees, key)
        out[#out + 1] = key
      else
        local gk = base .. 'g:' .. l .. ':' .. key
        local ids = redis.call('ZRANGE', gk, 0, 1)
        if ids[1] then
          redis.call('ZREM', gk, ids[1])
          if redis.call('ZREM', wk, ids[1]) == 1 then
            picked[#picked + 1] = { ids[1], ti, key }
            took = took + 1
            if r.conc > 0 then ctx.held[tk] = ctx.held[tk] + 1 end
            if r.perKey then ctx.rate[tk] = ctx.rate[tk] + 1 end
          end
        end
        if ids[2] then
          back[#back + 1] = tail
          back[#back + 1] = key
          tail = tail + 1
        else
          out[#out + 1] = key
        end
      end
    end
    if #out > 0 then callSliced('ZREM', ring, out) end
    if #back > 0 then callSliced('ZADD', ring, back) end
  end
  return took
end

-- Takes jobs of the keyed lanes (l[3] set) into `picked`, within each
-- type's quota and `left` over all; returns how many.
local function takeKeyedLanes(base, activeKey, lanes, types, rules, quota, left, now, ctx, picked)
  local took = 0
  for _, l in ipairs(lanes) do
    local ti = l[2]
    if l[3] and quota[ti] > 0 and took < left then
      local n = takeKeyed(base, activeKey, l[1], ti, types[ti], rules[ti],
        math.min(quota[ti], left - took), now, ctx, picked)
      quota[ti] = quota[ti] - n
      took = took + n
    end
  end
  return took
end

-- Writes the starts of this call's leased jobs: the key's slot
-- (ga:<type>:<key>, for every keyed type, so a limit added later finds the
-- active jobs) and its rate window; a type-wide start is collected in
-- ctx.starts[ti] (one ZADD per type at the end).
local function noteStart(base, name, ti, r, key, id, token, now, ctx)
  if key then
    redis.call('ZADD', base .. 'ga:' .. name .. ':' .. key, now, id)
    if r.perKey then
      local tk = name .. ':' .. key
      redis.call('ZADD', base .. 'rk:' .. tk, pacedScore(ctx.pace, tk, r, now), token)
    end
  end
  if r.typeWide then
    local s = ctx.starts[ti] or {}
    s[#s + 1] = pacedScore(ctx.pace, ti, r, now)
    s[#s + 1] = token
    ctx.starts[ti] = s
  end
end

-- After leasing: writes the type-wide starts, and returns by type index
-- the ms its window frees for each type it has filled (no job of it can
-- start before then, so its lanes' markers are not re-armed).
local function closeWindows(base, types, rules, counts, now, ctx)
  local capped = {}
  for i, r in pairs(rules) do
    if r.typeWide then
      local s = ctx.starts[i] or {}
      local key = base .. 'rl:' .. types[i]
      if #s > 0 then callSliced('ZADD', key, s) end
      if counts[i] + #s / 2 >= r.limit then capped[i] = windowFrees(key, r.perMs, now) end
    end
  end
  return capped
end
