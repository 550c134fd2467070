import { withRedis } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';

/** Redis orders members of equal score by their bytes. */
function after(id: string, lastId: string): boolean {
  return Buffer.compare(Buffer.from(id), Buffer.from(lastId)) > 0;
}

/**
 * The members of a sorted set in pages of about `size`, in score order,
 * by a (score, member) cursor rather than by index: members removed or
 * added while it runs (jobs taken by workers, or moved to another lane by
 * the caller) never make it skip or repeat one that stayed where it was.
 * A member whose score changes meanwhile may be seen twice or not at all.
 */
export async function* zsetPages(
  ctx: QueueContext,
  key: string,
  size: number,
): AsyncGenerator<string[]> {
  let min = '-inf';
  let last: { score: string; id: string } | undefined;
  for (;;) {
    let take = size;
    let page: { id: string; score: string }[];
    for (;;) {
      const raw = await withRedis(ctx.client, ctx.connectTimeoutMs, () =>
        ctx.client.zrange(
          key,
          min,
          '+inf',
          'BYSCORE',
          'LIMIT',
          0,
          take,
          'WITHSCORES',
        ),
      );
      const all: { id: string; score: string }[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2)
        all.push({ id: raw[i]!, score: raw[i + 1]! });
      page =
        last === undefined
          ? all
          : all.filter(
              (m) =>
                Number(m.score) !== Number(last!.score) ||
                after(m.id, last!.id),
            );
      // A page of nothing but members at the cursor's score already seen:
      // read further along that score.
      if (page.length > 0 || all.length < take) break;
      take *= 2;
    }
    if (page.length === 0) return;
    yield page.map((m) => m.id);
    last = page[page.length - 1]!;
    min = last.score;
  }
}
