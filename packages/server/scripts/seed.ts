/**
 * Fills a queue of the root jobs.schema.ts with a realistic mix for the
 * screenshots: completed and waiting emails, delayed reminders, webhooks
 * that failed every attempt, and two slideshows active mid-render.
 */
import {
  createWorker,
  PermanentError,
  type Logger,
  type Queue,
  type QueueCounts,
} from '@jobwire/core';
import type { Jobs } from '../../../jobs.schema.ts';
import { jobs } from '../../../jobs.schema.ts';

const quiet: Logger = { warn: () => {}, error: () => {} };
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

const people = [
  ['ada@lovelace.dev', 'Ada'],
  ['grace@hopper.io', 'Grace'],
  ['linus@kernel.example', 'Linus'],
  ['margaret@apollo.nasa.example', 'Margaret'],
  ['alan@bletchley.example', 'Alan'],
  ['barbara@liskov.example', 'Barbara'],
  ['ken@unix.example', 'Ken'],
] as const;

const subjects = [
  'Welcome to Acme, {name}',
  'Your invoice INV-{n} is ready',
  'Reset your password',
  '{name}, your export has finished',
  'New sign-in from Firefox on Linux',
];

function email(i: number) {
  const [to, name] = people[i % people.length]!;
  const subject = subjects[i % subjects.length]!.replace(
    '{name}',
    name,
  ).replace('{n}', String(2040 + i));
  return {
    to,
    subject,
    body: `Hi ${name},\n\nThanks for using Acme.`,
    tags: i % 2 === 0 ? ['transactional'] : ['transactional', 'billing'],
  };
}

/** Why the demo webhook receiver fails: a realistic named error. */
class WebhookDeliveryError extends Error {
  override name = 'WebhookDeliveryError';
}

async function post(url: string, attempt: number): Promise<never> {
  await sleep(5);
  throw new WebhookDeliveryError(
    attempt < 3
      ? `POST ${url} answered 503 Service Unavailable`
      : `POST ${url} timed out after 10000 ms`,
  );
}

async function until(
  queue: Queue<Jobs>,
  done: (c: QueueCounts) => boolean,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done(await queue.getCounts())) {
    if (Date.now() > deadline) throw new Error('seeding timed out');
    await sleep(50);
  }
}

/**
 * Seeds the queue. Returns one active and one failed job id, and `stop()`,
 * which ends the worker still holding the active slideshows.
 */
export async function seedDemoJobs(
  queue: Queue<Jobs>,
  connection: string,
): Promise<{ activeId: string; failedId: string; stop(): Promise<void> }> {
  // 1. Finished work: emails sent, slideshows rendered, webhooks that failed.
  const finisher = createWorker(
    jobs,
    {
      sendEmail: async (job) => {
        if (job.data.to.startsWith('bounce')) {
          await job.log(`smtp: RCPT TO:<${job.data.to}>`);
          throw new PermanentError(
            `550 5.1.1 <${job.data.to}>: mailbox unavailable`,
          );
        }
        await job.log(`smtp: 250 queued as ${job.id.slice(0, 8)}`);
        return { messageId: `<${job.id}@mail.acme.example>` };
      },
      renderSlideshow: async (job) => {
        for (let i = 1; i <= job.data.slides.length; i++) {
          await job.progress({
            percent: Math.round((i / job.data.slides.length) * 100),
            slide: i,
          });
        }
        await job.log(`rendered ${job.data.slides.length} slides`);
        return { pages: job.data.slides.length, bytes: 48_213 * 12 };
      },
      deliverWebhook: async (job) => {
        await job.log(`attempt ${job.attempt}: POST ${job.data.url}`);
        return post(job.data.url, job.attempt);
      },
    },
    { connection, logger: quiet, concurrency: 8 },
  );
  finisher.on('error', () => {});
  for (let i = 0; i < 11; i++) await queue.enqueue('sendEmail', email(i));
  await queue.enqueue('renderSlideshow', {
    title: 'Q2 board review',
    slides: Array.from({ length: 12 }, (_, i) => `slide-${i + 1}`),
  });
  const failed = await queue.enqueue('deliverWebhook', {
    url: 'https://hooks.acme-billing.example/jobwire',
    event: 'invoice.paid',
    body: { invoice: 'INV-2051', amount: 129, currency: 'EUR' },
  });
  // A partner's endpoint went down: a burst of failed deliveries.
  for (const user of ['usr_8QfZ2', 'usr_31kLm', 'usr_Z0x9a', 'usr_77pQe']) {
    await queue.enqueue('deliverWebhook', {
      url: 'https://crm.partner.example/hooks/users',
      event: 'user.created',
      body: { user, plan: 'team' },
    });
  }
  await queue.enqueue('sendEmail', {
    ...email(3),
    to: 'bounce@old-domain.example',
  });
  await until(queue, (c) => c.completed === 12 && c.failed === 6);
  await finisher.close();

  // 2. Two slideshows mid-render, held active until stop().
  const release = new AbortController();
  const renderer = createWorker(
    jobs,
    {
      renderSlideshow: async (job) => {
        const upTo = Math.ceil(job.data.slides.length * 0.4);
        for (let i = 1; i <= upTo; i++) {
          await job.progress({
            percent: Math.round((i / job.data.slides.length) * 100),
            slide: i,
          });
          await job.log(`rendered slide ${i} of ${job.data.slides.length}`);
        }
        await new Promise((resolve) =>
          release.signal.addEventListener('abort', resolve),
        );
        return { pages: job.data.slides.length, bytes: 0 };
      },
    },
    { connection, logger: quiet, concurrency: 2 },
  );
  renderer.on('error', () => {});
  const active = await queue.enqueue('renderSlideshow', {
    title: 'Product launch deck',
    slides: Array.from({ length: 18 }, (_, i) => `launch-${i + 1}`),
  });
  await queue.enqueue('renderSlideshow', {
    title: 'Onboarding handbook',
    slides: Array.from({ length: 10 }, (_, i) => `onboarding-${i + 1}`),
  });
  await until(queue, (c) => c.active === 2);
  await sleep(300); // the progress writes of both

  // 3. Work nobody has taken yet: waiting emails and webhooks, reminders.
  for (let i = 11; i < 28; i++) {
    // Password resets jump the line.
    const priority = email(i).subject.startsWith('Reset') ? 'high' : 'normal';
    await queue.enqueue('sendEmail', email(i), { priority });
  }
  for (const [i, event] of (
    ['user.created', 'invoice.paid'] as const
  ).entries())
    await queue.enqueue('deliverWebhook', {
      url: 'https://hooks.acme-billing.example/jobwire',
      event,
      body: { seq: i + 1 },
    });
  for (let i = 0; i < 3; i++) {
    await queue.enqueue(
      'sendEmail',
      {
        ...email(i),
        subject: 'Your trial ends in 3 days',
      },
      { delayMs: (i + 1) * 3_600_000 },
    );
  }

  return {
    activeId: active.id,
    failedId: failed.id,
    async stop() {
      release.abort();
      await renderer.close();
    },
  };
}
