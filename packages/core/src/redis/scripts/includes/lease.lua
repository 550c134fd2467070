-- Leasing, shared by moveToActive and complete (which takes the next jobs
-- in the same round trip). Needs `-- @include base` and `-- @include tally`
-- before it. Events are appended untrimmed: the calling script trims the
-- log once, at its end. Taking or expiring a repeat's pending occurrence
-- schedules the next one (includes/repeat.lua). Flow control (rate limits,
-- keyed lanes): includes/flowlease.lua.
-- @include repeat
-- @include flowlease

-- The fields of each type in a leasing call's arguments: name, max jobs,
-- the newest contract version the worker knows, then its flow rules
-- (flowRules in flowlease.lua).
local TYPE_FIELDS = 8

-- Reads the types of a leasing call from ARGV[at] (their number) on:
-- types, quota, known versions and flow rules by type index.
local function readLeaseTypes(at)
  local types, quota, known, rules = {}, {}, {}, {}
  for i = 1, tonumber(ARGV[at]) do
    local a = at + 1 + (i - 1) * TYPE_FIELDS
    types[i], quota[i], known[i] = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]) or 1
    rules[i] = flowRules(ARGV, a + 3)
  end
  return types, quota, known, rules
end

-- Moves due delayed jobs to waiting. Returns the next due time (-1 = none).
-- A job's expiry counts from its due time (the score), not from this call:
-- promotion waits for a worker's lease, which may come much later.
local function promoteDue(base, idKey, delayedKey, eventsKey, maxEvents, now)
  local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
  for i = 1, #due, 2 do
    local id, dueAt = due[i], tonumber(due[i + 1])
    local jk = base .. 'j:' .. id
    local f = redis.call('HMGET', jk, F.name, F.priority, F.expireAfterMs, F.version, F.flowKey)
    redis.call('ZREM', delayedKey, id)
    if f[1] then
      local seq = redis.call('INCR', idKey)
      local ea = num(f[3], nil)
      if ea then
        redis.call('HSET', jk, F.state, 'w', F.sequence, seq, F.expiresAt,
          string.format('%d', dueAt + ea))
      else
        redis.call('HSET', jk, F.state, 'w', F.sequence, seq)
      end
      pushWait(base, id, f[1], f[4], waitScore(f[2], seq), f[5])
      tallyMove(f[1], 'd', 'w')
      emitUntrimmed(eventsKey, 'waiting', id, f[1])
    end
  end
  local head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if head[2] then return tonumber(head[2]) end
  return -1
end

