/**
 * `npm run demo`: a producer (this process) and a worker (a child process)
 * exchange typed jobs over Redis, using packages/examples/src/jobs.schema.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@jobwire/core';
import {
  createJobsQueue,
  enqueueDeliverWebhook,
  enqueueRenderSlideshow,
  enqueueSendEmail,
  watchRenderSlideshowProgress,
} from './generated/producer.ts';
import { findOrStartRedis } from './support/redis.ts';

const redis = await findOrStartRedis();
if (!redis) {
  console.error(
    'demo: no Redis found: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server (apt-get install -y redis-server)',
  );
  process.exit(1);
}
// A private prefix keeps the demo's keys apart from anything else in Redis.
const prefix = `jobwire-demo-${process.pid}`;
console.log(
  `demo: Redis at ${redis.url} (${redis.source}), key prefix ${prefix}`,
);

const workerFile = fileURLToPath(new URL('./demo-worker.ts', import.meta.url));
const worker = spawn(process.execPath, ['--import', 'tsx', workerFile], {
  env: { ...process.env, REDIS_URL: redis.url, JOBWIRE_PREFIX: prefix },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const queue = createJobsQueue({ connection: redis.url, prefix });
let exitCode = 0;

try {
  // 1. A payload that does not match its schema never reaches Redis.
  try {
    // As if parsed from a request body: the compiler cannot see into it.
    const fromRequest = JSON.parse(
      '{"to":"not-an-email","subject":"","body":"x"}',
    ) as { to: string; subject: string; body: string };
    await enqueueSendEmail(queue, fromRequest);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    console.log(
      `producer: rejected a bad payload before Redis: ${err.message}`,
    );
  }

  // 2. A mix of types and priorities, a delayed job and a job that fails twice.
  const emails = await Promise.all(
    (['low', 'normal', 'critical'] as const).map((priority) =>
      enqueueSendEmail(
        queue,
        {
          to: 'ada@example.com',
          subject: `${priority} priority`,
          body: 'Hello',
        },
        { priority },
      ),
    ),
  );
  const later = await enqueueSendEmail(
    queue,
    { to: 'ada@example.com', subject: 'sent 1 s later', body: 'Hi' },
    { delayMs: 1000 },
  );
  const hook = await enqueueDeliverWebhook(queue, {
    url: 'https://hooks.example.com/in',
    event: 'invoice.paid',
    body: { invoice: 'INV-1' },
  });
  console.log(`producer: enqueued ${emails.length + 2} jobs`);

  // 3. Typed results, awaited through Redis (works from any process).
  for (const h of emails) {
    const { messageId } = await h.finished({ timeoutMs: 30_000 });
    console.log(`producer: email ${h.id} sent as ${messageId}`);
  }
  await hook.finished({ timeoutMs: 30_000 });
  const hookInfo = await queue.getJob(hook.id);
  console.log(
    `producer: webhook delivered on attempt ${hookInfo?.attemptsMade ?? '?'} (2 failures retried with backoff)`,
  );

  // 4. Live progress from the durable event log.
  const pdf = await enqueueRenderSlideshow(queue, {
    title: 'Quarterly review',
    slides: ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'],
  });
  const tty = process.stdout.isTTY === true;
  // Typed by the progress schema: no cast.
  const rendered = await watchRenderSlideshowProgress(
    queue,
    pdf,
    ({ percent }) => {
      const bar = '#'.repeat(Math.round(percent / 5)).padEnd(20, '.');
      const line = `producer: rendering [${bar}] ${String(percent).padStart(3)}%`;
      if (tty) process.stdout.write(`\r${line}${percent === 100 ? '\n' : ''}`);
      else console.log(line);
    },
    { timeoutMs: 30_000 },
  );
  console.log(
    `producer: PDF ready: ${rendered.pages} pages, ${rendered.bytes} bytes`,
  );

  await later.finished({ timeoutMs: 30_000 });
  const laterInfo = await queue.getJob(later.id);
  const waited = (laterInfo?.startedAt ?? 0) - (laterInfo?.createdAt ?? 0);
  console.log(
    `producer: delayed email started ${waited} ms after enqueue (delayMs 1000)`,
  );

  const counts = await queue.getCounts();
  console.log(
    `demo: done. completed ${counts.completed}, failed ${counts.failed}, waiting ${counts.waiting}, active ${counts.active}`,
  );
} catch (err) {
  console.error(`demo: failed: ${(err as Error).message}`);
  exitCode = 1;
} finally {
  const exited = new Promise<number | null>((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  const workerCode = await exited;
  if (workerCode !== 0) exitCode = 1;
  await queue.drain({ delayed: true });
  await removeDemoKeys();
  await queue.close();
  await redis.stop();
}
process.exit(exitCode);

/** Leaves the user's Redis as it was: deletes every key under the demo prefix. */
async function removeDemoKeys(): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis!.url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        `${prefix}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}
