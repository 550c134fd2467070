#!lua
--[[
  Rewrites one batch of queued jobs of a type to its current contract
  version: the payload (already upcast and validated by the caller), the
  version and the fingerprint. Each job is compare-and-set: it is written
  only if it still has the type, state, version and payload (by SHA-1) the
  caller read, and still sits where it was read; a job that was leased,
  removed, re-created or migrated meanwhile is skipped, untouched. Active
  jobs are never written. A waiting job moves from the lane it was read in
  to its new version's lane with the same score (so its priority and FIFO
  place), and that lane's marker is armed; a delayed job stays in `delayed`
  with its due time, only its version changes.

  Input:
    KEYS[1] delayed   KEYS[2] lanes set   KEYS[3] events
    ARGV[1] key base   ARGV[2] max events   ARGV[3] type name
    ARGV[4] the current version   ARGV[5] the current fingerprint
    ARGV[6] where the batch was read: '' for `delayed`, else the lane whose
      wait zset holds them (the type name, or a `<type>@<version>` lane)
    then 4 fields per job: id, the version read (a missing field reads 1),
      SHA-1 of the payload read, the new payload JSON
  Output: { migrated, skipped }
  Events: migrated (fields count, v = the version written), once per
    batch that migrated at least one job
]]
-- @include base
local base, maxEvents, name, version, fp, from = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local delayed = from == ''
local fromKey = delayed and KEYS[1] or base .. 'w:' .. from
local state = delayed and 'd' or 'w'
local to = lane(name, version)
local toKey = base .. 'w:' .. to
local migrated, skipped = 0, 0
for a = 7, #ARGV, 4 do
  local id, readVersion, sha, data = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local jk = base .. 'j:' .. id
  local f = redis.call('HMGET', jk, F.name, F.state, F.version, F.flowKey)
  local score = redis.call('ZSCORE', fromKey, id)
  local old = f[1] == name and f[2] == state and score and readPayload(base, jk, id)
  if old and num(f[3], 1) == tonumber(readVersion) and redis.sha1hex(old) == sha then
    redis.call('SET', base .. 'p:' .. id, data)
    -- A job stored before payloads moved to their own key keeps one copy only.
    redis.call('HDEL', jk, F.legacyData)
    redis.call('HSET', jk, F.version, version, F.fingerprint, fp)
    if not delayed and fromKey ~= toKey then
      redis.call('ZREM', fromKey, id)
      redis.call('ZADD', toKey, score, id)
      -- A keyed job changes groups with its lane (includes/flow.lua).
      if f[4] then
        groupRemove(base, from, f[4], id)
        groupPush(base, to, f[4], id, score)
      end
    end
    migrated = migrated + 1
  else
    skipped = skipped + 1
  end
end
if migrated > 0 then
  if not delayed then
    if to ~= name then redis.call('SADD', KEYS[2], to) end
    -- One member per lane: wakes one blocked worker of this version.
    redis.call('ZADD', base .. 'm:' .. to, '0', '0')
  end
  emit(KEYS[3], maxEvents, 'migrated', '', name, 'count', migrated, 'v', version)
end
return { migrated, skipped }
