/**
 * `pnpm --filter @jobwire/bench lua-cost [calls]`: what the parts of a
 * script call cost Redis, in instructions per call (callgrind, on a
 * private redis-server): a bare `EVALSHA`, its arguments, helper closures,
 * `TIME`, `string.format` and new strings joined from parts. Each variant
 * runs `calls` times; the difference to the bare call is the part's cost.
 * These are what every jobwire script pays once per call, whatever its
 * batch holds (docs/performance.md).
 */
import { Redis } from 'ioredis';
import { annotate, startCallgrindRedis, totalOf } from './callgrind-redis.ts';

const calls = Number(process.argv[2] ?? 2000);
const closures = Array.from(
  { length: 35 },
  (_, i) => `local function f${i}(a, b) return a + b + ${i} end`,
).join('\n');
const args21 = Array.from({ length: 21 }, (_, i) => String(i).repeat(5));
// Job ids as a script gets them: distinct strings, new to Lua each call.
let call = 0;
const args10: string[] = [];
const nextIds = (): string[] => {
  call++;
  for (let i = 0; i < 10; i++) args10[i] = `${call}-${i}`;
  return args10;
};

/** Variant name, script, arguments. */
const VARIANTS: [string, string, string[]][] = [
  ['bare EVALSHA', 'return 1', []],
  ['with 21 arguments', 'return 1', args21],
  ['with 35 helper closures', `${closures}\nreturn 1`, []],
  ['one TIME', "redis.call('TIME') return 1", []],
  [
    "5 string.format('%d')",
    "local s for i = 1, 5 do s = string.format('%d', 1234567 + i) end return 1",
    [],
  ],
  ['with 10 arguments', 'return 1', args10],
  [
    '10 key names from arguments',
    "local b, s = 'jobwire:{bench}:' for i = 1, 10 do s = b .. 'j:' .. ARGV[i] end return 1",
    args10,
  ],
  [
    '10 key names from a number',
    "local b, s = 'jobwire:{bench}:' for i = 1, 10 do s = b .. 'j:' .. i end return 1",
    [],
  ],
];

const server = await startCallgrindRedis();
const client = new Redis({ port: server.port });
try {
  let bare = 0;
  let withTen = 0;
  for (const [name, lua, args] of VARIANTS) {
    const sha = (await client.script('LOAD', lua)) as string;
    const argsOf = (): string[] => (args === args10 ? nextIds() : args);
    for (let i = 0; i < 50; i++) await client.evalsha(sha, 0, ...argsOf());
    const dump = await server.measure(async () => {
      for (let i = 0; i < calls; i++) await client.evalsha(sha, 0, ...argsOf());
    });
    const perCall = totalOf(annotate(dump)) / calls;
    if (bare === 0) bare = perCall;
    const base = name.startsWith('10 key names from arguments')
      ? withTen
      : bare;
    if (name === 'with 10 arguments') withTen = perCall;
    const extra = base === perCall ? '' : ` (+${Math.round(perCall - base)})`;
    console.log(
      `${name.padEnd(28)} ${Math.round(perCall).toLocaleString('en-US').padStart(7)} instructions per call${extra}`,
    );
  }
} finally {
  client.disconnect();
  server.stop();
}
