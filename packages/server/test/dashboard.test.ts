/**
 * The web dashboard in headless Chromium: live counts from the event
 * stream, the list, the detail view and its actions, against a real Redis.
 */
import type { Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createWorker } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { useRedis } from '../../core/test/helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from '../../core/test/helpers/wait.ts';
import {
  quiet,
  registryFor,
  TOKEN,
  useDashboards,
  type Dashboard,
} from './support/dashboard.ts';

const redis = useRedis();
const open = useDashboards(redis);
const withDashboard = (fn: (d: Dashboard) => Promise<void>) =>
  open(fn, { noPageErrors: true });

const email = (i: number) => ({ to: `u${i}@example.com`, subject: `s${i}` });

describe('dashboard', () => {
  it('counts per state and per type follow the event stream, without a reload', async () => {
    await withDashboard(async (d) => {
      await d.signIn();
      await expect.poll(() => d.text('[data-count="waiting"]')).toBe('0');
      await d.page.evaluate('window.__sameDocument = true');
      // Let the start-up refreshes (throttled to one per 250 ms) finish:
      // after this, only an event can bring the new counts.
      await sleep(600);

      // Enqueued by another process's Queue, after the page is open.
      for (let i = 0; i < 3; i++) await d.queue.enqueue('sendEmail', email(i));
      await d.queue.enqueue('flaky', { note: 'n' });

      await expect
        .poll(() => d.text('[data-count="waiting"]'), { timeout: 5000 })
        .toBe('4');
      const row = '#types tr[data-type="sendEmail"] td';
      await expect.poll(() => d.text(`${row}:nth-child(3)`)).toBe('3');
      await expect.poll(() => d.page.locator('#jobs tr').count()).toBe(4);
      expect(await d.page.evaluate('window.__sameDocument')).toBe(true);
    });
  });

  it('Retry sends a failed job back to waiting, in Redis and on the page', async () => {
    await withDashboard(async (d) => {
      const { id } = await d.queue.enqueue('flaky', { note: 'retry me' });
      await d.fail(id, 'boom from the handler', 'about to fail');
      await d.signIn();
      await d.page.click('[data-state="failed"]');
      await d.page.click(`#jobs tr[data-id="${id}"]`);
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Failed');
      // The detail view shows the error, its stack and the log.
      expect(await d.text('#detail .error-message')).toBe(
        'Error: boom from the handler',
      );
      expect(await d.text('#detail pre.stack')).toMatch(
        /^Error: boom from the handler\n\s+at /,
      );
      expect(await d.text('#detail .logs')).toBe('about to fail');
      expect(await d.text('#detail [data-role="data"]')).toContain('retry me');

      await d.page.click('#detail button[data-action="retry"]');
      await expect
        .poll(async () => (await d.queue.getJob(id))?.state)
        .toBe('waiting');
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Waiting');
      await expect.poll(() => d.text('[data-count="failed"]')).toBe('0');
      await expect.poll(() => d.text('#toast')).toBe(`Retried job ${id}`);
    });
  });

  it('Promote makes a delayed job waiting; Remove asks twice, then deletes it', async () => {
    await withDashboard(async (d) => {
      const { id } = await d.queue.enqueue('sendEmail', email(1), {
        delayMs: 600_000,
      });
      await d.signIn();
      await d.page.click('[data-state="delayed"]');
      await d.page.click(`#jobs tr[data-id="${id}"]`);
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Delayed');
      expect(
        await d.page.isDisabled('#detail button[data-action="retry"]'),
      ).toBe(true);

      await d.page.click('#detail button[data-action="promote"]');
      await expect
        .poll(async () => (await d.queue.getJob(id))?.state)
        .toBe('waiting');
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Waiting');
      await expect.poll(() => d.text('[data-count="delayed"]')).toBe('0');

      const remove = '#detail button[data-action="remove"]';
      await d.page.click(remove);
      expect(await d.text(remove)).toBe('Confirm remove');
      expect(await d.queue.getJob(id)).toBeDefined();
      await d.page.click(remove);
      await expect.poll(async () => d.queue.getJob(id)).toBeUndefined();
      await expect.poll(() => d.text('#detail')).toContain(`Removed job ${id}`);
      await expect.poll(() => d.text('[data-count="waiting"]')).toBe('0');
    });
  });

  it('Remove stays armed when an event re-renders the panel between the two clicks', async () => {
    await withDashboard(async (d) => {
      const { id } = await d.queue.enqueue('sendEmail', email(1), {
        delayMs: 600_000,
      });
      await d.signIn();
      await d.page.click('[data-state="delayed"]');
      await d.page.click(`#jobs tr[data-id="${id}"]`);
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Delayed');
      const remove = '#detail button[data-action="remove"]';
      await d.page.click(remove);
      expect(await d.text(remove)).toBe('Confirm remove');

      // Someone else promotes it: the 'promoted' event re-renders the panel.
      await d.queue.promote(id);
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Waiting');
      expect(await d.text(remove)).toBe('Confirm remove');
      await d.page.click(remove);
      await expect.poll(async () => d.queue.getJob(id)).toBeUndefined();
    });
  });

  it('Cancel asks twice: a delayed job ends cancelled, an active one is aborted', async () => {
    await withDashboard(async (d) => {
      const { id } = await d.queue.enqueue('sendEmail', email(1), {
        delayMs: 600_000,
      });
      await d.signIn();
      await d.page.click('[data-state="delayed"]');
      await d.page.click(`#jobs tr[data-id="${id}"]`);
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Delayed');
      const cancel = '#detail button[data-action="cancel"]';
      await d.page.click(cancel);
      expect(await d.text(cancel)).toBe('Confirm cancel');
      expect((await d.queue.getJob(id))?.state).toBe('delayed');
      await d.page.click(cancel);
      await expect
        .poll(async () => (await d.queue.getJob(id))?.state)
        .toBe('cancelled');
      await expect
        .poll(() => d.text('#detail [data-role="state"]'))
        .toBe('Cancelled');
      expect(await d.page.isDisabled(cancel)).toBe(true);
      await expect.poll(() => d.text('[data-count="cancelled"]')).toBe('1');
      await expect.poll(() => d.text('#toast')).toBe(`Cancelled job ${id}`);

      // An active job: its handler waits for its signal.
      let aborted: unknown;
      const worker = createWorker(
        d.queue.registry,
        {
          sendEmail: (j) =>
            new Promise((_, reject) => {
              j.signal.addEventListener('abort', () => {
                aborted = j.signal.reason;
                reject(j.signal.reason as Error);
              });
            }),
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      try {
        const active = await d.queue.enqueue('sendEmail', email(2));
        await d.page.click('[data-state="active"]');
        await d.page.click(`#jobs tr[data-id="${active.id}"]`);
        await expect
          .poll(() => d.text('#detail [data-role="state"]'))
          .toBe('Active');
        await d.page.click(cancel);
        await d.page.click(cancel);
        await expect
          .poll(() => d.text('#toast'))
          .toContain(`Cancel of job ${active.id} requested`);
        await expect
          .poll(async () => (await d.queue.getJob(active.id))?.state)
          .toBe('cancelled');
        expect(aborted).toMatchObject({ code: 'CANCELLED' });
        await expect.poll(() => d.text('[data-count="cancelled"]')).toBe('2');
      } finally {
        await worker.close();
      }
    });
  });

  it('pages through a state and filters by type', async () => {
    await withDashboard(async (d) => {
      await d.queue.enqueueBulk([
        ...Array.from({ length: 30 }, (_, i) => ({
          name: 'sendEmail' as const,
          payload: email(i),
        })),
        ...Array.from({ length: 5 }, (_, i) => ({
          name: 'flaky' as const,
          payload: { note: `f${i}` },
        })),
      ]);
      await d.signIn();
      const rows = () => d.page.locator('#jobs tr').count();
      await expect.poll(rows).toBe(25);
      expect(await d.text('#page-info')).toBe('1–25 of 35');
      await d.page.click('#next');
      await expect.poll(rows).toBe(10);
      expect(await d.text('#page-info')).toBe('26–35 of 35');
      expect(await d.page.isDisabled('#next')).toBe(true);

      await d.page.selectOption('#type-filter', 'flaky');
      await expect.poll(rows).toBe(5);
      expect(await d.text('#page-info')).toBe('1–5 of 5');
      const types = await d.page
        .locator('#jobs tr td:nth-child(2)')
        .allTextContents();
      expect(new Set(types)).toEqual(new Set(['flaky']));
      // Clicking the type's row in the table toggles the filter off.
      await d.page.click('#types tr[data-type="flaky"]');
      await expect.poll(rows).toBe(25);
    });
  });

  it('the progress bar of an open job moves with progress events', async () => {
    await withDashboard(async (d) => {
      const registry = registryFor(d.queueName);
      let step: () => void = () => {};
      const worker = createWorker(
        registry,
        {
          sendEmail: async (j) => {
            await j.progress(30);
            await new Promise<void>((r) => (step = r));
            await j.progress(80);
            await new Promise<void>((r) => (step = r));
          },
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      try {
        const { id } = await d.queue.enqueue('sendEmail', email(1));
        await d.signIn();
        await d.page.click('[data-state="active"]');
        await d.page.click(`#jobs tr[data-id="${id}"]`);
        const bar = '#detail [data-role="progress"] progress';
        await expect
          .poll(() => d.page.getAttribute(bar, 'value'), { timeout: 5000 })
          .toBe('30');
        step();
        await expect.poll(() => d.page.getAttribute(bar, 'value')).toBe('80');
        step();
        await expect
          .poll(() => d.text('#detail [data-role="state"]'))
          .toBe('Completed');
      } finally {
        step();
        await worker.close();
      }
    });
  });

  it('reconnects after the server restarts, resuming with Last-Event-ID', async () => {
    await withDashboard(async (d) => {
      const streams: Request[] = [];
      d.page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/events') streams.push(r);
      });
      await d.signIn();
      await d.queue.enqueue('sendEmail', email(1));
      await expect.poll(() => d.text('[data-count="waiting"]')).toBe('1');

      const port = Number(new URL(d.server.url).port);
      await d.server.close();
      await expect
        .poll(() => d.page.getAttribute('#live', 'data-status'))
        .toBe('reconnecting');
      // Changes made while the page was cut off show after it reconnects.
      await d.queue.enqueue('sendEmail', email(2));
      const again = await startServer({
        registry: registryFor(d.queueName),
        connection: redis.url,
        token: TOKEN,
        port,
        logger: quiet,
      });
      try {
        await expect
          .poll(() => d.text('[data-count="waiting"]'), { timeout: 8000 })
          .toBe('2');
        // The count may come first, from a throttled refresh that was
        // already due while the stream waits out its retry delay.
        await expect
          .poll(() => d.page.getAttribute('#live', 'data-status'), {
            timeout: 8000,
          })
          .toBe('live');
        const resumed = streams[streams.length - 1]!;
        expect(streams.length).toBeGreaterThan(1);
        expect(await resumed.headerValue('last-event-id')).toMatch(/^\d+-\d+$/);
        expect(await resumed.headerValue('authorization')).toBe(
          `Bearer ${TOKEN}`,
        );
      } finally {
        await again.close();
      }
    });
  });
});
