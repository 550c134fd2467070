/**
 * `pnpm --filter @jobwire/bench stored-layout [n]`: what one waiting job's
 * stored form costs in Redis memory, per variant of the layout (issue 15;
 * figures in docs/performance.md, "Stored job layout"). On a private
 * redis-server, it stores one real job with jobwire (the bench payload,
 * 208 bytes), then writes `n` (default 20000) copies of its job hash and
 * payload under fresh ids for each variant, and reports used_memory growth
 * per job, one hash's MEMORY USAGE and its encoding. Wait-zset entries and
 * events are the same in every variant and left out.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '@jobwire/core';
import { startRedis } from './redis.ts';
import { payload } from './systems/types.ts';

const n = Number(process.argv[2] ?? 20_000);
const redis = await startRedis();
const client = new Redis(redis.url);
const base = 'jobwire:{bench}:';

const jobs = defineJobs({
  bench: job({ queue: 'bench', payload: z.record(z.string(), z.unknown()) }),
});
const queue = createQueue(jobs, { connection: redis.url });
const { id } = await queue.enqueue('bench', { ...payload(0) });
await queue.close();
const hash = await client.hgetall(`${base}j:${id}`);
const data = (await client.get(`${base}p:${id}`))!;
const [ref, settings] = Object.entries(
  await client.hgetall(`${base}settings`),
)[0]!;
const bar = settings.indexOf('|');
const layout3 = hash;
// What layout 2 stored: no ref, options and fingerprint inline.
const layout2: Record<string, string> = {
  ...hash,
  o: settings.slice(bar + 1),
  fp: settings.slice(0, bar),
};
delete layout2.c;

interface Variant {
  name: string;
  fields: Record<string, string>;
  /** Payload in the hash (field d) instead of p:<id>. */
  inline: boolean;
  /** hash-max-listpack-value for the run (Redis default 64). */
  listpackValue: number;
}
const variants: Variant[] = [
  {
    name: 'layout 2 (o, fp inline)',
    fields: layout2,
    inline: false,
    listpackValue: 64,
  },
  {
    name: 'layout 3 (settings ref)',
    fields: layout3,
    inline: false,
    listpackValue: 64,
  },
  {
    name: 'layout 3, payload in hash',
    fields: layout3,
    inline: true,
    listpackValue: 64,
  },
  {
    name: 'same, hash-max-listpack-value 256',
    fields: layout3,
    inline: true,
    listpackValue: 256,
  },
];

console.log(`${n} waiting jobs, payload ${data.length} B, ref ${ref}`);
for (const v of variants) {
  await client.flushall();
  await client.config(
    'SET',
    'hash-max-listpack-value',
    String(v.listpackValue),
  );
  if (!v.inline) await client.hset(`${base}settings`, ref, settings);
  const before = Number(
    /used_memory:(\d+)/.exec(await client.info('memory'))![1],
  );
  for (let i = 0; i < n; i += 1000) {
    const pipe = client.pipeline();
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      // Same length as a generated id.
      const jid = `${id.slice(0, -6)}${j.toString(36).padStart(6, '0')}`;
      const fields = v.inline ? { ...v.fields, d: data } : v.fields;
      pipe.hset(`${base}j:${jid}`, fields);
      if (!v.inline) pipe.set(`${base}p:${jid}`, data);
    }
    await pipe.exec();
  }
  const after = Number(
    /used_memory:(\d+)/.exec(await client.info('memory'))![1],
  );
  const one = `${base}j:${id.slice(0, -6)}000000`;
  const hashBytes = Number(
    await client.call('MEMORY', 'USAGE', one, 'SAMPLES', '0'),
  );
  const payloadBytes = v.inline
    ? 0
    : Number(
        await client.call(
          'MEMORY',
          'USAGE',
          `${base}p:${id.slice(0, -6)}000000`,
        ),
      );
  const encoding = String(await client.call('OBJECT', 'ENCODING', one));
  console.log(
    `${v.name.padEnd(36)} ${((after - before) / n).toFixed(0).padStart(5)} B/job` +
      `   hash ${hashBytes} B (${encoding})${v.inline ? '' : `, p: ${payloadBytes} B`}`,
  );
}
client.disconnect();
await redis.stop();
