import { Redis } from 'ioredis';

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

/**
 * Runs BUSY_LOOP_SCRIPT for `ms` on the Redis at `url` (whose
 * `busy-reply-threshold` the caller lowered), and returns once other
 * clients get BUSY; `ended` resolves at the script's end (local clock).
 */
export async function startBusy(
  url: string,
  ms: number,
): Promise<{ ended: Promise<number> }> {
  const busy = new Redis(url, { maxRetriesPerRequest: 0 });
  const probe = new Redis(url, { maxRetriesPerRequest: 0 });
  await Promise.all([busy.ping(), probe.ping()]);
  let over = false;
  const ended = busy
    .eval(BUSY_LOOP_SCRIPT, 0, String(ms))
    .then(() => Date.now())
    .finally(() => {
      over = true;
      busy.disconnect();
    });
  // A caller that failed before awaiting it must not leave it unhandled.
  ended.catch(() => {});
  try {
    // A ping answered PONG went before the script (or its first 100 ms).
    for (;;) {
      // A stalled test process could miss a short BUSY altogether.
      if (over)
        throw new Error(`the ${ms} ms script ended before BUSY was seen`);
      const refused = await probe.ping().then(
        () => false,
        (err: Error) => err.message.startsWith('BUSY '),
      );
      if (refused) return { ended };
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    probe.disconnect();
  }
}

/**
 * A client of the Redis at `url` with `busy-reply-threshold` lowered to
 * 100 ms, so a test's script makes Redis answer BUSY soon (for packages that
 * do not depend on ioredis themselves).
 */
export async function busyAdmin(url: string): Promise<Redis> {
  const admin = new Redis(url);
  await admin.config('SET', 'busy-reply-threshold', '100');
  return admin;
}
