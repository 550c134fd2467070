/**
 * Issue 16, observable: the dashboard's flow control panel shows per type
 * its rules, rate window and counters, and per key what it waits on, from
 * `/stats`'s `flow`; the panel is hidden while no type has flow state. The
 * state is written straight into Redis (flow-layout.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  seedFlowType,
  tenantSeed,
} from '../../core/test/helpers/flow-layout.ts';
import { useRedis } from '../../core/test/helpers/redis-server.ts';
import { useDashboards } from './support/dashboard.ts';

const redis = useRedis();
const open = useDashboards(redis);

describe('dashboard: flow control', () => {
  it('shows per type the rules and counters, and per key why it waits', async () => {
    await open(
      async (d) => {
        await d.signIn();
        await d.queue.enqueue('flaky', { note: 'x' });
        await expect
          .poll(() => d.text('[data-count="waiting"]'), { timeout: 5000 })
          .toBe('1');
        // No flow state yet: no panel.
        expect(await d.page.locator('#flow').isHidden()).toBe(true);

        await seedFlowType(redis.url, d.queueName, {
          ...tenantSeed,
          type: 'sendEmail',
          // Keys are payload data: shown as text, never as markup.
          throttledKeys: { '<img src=x>': 9, globex: 3 },
        });
        await seedFlowType(redis.url, d.queueName, {
          type: 'flaky',
          rules: { rateLimit: { limit: 2, perMs: 60_000, keyed: false } },
          typeStarts: [10, 20],
        });
        // An event makes the page read /stats again.
        await d.queue.enqueue('flaky', { note: 'y' });
        const type = (name: string, col: number) =>
          `#flow-type-rows tr[data-type="${name}"] td:nth-child(${col})`;
        await expect
          .poll(() => d.text(type('sendEmail', 4)), { timeout: 5000 })
          .toBe('3');
        expect(await d.page.locator('#flow').isHidden()).toBe(false);
        expect(await d.text(type('sendEmail', 2))).toBe(
          '5 per 1 s per key · 2 active per key',
        );
        expect(await d.text(type('sendEmail', 3))).toBe('–');
        expect(await d.text(type('sendEmail', 5))).toBe('12');
        expect(await d.text(type('sendEmail', 6))).toBe('4');
        expect(await d.text(type('sendEmail', 7))).toBe(
          '<img src=x> 9 · globex 3',
        );
        expect(await d.page.locator('#flow img').count()).toBe(0);
        expect(await d.text(type('flaky', 2))).toBe('2 per 1 min');
        expect(await d.text(type('flaky', 3))).toMatch(
          /^2 \/ 2 \(full, frees in \d+ s\)$/,
        );

        const rows = await d.page
          .locator('#flow-key-rows tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [
              ...[...tr.querySelectorAll('td')].map((td) => td.textContent),
            ]),
          );
        expect(rows.map((r) => r.slice(0, 4))).toEqual([
          ['sendEmail', 'acme', '40', '2'],
          ['sendEmail', 'globex', '7', '1'],
          ['sendEmail', 'initech', '3', '0'],
        ]);
        expect(rows[0]![4]).toBe('at its concurrency limit (2 / 2 active)');
        expect(rows[1]![4]).toMatch(/^rate limit, frees in \d+ s$/);
        expect(rows[2]![4]).toBe('its turn (keys take turns)');
      },
      { noPageErrors: true },
    );
  });
});
