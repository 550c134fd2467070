/**
 * The dashboard's read-only "Repeat schedules" panel lists each schedule of
 * `GET /repeats` with its schedule, bounds and next run, and an ended one
 * as ended; it is hidden while there is none.
 */
import { describe, expect, it } from 'vitest';
import { useRedis } from '../../core/test/helpers/redis-server.ts';
import { useDashboards } from './support/dashboard.ts';

const redis = useRedis();
const open = useDashboards(redis);

describe('dashboard: repeat schedules', () => {
  it('lists a cron and an interval schedule with their next run, and an ended one', async () => {
    await open(
      async (d) => {
        await d.signIn();
        expect(await d.page.locator('#repeats').isHidden()).toBe(true);

        // Each declaration schedules an occurrence: its event refreshes the page.
        await d.queue.repeat(
          'sendEmail',
          { to: 'ops@example.com', subject: '<img src=x>' },
          { key: 'digest', cron: '0 8 * * *', tz: 'Europe/Paris' },
        );
        const once = await d.queue.repeat(
          'flaky',
          { note: 'n' },
          { key: 'once', everyMs: 60_000, limit: 1 },
        );
        await d.queue.remove(once.id);

        const cell = (key: string, n: number) =>
          `#repeat-rows tr[data-key="${key}"] td:nth-child(${n})`;
        await expect
          .poll(() => d.page.locator('#repeat-rows tr').count(), {
            timeout: 5000,
          })
          .toBe(2);
        expect(await d.page.locator('#repeats').isHidden()).toBe(false);
        expect(await d.text(cell('digest', 2))).toBe('sendEmail');
        expect(await d.text(cell('digest', 3))).toBe(d.queueName);
        expect(await d.text(cell('digest', 4))).toBe(
          'cron 0 8 * * * (Europe/Paris)',
        );
        expect(await d.text(cell('digest', 6))).toMatch(
          /^in \d+ (d|h|min|s) \(.+\)$/,
        );
        expect(await d.text(cell('digest', 7))).toBe('delayed');
        // Payloads are text, never markup.
        expect(await d.text(cell('digest', 8))).toContain('<img src=x>');
        expect(await d.text(cell('once', 4))).toBe('every 1 min');
        expect(await d.text(cell('once', 5))).toBe('limit 1');
        expect(await d.text(cell('once', 6))).toBe('–');
        expect(await d.text(cell('once', 7))).toBe('ended');

        // Removing an ended schedule writes no event (it has no pending
        // occurrence): the panel's periodic read drops it.
        expect(await d.queue.removeRepeat('flaky', 'once')).toBe(true);
        await expect
          .poll(() => d.page.locator('#repeat-rows tr').count(), {
            timeout: 15_000,
          })
          .toBe(1);
      },
      { noPageErrors: true },
    );
  });
});
