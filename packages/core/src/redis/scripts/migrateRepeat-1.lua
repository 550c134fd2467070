#!lua
--[[
  Rewrites one repeat schedule (layout in includes/repeat.lua) to its job
  type's current contract version (migrate): its spec JSON (whose data
  becomes the upcast payload) and its occurrence template (payload,
  version, fingerprint; already upcast and validated by the caller).
  Compare-and-set: written only if the spec and the template are still the
  ones the caller read (by SHA-1), so a schedule replaced, removed or
  migrated meanwhile is skipped, untouched. The pending occurrence is a
  queued job: migrate rewrites it with the other queued jobs.

  Input:
    KEYS[1] repeats hash
    ARGV[1] repeat key (<key>:ended for an ended schedule)
    ARGV[2] SHA-1 of the spec JSON read
    ARGV[3] SHA-1 of the template JSON read   ARGV[4] the new spec JSON
    ARGV[5] the new template JSON
  Output: 1 written; 0 changed since read (skipped)
  Events: none
]]
-- The spec field: <key>, or <key>:ended for an ended schedule, whose
-- template stays as <key>:job (includes/repeat.lua).
local field = ARGV[1]
local jobField = string.gsub(field, ':ended$', '') .. ':job'
local r = redis.call('HMGET', KEYS[1], field, jobField)
if not r[1] or not r[2] then return 0 end
if redis.sha1hex(r[1]) ~= ARGV[2] or redis.sha1hex(r[2]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], field, ARGV[4], jobField, ARGV[5])
return 1
