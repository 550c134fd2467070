/**
 * Awaiting a typed result from another process. `enqueue` prints the job id
 * and exits; `await <id>`, run from any other process, later or at once,
 * waits for the result through Redis and prints it.
 *
 *   tsx packages/examples/src/results/await-result.ts enqueue
 *   tsx packages/examples/src/results/await-result.ts await 42
 *
 * `REDIS_URL` and `JOBWIRE_PREFIX` (key prefix) are read from the environment.
 */
import { createJobsQueue, enqueueSendEmail } from '../generated/producer.ts';

const [command, id] = process.argv.slice(2);
const queue = createJobsQueue({
  connection: process.env.REDIS_URL,
  prefix: process.env.JOBWIRE_PREFIX || undefined,
});
try {
  if (command === 'enqueue') {
    const job = await enqueueSendEmail(queue, {
      to: 'grace@example.com',
      subject: 'Your invoice',
      body: 'Attached.',
    });
    console.log(job.id);
  } else if (command === 'await' && id) {
    // Typed: { messageId: string }, from the result schema.
    const result = await queue.waitForResult('sendEmail', id, {
      timeoutMs: 30_000,
    });
    console.log(JSON.stringify(result));
  } else {
    console.error('usage: await-result.ts enqueue | await <id>');
    process.exitCode = 2;
  }
} finally {
  await queue.close();
}
