/**
 * `codegen --watch`: a child process that regenerates on save.
 */
import { describe, expect, it } from 'vitest';
import { BASE } from './cli-base.ts';
import { edit, makeScratch } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('codegen CLI --watch', { timeout: 400_000 }, () => {
  const s = makeScratch();

  it('regenerates when the schema is saved', async () => {
    s.writeSchema(BASE);
    const child = s.start('--watch');
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const until = async (done: () => boolean, ms: number, what: string) => {
      const deadline = Date.now() + ms;
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; output:\n${stdout}`);
        await sleep(100);
      }
    };
    try {
      await until(
        () => stdout.includes('codegen: wrote'),
        // A generation type-checks the schema: seconds when idle, a minute
        // or more on a loaded machine.
        150_000,
        'the first generation',
      );
      expect(s.read('generated/producer.ts')).not.toContain('enqueuePing');
      s.writeSchema(
        edit(
          BASE,
          '  /** Resizes an image. */',
          '  ping: job({ payload: z.object({}) }),\n\n  /** Resizes an image. */',
        ),
      );
      await until(
        () =>
          s
            .read('generated/producer.ts')
            .includes('export function enqueuePing('),
        150_000,
        'the regenerated producer',
      );
    } finally {
      // The watcher runs each generation in a child: stop the whole group.
      process.kill(-child.pid!, 'SIGTERM');
    }
  });
});
