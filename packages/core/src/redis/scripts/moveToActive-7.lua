#!lua
--[[
  Promotes due delayed jobs, then leases up to N waiting jobs of the given
  types, best priority first and FIFO within a priority. Jobs past their
  expiry that never started are moved to `expired` instead (at most 1000 per
  call; the rest on the next calls), and expired jobs are trimmed by their
  type's failed-job keep rule. Leasing a job ends its expiry.

  Input:
    KEYS[1] id counter   KEYS[2] delayed   KEYS[3] active   KEYS[4] counts
    KEYS[5] events       KEYS[6] meta      KEYS[7] expired
    ARGV[1] key base   ARGV[2] max events   ARGV[3] lease ms
    ARGV[4] lease token prefix, unique per call (`<worker id>:<call number>`;
      a job's token is the prefix, ':' and its place in this call's reply)
    ARGV[5] max jobs
    ARGV[6] how many of them start at once (the rest are prefetched:
      marked unstarted until the worker reports their start)
    ARGV[7] number of types, then 8 fields each: type name, max jobs of that
      type, the newest contract version of it the worker knows (it reads the
      type's lanes up to that version only; see leaseLanes in lease.lua),
      then its flow rules: keyed (0|1), per-key concurrency limit (0 none),
      rate limit (0 none), rate window ms, rate limit per key (0|1)
  Output: { paused (0|1), next due ms: the next delayed job or the first
            moment a job held back by a rate limit can start (-1 = none),
            now ms, count,
            then 10 fields per job: id, type, data, options, attempts made,
            lease token, stall count, created ms, version, contract
            fingerprint; options and fingerprint are nil when the same as
            the previous job's }
  Events: waiting (promoted), active, expired
]]
-- @include base
-- @include tally
-- @include lease
local base, maxEvents = ARGV[1], ARGV[2]
local now = nowMs()
local nextDue = promoteDue(base, KEYS[1], KEYS[2], KEYS[5], maxEvents, now)
if redis.call('HGET', KEYS[6], 'paused') == '1' then
  flushTally(KEYS[4])
  trimEvents(KEYS[5], maxEvents)
  return { 1, nextDue, now, 0 }
end
local types, quota, known, rules = readLeaseTypes(7)
local out, due = { 0, nextDue, now, 0 }, -1
out[4], due = leaseJobs(base, KEYS[3], KEYS[5], KEYS[7], KEYS[4], maxEvents, tonumber(ARGV[3]),
  ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), types, quota, known, rules, now, out)
out[2] = earlier(nextDue, due)
flushTally(KEYS[4])
trimEvents(KEYS[5], maxEvents)
return out
