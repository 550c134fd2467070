-- Repeat schedules, shared by the scripts that create, take, expire or
-- remove an occurrence. Needs `-- @include base` before it.
--
-- Why the chain lives here: a schedule must have exactly one pending
-- (waiting or delayed) occurrence at all times. So the script that ends an
-- occurrence's pending life (lease, expiry, removal, drain) creates the next
-- one in the same atomic step, from the schedule, never from the
-- occurrence: a failed client write, a crash or a replaced spec cannot
-- break or fork the chain.
--
-- The repeats hash holds, per repeat key (keys never contain ':'):
--   <key>        the RepeatSpec JSON (what getRepeats lists; the guard a
--                repair compares against)
--   <key>:job    the occurrence template JSON: n type, d data JSON,
--                o stored options JSON, ea expire-after ms, v version,
--                fp fingerprint (occurrences name o and fp by
--                F.settingsRef: base.lua), p priority, e everyMs (0 for
--                cron), gk the group key (F.flowKey) of a keyed type, computed by
--                the client from the parsed payload; absent when unkeyed
--   <key>:slots  cron only: upcoming slot times (ms), ascending, joined by
--                ','. Lua cannot evaluate cron with time zones, so clients
--                (cron-parser) precompute them; scripts consume them, and
--                the worker's repair pass refills the list before it runs
--                out. An interval's slots are plain arithmetic, done here.
--   <key>:next   the id of the one pending occurrence
--   <key>:made   with a limit (template lm): occurrences scheduled so far
--   <key>:ended  an ended schedule's spec (its end, en, passed or its limit
--                was reached). Its bare <key> (and :next, :slots, :made) is
--                gone, so it is no schedule to any script or repair pass,
--                and an older version's workers (which know no bounds) skip
--                it too; its :job stays, for migrate
--   <key>:last   with :ended, the id of its last occurrence
-- Template bounds (absent when unset): sa no slot before (ms; an interval's
-- slots count from it), en no slot after (ms), lm at most that many
-- occurrences.
-- Occurrences are `rpt.<key>.<slot>` with field F.repeatKey = their repeat key;
-- slot ids deduplicate across processes.

-- An interval's first slot strictly after `after`: its slots are
-- `from` + n * every.
local function intervalSlotAfter(every, after, from)
  if after < from then return from end
  return from + (math.floor((after - from) / every) + 1) * every
end

