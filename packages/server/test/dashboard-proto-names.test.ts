/**
 * Issue 13, item 1 in the dashboard (headless Chromium): job types named
 * like Object.prototype members show their own counts, and a type without
 * jobs shows zeros rather than an inherited member.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { launchChromium } from './support/browser.ts';
import { quiet, TOKEN } from './support/dashboard.ts';

const redis = useRedis();
let browser: Browser | undefined;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('dashboard with job types named like Object.prototype members', () => {
  it('shows each type’s own counts, zeros for a type without jobs', async () => {
    const queueName = uniqueQueue('dproto');
    const payload = z.object({ n: z.number() });
    const registry = defineJobs({
      constructor: job({ queue: queueName, payload }),
      toString: job({ queue: queueName, payload }),
      valueOf: job({ queue: queueName, payload }),
      hasOwnProperty: job({ queue: queueName, payload }),
    });
    const server = await startServer({
      registry,
      connection: redis.url,
      port: 0,
      logger: quiet,
      token: TOKEN,
    });
    const queue = createQueue(registry, {
      connection: redis.url,
      logger: quiet,
    });
    const context = await browser!.newContext();
    try {
      await queue.enqueue('constructor', { n: 1 });
      for (let i = 0; i < 2; i++) await queue.enqueue('toString', { n: i });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/`);
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type="submit"]');
      await page.waitForSelector('#live[data-status="live"]');
      const waiting = (type: string) =>
        page
          .locator(`#types tr[data-type="${type}"] td:nth-child(3)`)
          .first()
          .textContent({ timeout: 2000 });
      await expect
        .poll(() => waiting('constructor'), { timeout: 10_000 })
        .toBe('1');
      await expect.poll(() => waiting('toString')).toBe('2');
      await expect.poll(() => waiting('valueOf')).toBe('0');
      await expect.poll(() => waiting('hasOwnProperty')).toBe('0');
      await expect
        .poll(() => page.locator('[data-count="waiting"]').textContent())
        .toBe('3');
      // Picking a type reads its counts for the pager.
      await page.click('#types tr[data-type="toString"]');
      await expect.poll(() => page.locator('#jobs tr').count()).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await server.close();
      await queue.close();
    }
  }, 120_000);
});
