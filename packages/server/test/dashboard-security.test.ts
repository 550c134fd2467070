/**
 * The dashboard's security model in headless Chromium: job data is inert
 * text, the page runs under a strict CSP with Trusted Types, and the token
 * lives in sessionStorage and the Authorization header only.
 */
import { readdirSync } from 'node:fs';
import type { Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useRedis } from '../../core/test/helpers/redis-server.ts';
import { TOKEN, useDashboards } from './support/dashboard.ts';

const redis = useRedis();
const withDashboard = useDashboards(redis);

const SCRIPT = '<script>window.__xss=1</script>';
const IMG = '<img src=x onerror="window.__xss=1">';

describe('dashboard security', () => {
  it('renders hostile payloads, logs and errors as inert literal text', async () => {
    await withDashboard(async (d) => {
      const { id } = await d.queue.enqueue('flaky', {
        note: `${SCRIPT} ${IMG}`,
      });
      await d.fail(id, IMG, SCRIPT);
      await d.queue.enqueue('sendEmail', { to: IMG, subject: SCRIPT });
      await d.signIn();

      // The waiting list shows the payload preview.
      await expect.poll(() => d.page.locator('#jobs tr').count()).toBe(1);
      expect(await d.text('#jobs td.data')).toContain('<img src=x onerror=');

      await d.page.click('[data-state="failed"]');
      await d.page.click(`#jobs tr[data-id="${id}"]`);
      await d.page.waitForSelector('#detail pre.stack');
      expect(await d.text('#jobs td.status')).toBe(`Error: ${IMG}`);
      const data = JSON.parse(await d.text('#detail [data-role="data"]')) as {
        note: string;
      };
      expect(data.note).toBe(`${SCRIPT} ${IMG}`);
      expect(await d.text('#detail .error-message')).toBe(`Error: ${IMG}`);
      expect(await d.text('#detail .logs')).toBe(SCRIPT);
      // Visible as text, not just present in the DOM.
      await d.page
        .getByText(`Error: ${IMG}`, { exact: true })
        .first()
        .waitFor({ state: 'visible' });

      expect(await d.page.evaluate('typeof window.__xss')).toBe('undefined');
      for (const where of ['#detail', '#jobs', '#types', '#counts']) {
        expect(await d.page.locator(`${where} img`).count()).toBe(0);
        expect(await d.page.locator(`${where} script`).count()).toBe(0);
      }
      expect(d.pageErrors).toEqual([]);
    });
  });

  it('serves the page and its files with a strict CSP and no inline code', async () => {
    await withDashboard(async (d) => {
      // No token: the files hold no data and are served to anyone.
      const res = await fetch(`${d.server.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
      ]) {
        expect(csp.split('; ')).toContain(directive);
      }
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('set-cookie')).toBeNull();

      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);

      const assets = readdirSync(
        new URL('../src/dashboard/assets/', import.meta.url),
      ).filter((f) => f !== 'index.html');
      for (const file of assets) {
        const r = await fetch(`${d.server.url}/assets/${file}`);
        expect(r.status, file).toBe(200);
        expect(r.headers.get('content-type')).toMatch(
          file.endsWith('.js') ? /^text\/javascript/ : /^text\/css/,
        );
        expect(r.headers.get('content-security-policy')).toBe(csp);
      }
      // Any other name under /assets/ is no file: 404, token or not (the
      // API behind the token: review-http-messages.test.ts).
      expect((await fetch(`${d.server.url}/assets/nope.js`)).status).toBe(404);
      expect((await fetch(`${d.server.url}/assets/..%2fapi.ts`)).status).toBe(
        404,
      );

      // The browser enforces it: inline scripts do not run, and HTML sinks
      // refuse strings (Trusted Types).
      const page = await d.page.goto(`${d.server.url}/`);
      expect(page?.headers()['content-security-policy']).toBe(csp);
      const attempts = await d.page.evaluate(`(() => {
        const tries = {
          script() {
            const s = document.createElement('script');
            s.append(document.createTextNode('window.__inline = 1'));
            document.body.append(s);
          },
          handler() {
            const b = document.createElement('button');
            b.setAttribute('onclick', 'window.__inline = 1');
            document.body.append(b);
            b.click();
          },
          textContent() {
            const s = document.createElement('script');
            s.textContent = 'window.__inline = 1';
          },
        };
        const out = {};
        for (const [name, fn] of Object.entries(tries)) {
          try { fn(); out[name] = 'ran'; } catch (e) { out[name] = e.name; }
        }
        return out;
      })()`);
      expect(attempts).toMatchObject({ textContent: 'TypeError' });
      expect(await d.page.evaluate('typeof window.__inline')).toBe('undefined');
      expect(
        await d.page.evaluate(`(() => {
          try { document.body.innerHTML = '<b>x</b>'; return 'assigned'; }
          catch (e) { return e.name; }
        })()`),
      ).toBe('TypeError');
    });
  });

  it('without a token the API refuses and the page asks for one; the token stays out of URLs and cookies', async () => {
    await withDashboard(async (d) => {
      for (const path of ['/stats', '/queues', '/jobs', '/events']) {
        expect((await fetch(`${d.server.url}${path}`)).status, path).toBe(401);
      }
      const apiRequests: Request[] = [];
      d.page.on('request', (r) => {
        if (!/\/assets\/|\/$/.test(new URL(r.url()).pathname)) {
          apiRequests.push(r);
        }
      });
      const refused: number[] = [];
      d.page.on('response', (r) => {
        if (r.status() === 401) refused.push(r.status());
      });

      await d.page.goto(`${d.server.url}/`);
      await d.page.waitForSelector('#login-form', { state: 'visible' });
      expect(await d.page.isHidden('#app')).toBe(true);
      expect(refused.length).toBeGreaterThan(0);

      await d.page.fill('#token', 'not-the-token');
      await d.page.click('#login-form button[type="submit"]');
      await expect
        .poll(() => d.text('#login-error'))
        .toBe('The server refused this token.');
      expect(await d.page.isHidden('#app')).toBe(true);
      expect(
        await d.page.evaluate("sessionStorage.getItem('jobwire.token')"),
      ).toBeNull();

      await d.page.fill('#token', TOKEN);
      await d.page.click('#login-form button[type="submit"]');
      await d.page.waitForSelector('#live[data-status="live"]');
      expect(await d.page.isHidden('#login')).toBe(true);
      expect(
        await d.page.evaluate("sessionStorage.getItem('jobwire.token')"),
      ).toBe(TOKEN);

      // A reload keeps the tab signed in, without asking again.
      await d.page.reload();
      await d.page.waitForSelector('#live[data-status="live"]');
      expect(await d.page.isHidden('#login')).toBe(true);

      // After sign-in every API call carries the header; none has the
      // token in its URL, and no cookie exists.
      let authorized = 0;
      for (const r of apiRequests) {
        expect(r.url()).not.toContain(TOKEN);
        const auth = await r.headerValue('authorization');
        if (auth === `Bearer ${TOKEN}`) authorized++;
        else expect([null, 'Bearer not-the-token']).toContain(auth);
      }
      expect(authorized).toBeGreaterThan(3);
      const last = apiRequests[apiRequests.length - 1]!;
      expect(await last.headerValue('authorization')).toBe(`Bearer ${TOKEN}`);
      expect(await d.context.cookies()).toEqual([]);

      // Signing out forgets the token.
      await d.page.click('#sign-out');
      await d.page.waitForSelector('#login-form', { state: 'visible' });
      expect(
        await d.page.evaluate("sessionStorage.getItem('jobwire.token')"),
      ).toBeNull();
      expect(d.pageErrors).toEqual([]);
    });
  });

  it('in insecure mode the page works without asking for a token', async () => {
    await withDashboard(
      async (d) => {
        await d.queue.enqueue('sendEmail', { to: 'a@b.co', subject: 'hi' });
        await d.page.goto(`${d.server.url}/`);
        await d.page.waitForSelector('#live[data-status="live"]');
        await expect.poll(() => d.text('[data-count="waiting"]')).toBe('1');
        expect(await d.page.isHidden('#login')).toBe(true);
        expect(await d.page.isHidden('#sign-out')).toBe(true);
        expect(d.pageErrors).toEqual([]);
      },
      { token: null },
    );
  });
});
