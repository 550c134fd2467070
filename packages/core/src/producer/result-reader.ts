import type { AnyJobDefinition } from '../contract/define.ts';
import { safeParseFast } from '../contract/parse.ts';
import { ValidationError } from '../errors.ts';
import type { ConnectionOptions } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import { ResultWaiter } from '../ops/results.ts';

/**
 * A queue's `finished()` and `waitForResult`: one result waiter per queue,
 * opened on first use, and the result parsed with the job type's schema.
 */
export class ResultReader {
  private readonly waiters = new Map<string, ResultWaiter>();

  constructor(
    private readonly ctx: QueueContext,
    private readonly options: ConnectionOptions,
  ) {}

  /** Waits for job `id` of type `def` to finish; resolves with its parsed result. */
  async read(
    def: AnyJobDefinition,
    name: string,
    id: string,
    timeoutMs: number | undefined,
    enqueuedAt: number | undefined,
  ): Promise<unknown> {
    let waiter = this.waiters.get(def.queue);
    if (!waiter) {
      waiter = new ResultWaiter(this.ctx, def.queue, this.options);
      this.waiters.set(def.queue, waiter);
    }
    const raw = await waiter.wait(id, timeoutMs, enqueuedAt);
    if (def.result === undefined) return undefined;
    // A schema with an async refinement or transform parses with the async
    // fallback, as the worker did when it checked the result.
    const parsed = await safeParseFast(def.result, raw);
    if (!parsed.success) {
      throw ValidationError.fromZod(
        `result of ${name} job ${id}`,
        parsed.error.issues,
      );
    }
    return parsed.data;
  }

  /** Closes every waiter: their pending waits reject. */
  async close(): Promise<void> {
    await Promise.all([...this.waiters.values()].map((w) => w.close()));
  }
}
