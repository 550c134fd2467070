/**
 * Issue 14 in the dashboard (headless Chromium): a job stored by an older
 * contract version gets a "Show as vN" toggle that re-reads it with
 * `?upcast=true`, and shows the upcast payload, or the stored one with the
 * reason when the upcaster throws. A current job has no toggle.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { launchChromium } from './support/browser.ts';
import { quiet, TOKEN } from './support/dashboard.ts';
import { UPCASTER_MESSAGE, versionedRegistries } from './support/versions.ts';

const redis = useRedis();
let browser: Browser | undefined;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('dashboard: Show as vN (issue 14)', () => {
  it('toggles an old job between its stored and its upcast payload, and shows an upcast failure', async () => {
    const queueName = uniqueQueue('dup');
    const { one, two } = versionedRegistries(queueName);
    const server = await startServer({
      registry: two,
      connection: redis.url,
      port: 0,
      logger: quiet,
      token: TOKEN,
    });
    const v1 = createQueue(one, { connection: redis.url, logger: quiet });
    const v2 = createQueue(two, { connection: redis.url, logger: quiet });
    const context = await browser!.newContext();
    try {
      // Delayed, so that promoting it later sends an event for it.
      const old = await v1.enqueue(
        'send',
        { to: 'a@example.com' },
        { delayMs: 600_000 },
      );
      const broken = await v1.enqueue('send', { to: 'throw@example.com' });
      const current = await v2.enqueue('send', { to: ['c@example.com'] });

      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const text = async (selector: string) =>
        (await page.locator(selector).first().textContent({ timeout: 2000 })) ??
        '';
      const data = async () =>
        JSON.parse(await text('#detail [data-role="data"]')) as unknown;
      const toggle = '#detail button[data-role="upcast"]';
      await page.goto(`${server.url}/`);
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type="submit"]');
      await page.waitForSelector('#live[data-status="live"]');
      await expect.poll(() => page.locator('#jobs tr').count()).toBe(2);

      // A version 1 job: stored payload first, the toggle off.
      await page.click('[data-state="delayed"]');
      await page.click(`#jobs tr[data-id="${old.id}"]`);
      await expect.poll(data).toEqual({ to: 'a@example.com' });
      expect(await text(toggle)).toBe('Show as v2');
      expect(await page.getAttribute(toggle, 'aria-pressed')).toBe('false');
      expect(await text('#detail [data-role="data-version"]')).toBe(
        'As stored (v1)',
      );

      await page.click(toggle);
      await expect
        .poll(data)
        .toEqual({ to: ['a@example.com'], subject: '(none)' });
      expect(await page.getAttribute(toggle, 'aria-pressed')).toBe('true');
      expect(await text('#detail [data-role="data-version"]')).toBe(
        'As v2, upcast from stored v1',
      );
      expect(await page.locator('#detail .meta').textContent()).toContain(
        'v1 (current v2)',
      );

      // An event for the job re-renders the panel: the toggle stays on.
      await v2.promote(old.id);
      await expect
        .poll(() => text('#detail [data-role="state"]'))
        .toBe('Waiting');
      expect(await page.getAttribute(toggle, 'aria-pressed')).toBe('true');
      expect(await data()).toEqual({
        to: ['a@example.com'],
        subject: '(none)',
      });

      await page.click(toggle);
      await expect.poll(data).toEqual({ to: 'a@example.com' });
      expect(await page.getAttribute(toggle, 'aria-pressed')).toBe('false');
      await page.click('[data-state="waiting"]');
      await expect.poll(() => page.locator('#jobs tr').count()).toBe(3);

      // A job whose upcaster throws: the stored payload, and why.
      await page.click(`#jobs tr[data-id="${broken.id}"]`);
      await expect.poll(data).toEqual({ to: 'throw@example.com' });
      expect(await page.getAttribute(toggle, 'aria-pressed')).toBe('false');
      await page.click(toggle);
      await expect
        .poll(() => text('#detail [data-role="upcast-error"] .error-head'))
        .toBe('UPCAST_FAILED');
      expect(
        await text('#detail [data-role="upcast-error"] .error-message'),
      ).toContain(UPCASTER_MESSAGE);
      expect(await text('#detail [data-role="data-version"]')).toBe(
        'As stored (v1): it cannot be shown as v2',
      );
      expect(await data()).toEqual({ to: 'throw@example.com' });

      // A job of the current version has nothing to upcast.
      await page.click(`#jobs tr[data-id="${current.id}"]`);
      await expect.poll(data).toEqual({ to: ['c@example.com'] });
      expect(await page.locator(toggle).count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await server.close();
      await v1.close();
      await v2.close();
    }
  }, 120_000);
});
