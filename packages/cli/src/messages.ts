import { JobwireError, type OptionHint } from '@jobwire/core';

/**
 * How the CLI advises on an option the library names: the library's advice
 * names call options (`{ queue }`, `insecure: true`, `(connectTimeoutMs)`);
 * a CLI user has flags and REDIS_URL.
 */
const OPTION_ADVICE: Readonly<Record<string, (hint: OptionHint) => string>> = {
  queue: (h) =>
    `pass --queue ${h.values !== undefined && h.values.length > 0 ? `<${h.values.join('|')}>` : '<queue>'} to say which`,
  insecure: () =>
    'set JOBWIRE_TOKEN, or pass --insecure to run unauthenticated on loopback only',
  connectTimeoutMs: () => redisAdvice(),
};

/** Where the CLI looks for Redis, as advice: REDIS_URL (password masked) or the default. */
function redisAdvice(): string {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '')
    return 'is Redis running at 127.0.0.1:6379? (the default; set REDIS_URL to use another)';
  let shown = url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') {
      parsed.password = '***';
      shown = parsed.toString();
    }
  } catch {
    // Shown as given: the connection reports what is wrong with it.
  }
  return `is Redis running at ${shown} (REDIS_URL)?`;
}

/**
 * The message the CLI prints for `err`, composed from the error's fields,
 * never from its text: a hint naming an option the CLI advises on gives
 * its problem and the CLI's advice (a flag, REDIS_URL); an error that
 * names the library call that refused (`removeJob: …`) gives its problem
 * alone, since a CLI user called no such function; anything else keeps
 * the library's message.
 */
export function cliMessage(err: unknown): string {
  if (!(err instanceof JobwireError))
    return err instanceof Error ? err.message : String(err);
  const hint = err.hint;
  if (hint !== undefined && Object.hasOwn(OPTION_ADVICE, hint.option))
    return `${hint.problem}; ${OPTION_ADVICE[hint.option]!(hint)}`;
  return err.problem ?? err.message;
}
