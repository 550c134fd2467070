#!lua
--[[
  Records that a running worker reads the given version lanes, whether or
  not it leases now: a worker whose slots are all taken by long jobs, or
  whose queue or itself is paused, makes no leasing call, yet it still
  reads those versions. Without this note the stats would say its lanes
  wait for a newer worker (see noteReaders in includes/lease.lua, which
  leasing calls write the same way).

  Input:
    KEYS[1] readers hash
    ARGV: reader fields, `<type>@<newest version known>` (version >= 2)
  Output: 1
  Events: none
]]
-- @include base
local now = nowMs()
local fields = {}
for i = 1, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = now
end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
return 1
