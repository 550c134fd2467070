/* global fetch, sessionStorage, URL */
/**
 * The dashboard's HTTP client. The token lives in sessionStorage (this tab
 * only, gone when it closes) and travels only in the Authorization header:
 * never in a URL (logs, history, Referer) and never in a cookie, so no
 * other site can make the browser send it.
 */

const TOKEN_KEY = 'jobwire.token';

/** A refusal from the API, with its `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Creates a client for the API at `base`. `onUnauthorized` runs when a
 * request is refused with 401 (no token, or a token the server no longer
 * accepts).
 */
export function createClient(base, onUnauthorized) {
  let token = sessionStorage.getItem(TOKEN_KEY) ?? '';

  const headers = (extra = {}) =>
    token === ''
      ? { ...extra }
      : { ...extra, Authorization: `Bearer ${token}` };

  const url = (path, params = {}) => {
    const u = new URL(path, base);
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') {
        u.searchParams.set(key, String(value));
      }
    }
    return u;
  };

  async function request(method, path, params) {
    const res = await fetch(url(path, params), {
      method,
      headers: headers({ Accept: 'application/json' }),
      credentials: 'omit',
      cache: 'no-store',
    });
    const body = await res.json().catch(() => undefined);
    if (res.status === 401) onUnauthorized();
    if (!res.ok) {
      throw new ApiError(
        res.status,
        body?.error?.code ?? `HTTP_${res.status}`,
        body?.error?.message ?? `${res.status} ${res.statusText}`,
      );
    }
    return body;
  }

  return {
    url,
    headers,
    get: (path, params) => request('GET', path, params),
    post: (path, params) => request('POST', path, params),
    delete: (path, params) => request('DELETE', path, params),
    hasToken: () => token !== '',
    setToken(value) {
      token = value;
      sessionStorage.setItem(TOKEN_KEY, value);
    },
    clearToken() {
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
    },
  };
}
