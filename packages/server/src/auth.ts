import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ErrorCode, JobwireError } from '@jobwire/core';
import { errorBody, HttpCode } from './http-errors.ts';

/** Throws unless a token is set or insecure mode was asked for. */
export function assertTokenOrInsecure(
  token: string | undefined,
  insecure: boolean | undefined,
): void {
  if (token !== undefined && token.length === 0) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      'jobwire server: token is empty; set JOBWIRE_TOKEN to a long random secret',
    );
  }
  if (token === undefined && insecure !== true) {
    const problem = 'jobwire server refuses to start without an API token';
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `${problem}: set JOBWIRE_TOKEN (or pass \`token\`), ` +
        'or pass `insecure: true` to run unauthenticated on loopback only',
      { hint: { option: 'insecure', problem } },
    );
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Bearer-token check. Both sides are hashed to fixed-length digests, then
 * compared with `timingSafeEqual`, so neither the token's content nor its
 * length leaks through response timing. `isOpen` names the requests that
 * need no token: they must not read or change anything in Redis.
 */
export function bearerAuth(
  token: string,
  isOpen: (method: string, path: string) => boolean,
): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    if (isOpen(c.req.method, c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const given = digest(m?.[1] ?? '');
    if (m === null || !timingSafeEqual(given, expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="jobwire"');
      c.header('Cache-Control', 'no-store');
      return c.json(
        errorBody(
          HttpCode.UNAUTHORIZED,
          'missing or invalid bearer token (Authorization: Bearer <token>)',
        ),
        401,
      );
    }
    return next();
  };
}
