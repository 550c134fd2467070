/**
 * Email example, web side: a `node:http` server whose `POST /signup`
 * enqueues a typed welcome email. A bad request body gets a 400 naming the
 * failing field; nothing reaches Redis.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3000 tsx packages/examples/src/email/server.ts
 *
 * `JOBWIRE_PREFIX` sets the key prefix.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ValidationError } from '@jobwire/core';
import {
  createJobsQueue,
  enqueueSendEmail,
  type JobsQueue,
} from '../generated/producer.ts';

/** What a signup request must carry. */
const signupBody = z.object({
  email: z.email(),
  name: z.string().min(1).max(100),
});

async function readJson(
  req: IncomingMessage,
  limit = 64 * 1024,
): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** Starts the signup server on `port` (0 picks a free one). */
export function startSignupServer(
  queue: JobsQueue,
  port: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/signup')
      return send(404, { error: 'not found' });
    void (async () => {
      let raw: unknown;
      try {
        raw = await readJson(req);
      } catch {
        return send(400, { error: 'body must be JSON', issues: [] });
      }
      const body = signupBody.safeParse(raw);
      if (!body.success) {
        const issues = body.error.issues.map((i) => ({
          path: i.path.join('.'),
          message: i.message,
        }));
        return send(400, {
          error: `invalid ${issues.map((i) => i.path).join(', ')}`,
          issues,
        });
      }
      try {
        const job = await enqueueSendEmail(queue, {
          to: body.data.email,
          subject: `Welcome, ${body.data.name}!`,
          body: `Hi ${body.data.name}, thanks for signing up.`,
          tags: ['welcome'],
        });
        send(202, { jobId: job.id });
      } catch (err) {
        if (err instanceof ValidationError)
          return send(400, { error: err.message, issues: err.issues });
        send(503, { error: 'could not enqueue, try again' });
      }
    })();
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve(server)),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const queue = createJobsQueue({
    connection: process.env.REDIS_URL,
    prefix: process.env.JOBWIRE_PREFIX || undefined,
  });
  const server = await startSignupServer(
    queue,
    Number(process.env.PORT ?? 3000),
  );
  console.log(`signup server on ${JSON.stringify(server.address())}`);
}
