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

/**
 * The message the CLI prints for `err`: a JobwireError whose hint names an
 * option the CLI has as a flag is phrased with that flag; anything else
 * keeps the library's message.
 */
export function cliMessage(err: unknown): string {
  if (err instanceof JobwireError && err.hint !== undefined) {
    const advise = Object.hasOwn(FLAG_ADVICE, err.hint.option)
      ? FLAG_ADVICE[err.hint.option]
      : undefined;
    if (advise !== undefined) return `${err.hint.problem}; ${advise(err.hint)}`;
  }
  return err instanceof Error ? err.message : String(err);
}
