/**
 * S07's worker process: concurrency 1, handlers that never settle, throw
 * non-errors, return invalid results or leave a stray rejection behind.
 * Every start and every `failed` event goes to the ledger.
 */
import { createWorker } from '../../../src/index.ts';
import { appendLedger } from './ledger.ts';
import { failureRegistry } from './registry.ts';

interface Config {
  url: string;
  queue: string;
  ledger: string;
}

function main(): void {
  const c = JSON.parse(process.argv[2]!) as Config;
  const rec = (e: Parameters<typeof appendLedger>[1]) =>
    appendLedger(c.ledger, e);
  const worker = createWorker(
    failureRegistry(c.queue),
    {
      h: async (j) => {
        rec({
          ev: 'start',
          jobId: j.id,
          attempt: j.attempt,
          message: j.data.mode,
          t_start: Date.now(),
        });
        switch (j.data.mode) {
          case 'never':
            // Ignores its signal and never settles.
            return new Promise<{ ok: true }>(() => {});
          case 'throwString':
            throw 'a string';
          case 'throwNull':
            throw null;
          case 'rejectUndefined':
            return Promise.reject(undefined);
          case 'circularCause': {
            const e = new Error('circular');
            (e as Error & { cause: unknown }).cause = e;
            throw e;
          }
          case 'badResult':
            return { ok: 'no' } as unknown as { ok: true };
          case 'unhandledRejection':
            void Promise.reject(new Error('stray rejection'));
            await new Promise((r) => setTimeout(r, 10));
            throw new Error('failed after a stray rejection');
        }
      },
    },
    {
      connection: c.url,
      concurrency: 1,
      leaseMs: 1000,
      stallCheckIntervalMs: 500,
      blockTimeoutMs: 1000,
      logger: { warn: () => {}, error: () => {} },
    },
  );
  worker.on('error', (err) => rec({ ev: 'unhandled', message: err.message }));
  worker.on('failed', (e) =>
    rec({
      ev: 'failed',
      jobId: e.id,
      code: e.error.code,
      message: e.error.message,
    }),
  );
  process.on('disconnect', () => process.exit(2));
  process.send?.({ type: 'ready' });
}

main();