-- The lanes a leasing call reads, as { lane, type index } pairs: each
-- requested type's lane 1, plus the recorded lanes <type>@<v> with v at
-- most the newest version the worker knows of that type (known[i]); a lane
-- of a keyed type has l[3] set (its jobs are taken by round robin over
-- keys, flowlease.lua, not by takeWaiting). So a
-- worker never leases a job of a version it cannot read. <base>lanes is
-- read (one SMEMBERS) only when some type is known at version 2 or more: a
-- queue that never bumps a version pays nothing.
local function leaseLanes(base, types, known, rules)
  local lanes, versioned = {}, nil
  for i, t in ipairs(types) do
    lanes[i] = { t, i, rules[i] and rules[i].keyed }
    if known[i] >= 2 then
      versioned = versioned or {}
      versioned[t] = i
    end
  end
  if versioned then
    for _, l in ipairs(redis.call('SMEMBERS', base .. 'lanes')) do
      local t, v = string.match(l, '^(.*)@(%d+)$')
      local i = t and versioned[t]
      if i and tonumber(v) <= known[i] then lanes[#lanes + 1] = { l, i, lanes[i][3] } end
    end
  end
  return lanes
end

-- Records, for the types known at version 2 or more, that a worker reading
-- up to that version leased now: <base>readers field <type>@<known> = now
-- ms. The stats read it to tell why a lane waits (no worker reads it).
local function noteReaders(base, types, known, now)
  local fields = {}
  for i, t in ipairs(types) do
    if known[i] >= 2 then
      fields[#fields + 1] = t .. '@' .. string.format('%d', known[i])
      fields[#fields + 1] = now
    end
  end
  if #fields > 0 then redis.call('HSET', base .. 'readers', unpack(fields)) end
end

-- Picks up to `left` waiting ids over the lanes, best score first, within
-- each type's quota (shared by its lanes). Scores share one sequence, so a
-- type's lanes merge in priority, then FIFO, order. Each lane reads a share
-- of `left` at a time (all of it when it is the only lane), and reads on
-- only when its share ran out before the picking did: with many types the
-- lanes read about `left` ids in all, not `left` each. One ZREM per lane.
local function takeWaiting(base, lanes, quota, left)
  local picked, byLane, heads, pos, cur, read, full, open = {}, {}, {}, {}, {}, {}, {}, 0
  for _, l in ipairs(lanes) do
    if quota[l[2]] > 0 and not l[3] then open = open + 1 end
  end
  if open == 0 or left <= 0 then return picked end
  local share = math.max(8, math.ceil(left / open))
  -- One lane needs no scores to merge by: its ids come in order without
  -- them (Redis prints each score with '%.17g', and Lua parses it back).
  local step = open == 1 and 1 or 2
  -- The next ids of lane j after those read; cur[j] is its head's score.
  local function readHead(j)
    local count, key = math.min(share, quota[lanes[j][2]], left - #picked), base .. 'w:' .. lanes[j][1]
    local h = {}
    if count > 0 and step == 1 then h = redis.call('ZRANGE', key, read[j], read[j] + count - 1)
    elseif count > 0 then h = redis.call('ZRANGE', key, read[j], read[j] + count - 1, 'WITHSCORES') end
    heads[j], pos[j], read[j], full[j] = h, 1, read[j] + #h / step, count > 0 and #h == count * step
    cur[j] = h[1] and (step == 1 and 0 or tonumber(h[2]))
  end
  for j, l in ipairs(lanes) do
    read[j] = 0
    if quota[l[2]] > 0 and not l[3] then readHead(j) end
  end
  while #picked < left do
    local best
    for j = 1, #lanes do
      if cur[j] and quota[lanes[j][2]] > 0 and (best == nil or cur[j] < cur[best]) then best = j end
    end
    if best == nil then break end
    local h, ti = heads[best], lanes[best][2]
    local id = h[pos[best]]
    quota[ti] = quota[ti] - 1
    picked[#picked + 1] = { id, ti }
    local ids = byLane[best]
    if not ids then ids = {}; byLane[best] = ids end
    ids[#ids + 1] = id
    pos[best] = pos[best] + step
    if h[pos[best]] then cur[best] = step == 1 and 0 or tonumber(h[pos[best] + 1])
    elseif full[best] then readHead(best)
    else cur[best] = nil end
  end
  for j, ids in pairs(byLane) do callSliced('ZREM', base .. 'w:' .. lanes[j][1], ids) end
  return picked
end

-- Expired or dangling jobs handled per call, at most: a backlog of them is
-- worked off over several calls (the markers stay armed, so workers come
-- straight back), and no single script runs long enough for Redis to answer
-- BUSY to every client, lease renewals included.
local MAX_SKIPPED_PER_CALL = 1000

-- The failed-job keep rule { count, ageMs } in a job's stored options (it
-- applies to expired jobs too), or nil when unreadable: then nothing is
-- trimmed, which errs on the side of keeping.
local function keepFailedRule(optionsJson)
  if not optionsJson then return nil end
  local ok, o = pcall(cjson.decode, optionsJson)
  if ok and type(o) == 'table' and type(o.kf) == 'table' then return o.kf end
  return nil
end

-- Moves a waiting job that was never started and is past its expiry to
-- `expired`, kept by its failed-job rule (collected into `trims`).
local function expireJob(base, jk, id, name, optionsJson, expiredKey, eventsKey, now, nth, trims)
  local rule = keepFailedRule(optionsJson)
  if rule and tonumber(rule[1]) == 0 then
    -- Kept for no time, as a failed job would be: gone at once. Never
    -- leased (expiry ends at the first lease), so it has no legacy log.
    deleteJobKeys(base, id, true)
    tallyMove(name, 'w', '')
  else
    redis.call('HSET', jk, F.state, 'x', F.finishedAt, now)
    -- A microsecond apart, in expiry order, so a count rule keeps the newest.
    addFinished(base, expiredKey, 'x', name, string.format('%.3f', now + nth * 0.001), id,
      rule and rule[1], rule and rule[2])
    tallyMove(name, 'w', 'x')
    if rule then
      local k = name .. '|' .. rule[1] .. '|' .. rule[2]
      local tr = trims[k]
      if tr then tr[4] = tr[4] + 1 else trims[k] = { name, rule[1], rule[2], 1 } end
    end
  end
  emitUntrimmed(eventsKey, 'expired', id, name)
end

-- What a lease reads of a job hash never leased before (NOT_LEASED): the
-- fields below that only a lease writes.
local NOT_LEASED = {}

-- The job-hash fields a lease reads, as two lists. f: name, options,
-- createdAt, version, expiresAt, fingerprint, deliveries, repeatKey,
-- flowKey, settingsRef. g: attemptsMade, stalls, startedAt, unstarted,
-- freeRequeues. Those of g exist only on a job leased before,
-- which F.deliveries tells (every lease of every release sets it, nothing
-- removes it, so it holds for jobs older releases leased too): a fresh job
-- skips them, since each absent field of a listpack hash costs a scan of
-- all its entries. Two lists, not one merged: a table per job is an
-- allocation and garbage for Lua's collector.
local function leaseFields(jk)
  local f = redis.call('HMGET', jk, F.name, F.options, F.createdAt, F.version, F.expiresAt,
    F.fingerprint, F.deliveries, F.repeatKey, F.flowKey, F.settingsRef)
  if not f[7] then return f, NOT_LEASED end
  return f, redis.call('HMGET', jk, F.attemptsMade, F.stalls, F.startedAt, F.unstarted,
    F.freeRequeues)
end

-- Leases jobs into `out` (10 fields each, see moveToActive); returns the
-- number leased. known[i] is the newest contract version the worker knows
-- of types[i]: only lanes up to it are read (leaseLanes). Expired jobs and dangling ids are skipped, not counted,
-- up to MAX_SKIPPED_PER_CALL of them. A job's expiry ends when it is first
-- leased: once started, a job is never expired as "not started", whether
-- it later stalls, is released or retries.
-- The first `startNow` jobs fill free slots: their handlers start as the
-- reply arrives, so they count as started from here on (a job that kills
-- its worker must be charged a stall). The rest are prefetched and marked
-- F.unstarted until the worker reports their start, but only a job that
-- never stalled and was never re-queued unstarted (F.stalls and
-- F.freeRequeues are 0): a job that kills its worker between its start and
-- the report gets one free re-queue at most, so it fails after
-- maxStalls + 2 deliveries at worst.
-- Flow rules (rules[i], nil for a type without any; flowlease.lua): a
-- type-wide rate limit caps the type's quota, keyed lanes are taken by
-- round robin over keys (first, then the other lanes), and the second
-- value returned is when a job held back by a limit can start (-1 = none):
-- the caller's next due time is at most that.
local function leaseJobs(base, activeKey, eventsKey, expiredKey, countsKey, maxEvents,
                         leaseMs, tokenPrefix, maxJobs, startNow, types, quota, known, rules,
                         now, out)
  local leased, skipped, deadlines, trims, activated = 0, 0, {}, {}, {}
  local lastOpts, lastFp
  -- Formatted once per call: Redis turns a Lua number argument into text
  -- with '%.17g', which costs more than the rest of a job's HSET.
  local nowS, deadline = string.format('%d', now), string.format('%d', now + leaseMs)
  local lanes = leaseLanes(base, types, known, rules)
  noteReaders(base, types, known, now)
  -- Only a call with flow rules pays for them.
  local ctx, counts = next(rules) and { held = {}, rate = {}, starts = {}, pace = {}, turns = 0 }, {}
  if ctx then
    counts = capByRate(base, types, quota, rules, now, ctx)
    for _, l in ipairs(lanes) do
      -- Every keyed lane, not only per-key rate-limited ones: a key held in
      -- gd: by a rule a later deploy removed must still come back.
      if l[3] then promoteKeys(base, l[1], now) end
    end
  end
  while leased < maxJobs and skipped < MAX_SKIPPED_PER_CALL do
    local left = math.min(maxJobs - leased, MAX_SKIPPED_PER_CALL - skipped)
    local picked = {}
    if ctx then takeKeyedLanes(base, activeKey, lanes, types, rules, quota, left, now, ctx, picked) end
    for _, p in ipairs(takeWaiting(base, lanes, quota, left - #picked)) do picked[#picked + 1] = p end
    if #picked == 0 then break end
    for _, p in ipairs(picked) do
      local id, name = p[1], types[p[2]]
      local jk = base .. 'j:' .. id
      local f, g = leaseFields(jk)
      -- Options and fingerprint, inline or by ref (one lookup per ref and call).
      f[2], f[6] = jobSettings(base, f[2], f[6], f[10])
      -- A keyed job taken from w:<lane> by a worker whose rules have no key
      -- (the key rule was removed, or a rollout mixes versions) leaves its
      -- group here, so g:<lane>:<key> holds no job that is no longer waiting.
      if f[9] and p[3] == nil then groupRemove(base, lane(name, f[4]), f[9], id) end
      if f[1] == false then
        -- The hash is gone (removed by hand): drop the dangling index entry.
        tallyMove(name, 'w', '')
        quota[p[2]] = quota[p[2]] + 1
        skipped = skipped + 1
      elseif not g[3] and num(f[5], now + 1) <= now then
        expireJob(base, jk, id, name, f[2], expiredKey, eventsKey, now, skipped, trims)
        advanceRepeat(base, f[8], id, now)
        quota[p[2]] = quota[p[2]] + 1
        skipped = skipped + 1
      else
        local dl = f[7] and string.format('%d', tonumber(f[7]) + 1) or '1'
        -- Unique per lease: the prefix is unique per call (see moveToActive),
        -- whereas F.deliveries restarts when a job id is created again.
        local token = tokenPrefix .. ':' .. string.format('%d', leased + 1)
        if leased >= startNow and num(g[5], 0) == 0 and num(g[2], 0) == 0 then
          redis.call('HSET', jk, F.state, 'a', F.token, token, F.startedAt, nowS, F.deliveries, dl,
            F.unstarted, '1')
        else
          redis.call('HSET', jk, F.state, 'a', F.token, token, F.startedAt, nowS, F.deliveries, dl)
          if g[4] then redis.call('HDEL', jk, F.unstarted) end
        end
        if f[5] then redis.call('HDEL', jk, F.expiresAt, F.expireAfterMs) end
        deadlines[#deadlines + 1] = deadline
        deadlines[#deadlines + 1] = id
        -- Counted per type, tallied once after the loop (a concatenation per job less).
        activated[p[2]] = (activated[p[2]] or 0) + 1
        emitUntrimmed(eventsKey, 'active', id, name)
        advanceRepeat(base, f[8], id, now)
        if rules[p[2]] then noteStart(base, name, p[2], rules[p[2]], p[3], id, token, now, ctx) end
        -- Options and fingerprint go as false (nil) when the same as the
        -- previous job's in this reply: a batch of one type shares them.
        local o, opts, fp = #out, f[2] or 'null', f[6] or ''
        out[o + 1] = id; out[o + 2] = name; out[o + 3] = readPayload(base, jk, id) or ''
        out[o + 4] = opts ~= lastOpts and opts; out[o + 5] = g[1] or '0'; out[o + 6] = token
        out[o + 7] = g[2] or '0'; out[o + 8] = f[3] or '0'; out[o + 9] = f[4] or '1'
        out[o + 10] = fp ~= lastFp and fp
        lastOpts, lastFp = opts, fp
        leased = leased + 1
      end
    end
  end
  for i, n in pairs(activated) do
    tallyAdd(types[i], 'w', -n)
    tallyAdd(types[i], 'a', n)
  end
  for _, t in pairs(trims) do
    trimFinished(base, expiredKey, countsKey, 'x', t[1], t[2], t[3], now, t[4])
  end
  callSliced('ZADD', activeKey, deadlines)
  local capped, due = ctx and closeWindows(base, types, rules, counts, now, ctx) or {}, -1
  -- Jobs left behind need another worker: re-arm their lanes' markers. Not
  -- for a type whose rate window is full (a worker would wake for nothing,
  -- again and again): the reply's due time says when to come back. A keyed
  -- lane has jobs for another worker only while its ring has keys.
  for _, l in ipairs(lanes) do
    if redis.call('ZCARD', base .. (l[3] and 'gr:' or 'w:') .. l[1]) > 0 then
      if capped[l[2]] then
        due = earlier(due, capped[l[2]])
      else
        redis.call('ZADD', base .. 'm:' .. l[1], '0', '0')
      end
    end
    if l[3] then
      local head = redis.call('ZRANGE', base .. 'gd:' .. l[1], 0, 0, 'WITHSCORES')
      if head[2] then due = earlier(due, tonumber(head[2])) end
    end
  end
  return leased, due
end
