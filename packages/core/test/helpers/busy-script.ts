/**
 * A read-only Lua script that spins for ARGV[1] ms of Redis time: run with
 * `EVAL <script> 0 <ms>`, it makes Redis answer BUSY to other clients once
 * `busy-reply-threshold` has passed, until it ends.
 */
export const BUSY_LOOP_SCRIPT = [
  'local function us() local t = redis.call("TIME")',
  'return tonumber(t[1]) * 1000000 + tonumber(t[2]) end',
  'local s = us()',
  'while us() - s < tonumber(ARGV[1]) * 1000 do end',
  'return 1',
].join(' ');
