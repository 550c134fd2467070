import { JobwireError, type OptionHint } from '@jobwire/core';

/**
 * How the CLI says "set this option": the library's advice names call
 * options (`{ queue }`, `insecure: true`); a CLI user has flags.
 */
const FLAG_ADVICE: Readonly<Record<string, (hint: OptionHint) => string>> = {
  queue: (h) =>
    `pass --queue ${h.values !== undefined && h.values.length > 0 ? `<${h.values.join('|')}>` : '<queue>'} to say which`,
  insecure: () =>
    'set JOBWIRE_TOKEN, or pass --insecure to run unauthenticated on loopback only',
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
 * The library's words for what a CLI user sets differently: its messages
 * name the function that failed (`removeJob: job 7 does not exist`) and
 * the option that bounds a wait (`(connectTimeoutMs)`); the CLI has
 * neither, and points at REDIS_URL instead.
 */
function inCliTerms(err: JobwireError): string {
  let text = err.message;
  if (err.code === 'JOB_NOT_FOUND' || err.code === 'JOB_NOT_IN_STATE') {
    text = text.replace(/^[a-z][A-Za-z]*: (?=(repeat of )?job )/, '');
  }
  if (text.includes(' (connectTimeoutMs)')) {
    text = `${text.replaceAll(' (connectTimeoutMs)', '')}; ${redisAdvice()}`;
  }
  return text;
}

/**
 * The message the CLI prints for `err`: a JobwireError whose hint names an
 * option the CLI has as a flag is phrased with that flag; the library's
 * function and option names are left out (see inCliTerms); anything else
 * keeps the library's message.
 */
export function cliMessage(err: unknown): string {
  if (err instanceof JobwireError && err.hint !== undefined) {
    const advise = Object.hasOwn(FLAG_ADVICE, err.hint.option)
      ? FLAG_ADVICE[err.hint.option]
      : undefined;
    if (advise !== undefined) return `${err.hint.problem}; ${advise(err.hint)}`;
  }
  if (err instanceof JobwireError) return inCliTerms(err);
  return err instanceof Error ? err.message : String(err);
}
