#!lua
--[[
  Rewrites one batch of jobs stored in layout 1 into the current form
  (ops/layout-migrate.ts): a payload kept in the job hash (F.legacyData)
  moves to its own key <base>p:<id>, and a log list kept at
  <base>j:<id>:log moves to <base>l:<id>, its lines before any the job
  logged since. Nothing is dropped: a payload key that exists already is
  the one readers use (includes/base.lua, readPayload), so only the stale
  hash copy goes. A job already in the current form is left alone, so a
  batch can be run again (idempotent): a migration stopped midway is
  resumed by running it again. Since ids may contain ':', <id>:log can be
  another job's hash: only a list is a legacy log. An id whose hash is
  gone (removed meanwhile) is skipped.

  The batch is refused, writing nothing, when the queue records a layout
  newer than ARGV[2]: a newer jobwire owns its data.

  Input:
    KEYS[1] meta
    ARGV[1] key base   ARGV[2] the newest layout this build knows
    ARGV[3] '1' to count only (a dry run), '0' to write
    then the job ids
  Output: { payloads, logs, layout } : payloads and log lists moved (or,
    in a dry run, to move), and the queue's recorded layout (0 for none);
    when layout is above ARGV[2], nothing was done
  Events: none (the jobs' state does not change)
]]
-- @include base
local base, known, dry = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local layout = tonumber(redis.call('HGET', KEYS[1], 'layout')) or 0
if layout > known then return { 0, 0, layout } end
local payloads, logs = 0, 0
for a = 4, #ARGV do
  local id = ARGV[a]
  local jk = base .. 'j:' .. id
  local data = redis.call('HGET', jk, F.legacyData)
  if data then
    payloads = payloads + 1
    if not dry then
      local pk = base .. 'p:' .. id
      if redis.call('EXISTS', pk) == 0 then redis.call('SET', pk, data) end
      redis.call('HDEL', jk, F.legacyData)
    end
  end
  local legacyLog = jk .. ':log'
  if redis.call('EXISTS', jk) == 1 and redis.call('TYPE', legacyLog).ok == 'list' then
    logs = logs + 1
    if not dry then
      local lk = base .. 'l:' .. id
      if redis.call('EXISTS', lk) == 0 then
        redis.call('RENAME', legacyLog, lk)
      else
        -- Older lines go first, as readers list them (ops/inspect.ts).
        local old = redis.call('LRANGE', legacyLog, 0, -1)
        for i = #old, 1, -1 do redis.call('LPUSH', lk, old[i]) end
        redis.call('DEL', legacyLog)
      end
    end
  end
end
return { payloads, logs, layout }
