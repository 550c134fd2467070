/**
 * Issue 14: the dashboard shows how many jobs wait per contract version and
 * why, from `/stats`'s `waitingByVersion`, and hides the panel otherwise.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '@jobwire/core';
import { useRedis } from '../../core/test/helpers/redis-server.ts';
import { quiet, useDashboards } from './support/dashboard.ts';

const redis = useRedis();
const open = useDashboards(redis);

describe('dashboard: waiting by contract version', () => {
  it('shows a version-2 lane no worker reads, with its count and reason', async () => {
    await open(
      async (d) => {
        await d.signIn();
        await d.queue.enqueue('flaky', { note: 'v1' });
        await expect
          .poll(() => d.text('[data-count="waiting"]'), { timeout: 5000 })
          .toBe('1');
        // Only version 1 jobs: nothing to say per version.
        expect(await d.page.locator('#versions').isHidden()).toBe(true);

        // A newer producer: version 2 of `flaky`, which the dashboard's
        // registry (and so every worker of this test) knows only at v1.
        const note = z.object({ note: z.string() });
        const v2 = defineJobs({
          flaky: job({
            queue: d.queueName,
            version: 2,
            payload: note,
            upcast: { 1: { from: note, to: (o) => o } },
          }),
        });
        const newer = createQueue(v2, { connection: redis.url, logger: quiet });
        try {
          await newer.enqueue('flaky', { note: 'a' });
          await newer.enqueue('flaky', { note: 'b' });
        } finally {
          await newer.close();
        }
        const row = (v: number) =>
          `#version-rows tr[data-type="flaky"][data-version="${v}"] td`;
        await expect
          .poll(() => d.text(`${row(2)}:nth-child(3)`), { timeout: 5000 })
          .toBe('2');
        expect(await d.page.locator('#versions').isHidden()).toBe(false);
        expect(await d.text(`${row(2)}:nth-child(4)`)).toBe(
          'no running worker knows v2',
        );
        expect(await d.text(`${row(1)}:nth-child(3)`)).toBe('1');
      },
      { noPageErrors: true },
    );
  });
});
