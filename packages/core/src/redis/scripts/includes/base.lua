-- Shared helpers, inlined into each script by `-- @include base`.
-- The key layout here must match keys.ts: <base>w:<type>, <base>m:<type>,
-- <base>j:<id>, <base>j:<id>:log, <base>p:<id> (the payload).

-- Redis TIME in ms: due times and leases use the server clock, never the
-- client's, so clock skew between hosts cannot fire jobs early or expire
-- leases.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Scores are priority * 2^42 + sequence; printed as integers because
-- tostring() would round large doubles.
local function waitScore(prio, seq)
  return string.format('%.0f', tonumber(prio) * 4398046511104 + tonumber(seq))
end

local function pushWait(base, id, name, score)
  redis.call('ZADD', base .. 'w:' .. name, score, id)
  -- One member per type: wakes one blocked worker, which re-marks if more remain.
  redis.call('ZADD', base .. 'm:' .. name, 0, '0')
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

local function removeJob(base, setKey, countsKey, letter, id)
  local jk = base .. 'j:' .. id
  local name = redis.call('HGET', jk, 'n')
  redis.call('ZREM', setKey, id)
  redis.call('DEL', jk, jk .. ':log', base .. 'p:' .. id)
  if name then moveCount(countsKey, name, letter, '') end
end

-- Bounded per call so a large backlog is trimmed gradually, never in one
-- long script.
local function trimFinished(base, setKey, countsKey, letter, count, ageMs, now)
  count = tonumber(count)
  ageMs = tonumber(ageMs)
  if ageMs > 0 then
    local old = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - ageMs, 'LIMIT', 0, 100)
    for _, oid in ipairs(old) do removeJob(base, setKey, countsKey, letter, oid) end
  end
  if count >= 0 then
    local excess = redis.call('ZCARD', setKey) - count
    if excess > 0 then
      local old = redis.call('ZRANGE', setKey, 0, math.min(excess, 100) - 1)
      for _, oid in ipairs(old) do removeJob(base, setKey, countsKey, letter, oid) end
    end
  end
end

-- A job's payload: its own string key, so the job hash keeps only short
-- values and stays in Redis's compact listpack encoding (half the memory).
-- Jobs written before the split hold it in the hash as `d`.
local function readPayload(base, jk, id)
  return redis.call('GET', base .. 'p:' .. id) or redis.call('HGET', jk, 'd')
end

local function appendError(jk, errJson)
  local raw = redis.call('HGET', jk, 'e')
  local list = raw and cjson.decode(raw) or {}
  table.insert(list, cjson.decode(errJson))
  while #list > 20 do table.remove(list, 1) end
  redis.call('HSET', jk, 'e', cjson.encode(list))
end

-- Runs `cmd key ...list` in slices, since Lua's unpack() has a stack limit
-- of a few thousand values.
local function callSliced(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
