-- The batch parts of enqueue.lua: its settings sets, the one existence
-- check of its job ids, and its writes once per lane. Needs `-- @include
-- base` and `-- @include tally` first.

-- The settings sets from ARGV[3] on (9 fields each, see enqueue.lua), by
-- their number as the jobs give it (a string: no conversion per job): the
-- first 8 fields, then its lane, its expire-after as given, and its
-- settings ref (base.lua, claimSettingsRef) when its 9th field gives one
-- (the options are the type's defaults), else false: per-call options
-- stay inline, so they cannot grow <base>settings without bound. Returns
-- them and the ARGV index after them.
local function readSets()
  local sets, count = {}, tonumber(ARGV[3])
  for i = 0, count - 1 do
    local a = 4 + i * 9
    sets[string.format('%d', i + 1)] = { ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3],
      ARGV[a + 4], tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]),
      lane(ARGV[a], ARGV[a + 3]), ARGV[a + 2],
      ARGV[a + 8] ~= '' and claimSettingsRef(ARGV[1], ARGV[a + 8], ARGV[a + 4] .. '|' .. ARGV[a + 1]) }
  end
  return sets, 4 + count * 9
end

-- Writes a new job's hash, in state `state`: its settings as a ref when its
-- set has one, else inline (F.options and F.fingerprint). Priority 0 is
-- left out: every reader takes a missing F.priority as 0 (waitScore), and
-- the field would cost each job an entry in its hash.
local function writeJobHash(jk, set, prio, seqS, nowS, state)
  if set[11] then
    redis.call('HSET', jk, F.name, set[1], F.sequence, seqS, F.settingsRef, set[11],
      F.createdAt, nowS, F.version, set[4], F.state, state)
  else
    redis.call('HSET', jk, F.name, set[1], F.sequence, seqS, F.options, set[2],
      F.createdAt, nowS, F.version, set[4], F.fingerprint, set[5], F.state, state)
  end
  if prio ~= '0' then redis.call('HSET', jk, F.priority, prio) end
end

-- The job hash keys of the `n` ids from ARGV[first] on, and whether any of
-- them exists: one EXISTS per 1000 keys instead of one per job.
local function jobKeys(base, first, n)
  local jks, found = {}, 0
  for i = 1, n do jks[i] = base .. 'j:' .. ARGV[first + i - 1] end
  for i = 1, n, 1000 do
    found = found + redis.call('EXISTS', unpack(jks, i, math.min(i + 999, n)))
  end
  return jks, found > 0
end

-- Writes a batch's wait-zset entries (`waiting`: lane -> its scores and
-- ids) and counts, and per lane (`lanes`: lane -> type) records the type
-- and the lane and arms the lane's marker.
local function indexBatch(base, waiting, lanes, countsKey, typesKey)
  for l, w in pairs(waiting) do
    callSliced('ZADD', base .. 'w:' .. l, w)
    tallyAdd(lanes[l], 'w', #w / 2)
  end
  -- A type that had jobs counted before this call is in the types set.
  local counted = {}
  flushTally(countsKey, counted)
  for l, name in pairs(lanes) do
    if not counted[name] then redis.call('SADD', typesKey, name); counted[name] = true end
    if l ~= name then redis.call('SADD', base .. 'lanes', l) end
    -- Wakes one blocked worker of the lane, which re-marks if more remain;
    -- a delayed job wakes one too, so it re-reads the next due time.
    redis.call('ZADD', base .. 'm:' .. l, '0', '0')
  end
end
