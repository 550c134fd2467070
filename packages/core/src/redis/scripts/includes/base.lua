-- Shared helpers, inlined into each script by `-- @include base`.
-- The key layout here must match keys.ts: <base>w:<lane>, <base>m:<lane>
-- (a lane is a type at one contract version, see lane() below), <base>lanes,
-- <base>j:<id>, <base>l:<id> (the log), <base>p:<id> (the payload), and
-- <base>c:<type>, <base>f:<type>, <base>x:<type> (a type's finished jobs),
-- <base>settings (settings refs, below).
-- One namespace per kind of key: no id can name another job's key.
--
-- Job-hash fields are written F.<name>, a key of the JobField table in
-- redis/job-fields.ts, their one owner. There is no F table at run time:
-- `pnpm gen:lua` replaces each token with its quoted letter (the token of
-- JobField.state becomes 's'), in comments too, and fails on a name the
-- table lacks; so the scripts read plainly and cost nothing extra. State
-- letters ('w', 'a', ...) and event fields stay literal: they are not
-- job-hash fields.
-- @include flow

-- Redis TIME in ms: due times and leases use the server clock, never the
-- client's, so clock skew between hosts cannot fire jobs early or expire
-- leases.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A number field of a job hash, or `default` when it is missing or not a
-- number (a hand-written or legacy hash): scripts read every field this way
-- before their first write, since a Lua error does not undo earlier writes.
local function num(v, default)
  return tonumber(v) or default
end

-- Decodes JSON, or returns nil when `raw` is missing or malformed.
local function decodeOr(raw)
  if not raw then return nil end
  local ok, value = pcall(cjson.decode, raw)
  if ok then return value end
  return nil
end

-- Scores are priority * 2^42 + sequence; printed as integers because
-- tostring() would round large doubles.
local function waitScore(prio, seq)
  return string.format('%.0f', num(prio, 0) * 4398046511104 + num(seq, 0))
end

-- The lane of a type's jobs at one contract version. Version 1 and
-- unversioned jobs keep the original keys, so queues that never bump a
-- version keep their layout.
local function lane(name, version)
  local v = tonumber(version) or 1
  if v <= 1 then return name end
  return name .. '@' .. string.format('%d', v)
end

-- Pushes a job into its lane's wait zset and arms the lane's marker. A lane
-- above version 1 is recorded in <base>lanes, so listings, drain and stats
-- find it without a SCAN. A keyed job (`gk`, its F.flowKey; false or nil
-- for none) goes into its key's group too (includes/flow.lua).
local function pushWait(base, id, name, version, score, gk)
  local l = lane(name, version)
  redis.call('ZADD', base .. 'w:' .. l, score, id)
  if gk then groupPush(base, l, gk, id, score) end
  if l ~= name then redis.call('SADD', base .. 'lanes', l) end
  -- One member per lane: wakes one blocked worker, which re-marks if more remain.
  redis.call('ZADD', base .. 'm:' .. l, '0', '0')
end

-- Wakes a worker that reads the lane of (name, version), e.g. so it re-reads
-- the next due time after a job of that lane went to delayed.
local function wakeLane(base, name, version)
  redis.call('ZADD', base .. 'm:' .. lane(name, version), '0', '0')
end

-- Every wait-zset lane of the queue: each type's lane 1, then the lanes
-- above version 1 ever pushed to.
local function allLanes(typesKey, base)
  local out = redis.call('SMEMBERS', typesKey)
  for _, l in ipairs(redis.call('SMEMBERS', base .. 'lanes')) do out[#out + 1] = l end
  return out
end

local function moveCount(countsKey, name, from, to)
  if from ~= '' then redis.call('HINCRBY', countsKey, name .. '|' .. from, -1) end
  if to ~= '' then redis.call('HINCRBY', countsKey, name .. '|' .. to, 1) end
end

local function emit(eventsKey, maxEvents, ev, id, name, ...)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxEvents, '*',
    'ev', ev, 'id', id, 'n', name, ...)
end

-- For batch scripts: append without the trim check; the script trims once
-- with trimEvents at its end.
local function emitUntrimmed(eventsKey, ev, id, name, ...)
  redis.call('XADD', eventsKey, '*', 'ev', ev, 'id', id, 'n', name, ...)
end

local function trimEvents(eventsKey, maxEvents)
  redis.call('XTRIM', eventsKey, 'MAXLEN', '~', maxEvents)
end

-- Runs `cmd key ...list` in slices, since Lua's unpack() has a stack limit
-- of a few thousand values.
local function callSliced(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end

-- A finished job (completed, failed or expired) is indexed twice: in the
-- queue-wide set, which listings and clean() read, and in its type's own
-- set <base><letter>:<type>, which retention trims. So one type's keep rule
-- never removes another type's jobs (and so never ends their dedup).
-- (Cancelled jobs, letter k, too: includes/cancel.lua.) A job whose own
-- rule keeps it for good (count -1 and no age: `true`, or a rule that
-- could not be read) is left out of its type's set: another job's rule
-- (a per-enqueue one, or its type's after a deploy) never trims it; only
-- clean() and remove() do.
local finishedLetters = { c = true, f = true, x = true, k = true }

local function typeFinishedKey(base, letter, name)
  return base .. letter .. ':' .. name
end

local function addFinished(base, setKey, letter, name, score, id, keepCount, keepAgeMs)
  redis.call('ZADD', setKey, score, id)
  if num(keepCount, -1) >= 0 or num(keepAgeMs, 0) > 0 then
    redis.call('ZADD', typeFinishedKey(base, letter, name), score, id)
  end
end

-- Deletes a job's hash, log and payload. Jobs stored before logs moved to
-- <base>l:<id> keep them at <base>j:<id>:log; since ids may contain ':',
-- that name can be another job's hash, so it is deleted only as a list.
-- That check costs a TYPE per job, so a caller that knows the job has no
-- legacy log passes `noLegacyLog`: a log line needs a lease (addLog), and
-- every lease, in every release, has counted F.deliveries and set
-- F.startedAt. So a job never leased, or whose only lease is the one the
-- caller (this code, which logs to l:<id>) holds, has no legacy log.
local function deleteJobKeys(base, id, noLegacyLog)
  local jk = base .. 'j:' .. id
  redis.call('DEL', jk, base .. 'l:' .. id, base .. 'p:' .. id)
  if noLegacyLog then return end
  local legacyLog = jk .. ':log'
  if redis.call('TYPE', legacyLog).ok == 'list' then redis.call('DEL', legacyLog) end
end

local function removeJob(base, setKey, countsKey, letter, id)
  local jk = base .. 'j:' .. id
  local name = redis.call('HGET', jk, F.name)
  redis.call('ZREM', setKey, id)
  deleteJobKeys(base, id)
  if name then
    moveCount(countsKey, name, letter, '')
    if finishedLetters[letter] then
      redis.call('ZREM', typeFinishedKey(base, letter, name), id)
    end
  end
end

-- Removes a waiting job of type `name` at contract version `version`
-- from its lane. A job of version 2 or more that a producer from before
-- lanes existed stored may still sit in lane 1 (<base>w:<name>): it is
-- removed from there too, so no dangling entry is left behind. A keyed job
-- (`gk`, its F.flowKey) leaves its key's group too.
local function removeWaiting(base, countsKey, id, name, version, gk)
  local l = lane(name, version)
  if gk then groupRemove(base, l, gk, id) end
  if l ~= name then redis.call('ZREM', base .. 'w:' .. name, id) end
  removeJob(base, base .. 'w:' .. l, countsKey, 'w', id)
end

-- Applies one keep rule to the finished jobs of type `name` only. Bounded
-- per rule and call, but never below `added` (the jobs the caller has just
-- indexed under this rule): a trim keeps pace with the batch that fed it,
-- so the set stays at its bound, while an old backlog shrinks gradually.
local function trimFinished(base, setKey, countsKey, letter, name, count, ageMs, now, added)
  local typeKey = typeFinishedKey(base, letter, name)
  local limit = math.max(100, num(added, 0))
  count = num(count, -1)
  ageMs = num(ageMs, 0)
  local function drop(ids)
    for _, oid in ipairs(ids) do removeJob(base, setKey, countsKey, letter, oid) end
    -- An entry whose hash was deleted by hand is dropped too.
    if #ids > 0 then callSliced('ZREM', typeKey, ids) end
  end
  if ageMs > 0 then
    drop(redis.call('ZRANGEBYSCORE', typeKey, '-inf', now - ageMs, 'LIMIT', 0, limit))
  end
  if count >= 0 then
    local excess = redis.call('ZCARD', typeKey) - count
    if excess > 0 then drop(redis.call('ZRANGE', typeKey, 0, math.min(excess, limit) - 1)) end
  end
end

-- Applies age rules `rules` ('<letter>|<type>|<ageMs>' joined by ','; the
-- letters c, f, x, k: completed jobs by the type's completed rule, failed,
-- expired and cancelled ones by its failed rule), at most 100 jobs per
-- rule. A trim otherwise runs only when a job of the type finishes, so a
-- type whose traffic stopped would keep its finished jobs past their age.
local function applyAgeRules(base, countsKey, rules, now)
  for letter, name, ageMs in string.gmatch(rules, '([cfxk])|([^|,]+)|(%d+)') do
    local setKey = base .. ({ c = 'completed', f = 'failed', x = 'expired', k = 'cancelled' })[letter]
    trimFinished(base, setKey, countsKey, letter, name, -1, tonumber(ageMs), now, 0)
  end
end

-- A job's payload: its own string key, so the job hash keeps only short
-- values and stays in Redis's compact listpack encoding (half the memory).
-- Jobs written before the split hold it in the hash as F.legacyData.
local function readPayload(base, jk, id)
  return redis.call('GET', base .. 'p:' .. id) or redis.call('HGET', jk, F.legacyData)
end

local function appendError(jk, errJson)
  local list = decodeOr(redis.call('HGET', jk, F.errors))
  -- A malformed error list is replaced rather than failing the transition.
  if type(list) ~= 'table' then list = {} end
  table.insert(list, cjson.decode(errJson))
  while #list > 20 do table.remove(list, 1) end
  redis.call('HSET', jk, F.errors, cjson.encode(list))
end

-- Settings refs (layout 3). Most jobs share their options JSON and
-- fingerprint with every job of their type and contract version, so a job
-- hash holds only a ref (F.settingsRef) to an entry of <base>settings:
-- ref -> '<fingerprint>|<options JSON>'. The ref is derived from that value
-- (36 bits of its SHA-1, as 6 base64url characters: redis/settings-ref.ts,
-- which the producer uses), so equal settings share one entry and an entry
-- never changes: a ref that another value holds already (a hash collision)
-- is refused, and its jobs keep F.options and F.fingerprint inline. Per
-- call, each value and ref is looked up once.
local REF_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local settingsRefs, settingsValues = {}, {}

-- Claims `ref` for settings `value` ('<fp>|<options JSON>'): stores the
-- entry if new; returns the ref, or false when other settings hold it.
local function claimSettingsRef(base, ref, value)
  local known = settingsRefs[value]
  if known ~= nil then return known end
  local found = redis.call('HGET', base .. 'settings', ref)
  if not found then redis.call('HSET', base .. 'settings', ref, value)
  elseif found ~= value then ref = false end
  settingsRefs[value] = ref
  if ref then settingsValues[ref] = value end
  return ref
end

-- The ref of settings (options JSON `o`, fingerprint `fp`), derived here
-- (repeat occurrences; an enqueue gets it from the producer) and claimed.
local function settingsRef(base, o, fp)
  local value = fp .. '|' .. o
  if settingsRefs[value] ~= nil then return settingsRefs[value] end
  local n, out = tonumber(string.sub(redis.sha1hex(value), 1, 9), 16), {}
  for i = 1, 6 do
    local d = n % 64
    out[i] = string.sub(REF_DIGITS, d + 1, d + 1)
    n = (n - d) / 64
  end
  return claimSettingsRef(base, table.concat(out), value)
end

-- A job's options JSON and fingerprint from its fields F.options,
-- F.fingerprint and F.settingsRef as read (false when absent): each inline
-- field first (layout 2 jobs, per-call options, a migrated fingerprint),
-- else the ref's. False for what neither holds.
local settingsSplit = {}
local function jobSettings(base, o, fp, ref)
  if o and fp or not ref then return o, fp end
  local split = settingsSplit[ref]
  if split == nil then
    local value = settingsValues[ref]
    if value == nil then value = redis.call('HGET', base .. 'settings', ref) or false end
    split = false
    if value then
      local bar = string.find(value, '|', 1, true)
      split = { string.sub(value, bar + 1), string.sub(value, 1, bar - 1) }
    end
    -- Split once per ref and call: every job of a batch shares it.
    settingsSplit[ref] = split
  end
  if not split then return o, fp end
  return o or split[1], fp or split[2]
end
