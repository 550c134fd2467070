/**
 * Writes the dashboard screenshots of docs/dashboard.md: docs/dashboard.png
 * (overview) and docs/dashboard-job.png (a failed job's detail), at 1440x900: a
 * private redis-server, the root jobs.schema.ts, a realistic mix of jobs,
 * and the dashboard in headless Chromium.
 *
 * Run: pnpm --filter @jobwire/server screenshots
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { createQueue, type Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { jobs } from '../../../jobs.schema.ts';
import { startRedis } from '@jobwire/test-kit';
import { launchChromium } from '../test/support/browser.ts';
import { seedDemoJobs } from './seed.ts';

const docs = fileURLToPath(new URL('../../../docs/', import.meta.url));
const TOKEN = 'screenshot-token';
const quiet: Logger = { warn: () => {}, error: () => {} };

const redis = await startRedis();
const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
const seeded = await seedDemoJobs(queue, redis.url);
const server = await startServer({
  registry: jobs,
  connection: redis.url,
  token: TOKEN,
  port: 0,
  logger: quiet,
});
const browser = await launchChromium();
try {
  mkdirSync(docs, { recursive: true });
  const page = await browser.newPage({
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
  });
  await page.goto(`${server.url}/`);
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector('#live[data-status="live"]');

  // Overview: the waiting list, and a slideshow open with its progress.
  await page.click('[data-state="active"]');
  await openJob(page, seeded.activeId);
  await page.waitForSelector('#detail progress');
  await page.click('[data-state="waiting"]');
  await page.waitForSelector('#jobs tr:nth-child(10)');
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${docs}dashboard.png` });

  // Detail: a webhook that failed every attempt, with stacks and logs.
  await page.click('[data-state="failed"]');
  await openJob(page, seeded.failedId);
  await page.waitForSelector('#detail pre.stack');
  // Scroll the list and detail up under the (sticky) top bar.
  await page.evaluate(
    "window.scrollTo(0, document.querySelector('.workspace').offsetTop - 72)",
  );
  await page.waitForTimeout(200);
  await page.screenshot({ path: `${docs}dashboard-job.png` });
  console.log(`wrote ${docs}dashboard.png and ${docs}dashboard-job.png`);
} finally {
  await browser.close();
  await server.close();
  await seeded.stop();
  await queue.close();
  await redis.stop();
}

async function openJob(page: Page, id: string): Promise<void> {
  await page.click(`#jobs tr[data-id="${id}"]`);
  await page.waitForSelector(`#detail h2[title="${id}"]`);
  // Let the list's throttled refresh settle so the shot is steady.
  await page.waitForTimeout(400);
}