-- The first slot strictly after `after`, or nil when a cron list ran dry.
local function repeatSlotAfter(repeatsKey, key, every, after, from)
  if every > 0 then return intervalSlotAfter(every, after, from) end
  local raw = redis.call('HGET', repeatsKey, key .. ':slots')
  if not raw then return nil end
  local keep, found = {}, nil
  for s in string.gmatch(raw, '[^,]+') do
    local v = tonumber(s)
    if v > after then
      keep[#keep + 1] = s
      if found == nil then found = v end
    end
  end
  -- Slots at or before `after` can never be used again: drop them.
  redis.call('HSET', repeatsKey, key .. ':slots', table.concat(keep, ','))
  return found
end

-- Whether a schedule with template `t` (decoded) and cron slots `slots`
-- (comma-joined; '' for an interval) has a slot after `after` within its
-- bounds. Writes nothing: a declaration asks before it writes.
local function hasSlotAfter(t, slots, after)
  local every, sa, en = tonumber(t.e) or 0, tonumber(t.sa), tonumber(t.en)
  if sa and after < sa - 1 then after = sa - 1 end
  local first
  if every > 0 then
    first = intervalSlotAfter(every, after, sa or 0)
  else
    for s in string.gmatch(slots, '[^,]+') do
      if tonumber(s) > after then
        first = tonumber(s)
        break
      end
    end
  end
  return first ~= nil and (en == nil or first <= en)
end

-- Whether two decoded JSON values are equal, whatever the order of their
-- object keys.
local function sameValue(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for k, v in pairs(a) do
    if not sameValue(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Whether two texts of a spec or template say the same, the payload JSON
-- inside them (field `field`) compared as a value: the same schedule,
-- declared by code that builds its objects in another key order, is the
-- same. What a handler gets is stored as given.
local function sameRepeatJson(a, b, field)
  if a == b then return true end
  if not a or not b then return false end
  local okA, x = pcall(cjson.decode, a)
  local okB, y = pcall(cjson.decode, b)
  if not okA or not okB or type(x) ~= 'table' or type(y) ~= 'table' then return false end
  for _, t in ipairs({ x, y }) do
    if type(t[field]) == 'string' then
      local ok, v = pcall(cjson.decode, t[field])
      if ok then t[field] = v end
    end
  end
  return sameValue(x, y)
end

-- Ends schedule `key` for good: its spec moves to `<key>:ended` (with
-- `last`, the id of its last occurrence, as `<key>:last`), its template
-- stays, and its other fields go. Occurrences already made run as usual.
local function endRepeat(repeatsKey, key, last)
  local spec = redis.call('HGET', repeatsKey, key)
  redis.call('HDEL', repeatsKey, key, key .. ':slots', key .. ':next', key .. ':made',
    key .. ':last')
  if spec then redis.call('HSET', repeatsKey, key .. ':ended', spec) end
  if last then redis.call('HSET', repeatsKey, key .. ':last', last) end
end

-- Creates the pending occurrence of `key` at its first free slot after
-- `after` and records it as `<key>:next`. Returns the id, or false when the
-- schedule is gone, has no known slot (the repair pass retries), or has
-- just ended (its bounds). Bounded: at most 20 candidate slots.
local function scheduleOccurrence(base, key, after, now)
  local repeatsKey = base .. 'repeats'
  local last = redis.call('HGET', repeatsKey, key .. ':next')
  redis.call('HDEL', repeatsKey, key .. ':next')
  local raw = redis.call('HGET', repeatsKey, key .. ':job')
  if not raw then return false end
  local t = cjson.decode(raw)
  local every = tonumber(t.e) or 0
  local sa, en, lm = tonumber(t.sa), tonumber(t.en), tonumber(t.lm)
  if lm and (tonumber(redis.call('HGET', repeatsKey, key .. ':made')) or 0) >= lm then
    endRepeat(repeatsKey, key, last)
    return false
  end
  if sa and after < sa - 1 then after = sa - 1 end
  for _ = 1, 20 do
    local slot = repeatSlotAfter(repeatsKey, key, every, after, sa or 0)
    if slot == nil then return false end
    if en and slot > en then
      endRepeat(repeatsKey, key, last)
      return false
    end
    local id = 'rpt.' .. key .. '.' .. string.format('%.0f', slot)
    local jk = base .. 'j:' .. id
    local state = redis.call('HGET', jk, F.state)
    if state == 'w' or state == 'd' then
      -- Already pending (written by an older version): adopt it. A delayed
      -- one takes the group key now: promotion routes it into its group.
      if state == 'd' and type(t.gk) == 'string' then
        redis.call('HSET', jk, F.repeatKey, key, F.flowKey, t.gk)
      else
        redis.call('HSET', jk, F.repeatKey, key)
      end
      redis.call('HSET', repeatsKey, key .. ':next', id)
      if lm then redis.call('HINCRBY', repeatsKey, key .. ':made', 1) end
      return id
    end
    if not state then
      local ea = tonumber(t.ea) or 0
      -- Created delayed: when due, promotion (pushWait) puts a keyed
      -- occurrence (F.flowKey) into its key's group, so per-key limits hold.
      -- Its settings by ref (base.lua): a schedule's occurrences share them.
      local ref = type(t.o) == 'string' and type(t.fp) == 'string' and settingsRef(base, t.o, t.fp)
      if ref then
        redis.call('HSET', jk, F.name, t.n, F.priority, t.p, F.sequence, 0, F.settingsRef, ref,
          F.createdAt, now, F.version, t.v, F.state, 'd', F.repeatKey, key)
      else
        redis.call('HSET', jk, F.name, t.n, F.priority, t.p, F.sequence, 0, F.options, t.o,
          F.createdAt, now, F.version, t.v, F.fingerprint, t.fp, F.state, 'd', F.repeatKey, key)
      end
      if type(t.gk) == 'string' then redis.call('HSET', jk, F.flowKey, t.gk) end
      if ea > 0 then redis.call('HSET', jk, F.expireAfterMs, ea) end
      redis.call('SET', base .. 'p:' .. id, t.d)
      redis.call('ZADD', base .. 'delayed', slot, id)
      redis.call('SADD', base .. 'types', t.n)
      moveCount(base .. 'counts', t.n, '', 'd')
      emitUntrimmed(base .. 'events', 'delayed', id, t.n, 'due', slot)
      -- Wakes a blocked worker so it re-reads the next due time.
      wakeLane(base, t.n, t.v)
      redis.call('HSET', repeatsKey, key .. ':next', id)
      if lm then redis.call('HINCRBY', repeatsKey, key .. ':made', 1) end
      return id
    end
    -- The slot's id is taken by a finished or running occurrence: try the next.
    after = slot
  end
  return false
end

-- Call when job `id`, with repeat key `key` (its field F.repeatKey, or false),
-- stops being pending: taken, expired or removed. If it was its schedule's
-- pending occurrence, the next one is created now. Anything else (a plain
-- job, an occurrence of a replaced or removed schedule) changes nothing.
local function advanceRepeat(base, key, id, now)
  if not key then return end
  if redis.call('HGET', base .. 'repeats', key .. ':next') ~= id then return end
  local slot = tonumber(string.match(id, '%.(%d+)$')) or now
  scheduleOccurrence(base, key, math.max(slot, now), now)
end

-- True when job `id` is the pending occurrence of a live schedule.
local function isPendingOccurrence(base, jk, id)
  local key = redis.call('HGET', jk, F.repeatKey)
  return key and redis.call('HGET', base .. 'repeats', key .. ':next') == id
end
