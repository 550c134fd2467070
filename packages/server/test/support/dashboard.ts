/** A dashboard under test: a server on its own queue, and a browser tab. */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Logger,
  type Queue,
} from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import { uniqueQueue } from '../../../core/test/helpers/redis-server.ts';
import {
  fastWorkerSettings,
  waitFor,
} from '../../../core/test/helpers/wait.ts';
import { launchChromium } from './browser.ts';

export const TOKEN = 'dashboard-test-token-0123456789';
export const quiet: Logger = { warn: () => {}, error: () => {} };

/** Two job types on one queue; `flaky` fails at its first attempt. */
export function registryFor(queue: string) {
  return defineJobs({
    sendEmail: job({
      queue,
      payload: z.object({ to: z.string(), subject: z.string() }),
    }),
    flaky: job({ queue, payload: z.object({ note: z.string() }), attempts: 1 }),
  });
}

export type TestJobs = ReturnType<typeof registryFor>['jobs'];

export interface Dashboard {
  server: RunningServer;
  queue: Queue<TestJobs>;
  queueName: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page (a CSP or Trusted Types refusal too). */
  pageErrors: string[];
  /** Text of the first element matching `selector` ('' if none). */
  text(selector: string): Promise<string>;
  /** Opens the page and signs in with the token; resolves once live. */
  signIn(): Promise<void>;
  /** Runs a worker until job `id` has failed with `message`. */
  fail(id: string, message: string, log?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a server (with the token, or insecure when `token` is null) over
 * a fresh queue, and opens a browser context for it.
 */
export async function openDashboard(
  browser: Browser,
  redisUrl: string,
  { token = TOKEN }: { token?: string | null } = {},
): Promise<Dashboard> {
  const queueName = uniqueQueue('dash');
  const registry = registryFor(queueName);
  const server = await startServer({
    registry,
    connection: redisUrl,
    port: 0,
    logger: quiet,
    ...(token === null ? { insecure: true } : { token }),
  });
  const queue = createQueue(registry, { connection: redisUrl, logger: quiet });
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const text = async (selector: string): Promise<string> =>
    (await page.locator(selector).first().textContent({ timeout: 2000 })) ?? '';
  return {
    server,
    queue,
    queueName,
    context,
    page,
    pageErrors,
    text,
    async signIn() {
      await page.goto(`${server.url}/`);
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type="submit"]');
      await page.waitForSelector('#live[data-status="live"]');
    },
    async fail(id, message, log) {
      const worker = createWorker(
        registry,
        {
          flaky: async (j) => {
            if (log !== undefined) await j.log(log);
            throw new Error(message);
          },
        },
        { connection: redisUrl, logger: quiet, ...fastWorkerSettings },
      );
      worker.on('error', () => {});
      try {
        await waitFor(
          async () => (await queue.getJob(id))?.state === 'failed',
          5000,
          `job ${id} failed`,
        );
      } finally {
        await worker.close();
      }
    },
    async close() {
      await context.close();
      await server.close();
      await queue.close();
    },
  };
}

/**
 * One headless Chromium per test file, and `withDashboard`, which opens a
 * dashboard on it, runs `fn` and closes it; with `noPageErrors` it also
 * asserts the page threw nothing.
 */
export function useDashboards(redis: { readonly url: string }) {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return async function withDashboard(
    fn: (d: Dashboard) => Promise<void>,
    options: { token?: string | null; noPageErrors?: boolean } = {},
  ): Promise<void> {
    const d = await openDashboard(browser!, redis.url, options);
    try {
      await fn(d);
      if (options.noPageErrors) expect(d.pageErrors).toEqual([]);
    } finally {
      await d.close();
    }
  };
}
