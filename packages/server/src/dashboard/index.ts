import { readdirSync, readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';

/**
 * The dashboard's Content-Security-Policy. Scripts and styles come only from
 * the server's own files (no inline code, no eval), the page talks only to
 * its own origin, and Trusted Types make every HTML-parsing sink
 * (`innerHTML`, `outerHTML`, `insertAdjacentHTML`, `document.write`) throw,
 * so job data can only ever reach the page as text.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers on every dashboard file (they hold no data, only code). */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Like every response of the server: the files are small, and one promise
  // (no-store everywhere) is easier to check than an exception.
  'Cache-Control': 'no-store',
};

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

const ASSET_NAME = /^[a-z][a-z0-9-]*\.(js|css|svg)$/;

interface Asset {
  body: string;
  type: string;
}

/**
 * Reads the dashboard files once. Only names matching `ASSET_NAME` from
 * one flat folder are served, so no request path ever reaches the file
 * system.
 */
function loadAssets(): Map<string, Asset> {
  const dir = new URL('./assets/', import.meta.url);
  const files = new Map<string, Asset>();
  files.set('/', {
    body: readFileSync(new URL('index.html', dir), 'utf8'),
    type: TYPES.html!,
  });
  for (const name of readdirSync(dir)) {
    const ext = ASSET_NAME.exec(name)?.[1];
    if (ext === undefined) continue;
    files.set(`/assets/${name}`, {
      body: readFileSync(new URL(name, dir), 'utf8'),
      type: TYPES[ext]!,
    });
  }
  return files;
}

let cached: Map<string, Asset> | undefined;

/** The dashboard's files by request path (`/` and `/assets/<name>`). */
function assets(): Map<string, Asset> {
  cached ??= loadAssets();
  return cached;
}

/**
 * Whether a request is for the dashboard's page or under `/assets/`, which
 * is served without the bearer token: the files are the same for everyone
 * and hold no job data; the page asks the operator for the token before it
 * reads anything. A name under `/assets/` that is no file is a 404 with or
 * without the token (`serveAsset`, or no route for a deeper path): no API
 * route lives under `/assets/`, and `path` is the routed path, `.` and `..`
 * already resolved (and refused before this check on the raw request line),
 * so no such name reaches another route.
 */
export function isDashboardRequest(method: string, path: string): boolean {
  return (
    (method === 'GET' || method === 'HEAD') &&
    (path === '/' || path.startsWith('/assets/'))
  );
}

/**
 * Adds the dashboard's routes: the page at `/` and its script and style
 * files under `/assets/`.
 */
export function mountDashboard(app: Hono): void {
  app.get('/', serveAsset);
  app.get('/assets/:file', serveAsset);
}

function serveAsset(c: Context): Response | Promise<Response> {
  const asset = assets().get(c.req.path);
  if (asset === undefined) return c.notFound();
  return c.body(asset.body, 200, {
    ...DASHBOARD_HEADERS,
    'Content-Type': asset.type,
  });
}
