/**
 * A TCP forwarder in front of Redis, for partitions: `blackhole()` stops
 * forwarding in both directions while every socket stays open (bytes wait
 * in the kernel and flow again after `heal()`), `reset()` destroys them.
 * `cutAfter(marker)` lets through the next request that contains `marker`
 * and blackholes right behind it: the request reaches Redis and runs, and
 * its reply (like everything after it) stays in the forwarder.
 * `holdRepliesAfter(marker)` is narrower: only the connection that sent
 * `marker` stops receiving replies; its requests and every other
 * connection still flow. `replyDelayMs` delays every reply chunk (in
 * order) by that much, for counting round trips.
 */
import net from 'node:net';

export interface Forwarder {
  readonly port: number;
  blackhole(): void;
  /** Resolves once a request containing `marker` went through and the cut followed. */
  cutAfter(marker: string): Promise<void>;
  /** Resolves once a request containing `marker` came, its connection's replies held. */
  holdRepliesAfter(marker: string): Promise<void>;
  heal(): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Copies `from`'s bytes to `to`, pausing `from` while `to` is backed up.
 * Not pipe(): a pipe resumes its source when the destination drains, which
 * could undo a blackhole's pause; here a drain resumes it only if `held()`
 * says the direction is not held.
 */
function relay(from: net.Socket, to: net.Socket, held: () => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (to.destroyed || to.write(chunk)) return;
    from.pause();
    to.once('drain', () => {
      if (!held()) from.resume();
    });
  });
}

export async function startForwarder(
  targetPort: number,
  options: { replyDelayMs?: number } = {},
): Promise<Forwarder> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let silent = false;
  /** Upstream sockets whose replies holdRepliesAfter() stopped. */
  const heldReplies = new Set<net.Socket>();
  let armed:
    { marker: string; done: () => void; only: 'replies' | 'all' } | undefined;
  const blackhole = (): void => {
    silent = true;
    for (const p of pairs) for (const s of p) s.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    relay(client, upstream, () => silent);
    const delay = options.replyDelayMs;
    if (delay === undefined)
      relay(upstream, client, () => silent || heldReplies.has(upstream));
    else
      // Timers of one duration fire in the order they were set: the
      // chunks keep their order.
      upstream.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
        }, delay);
      });
    // After relay's listener, so the chunk is written before the cut.
    client.on('data', (chunk: Buffer) => {
      if (armed === undefined || !chunk.includes(armed.marker)) return;
      const { done, only } = armed;
      armed = undefined;
      if (only === 'all') blackhole();
      else {
        heldReplies.add(upstream);
        upstream.pause();
      }
      done();
    });
    if (silent) for (const s of pair) s.pause();
    const drop = () => {
      pairs.delete(pair);
      heldReplies.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) s.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as net.AddressInfo;
  return {
    port: addr.port,
    blackhole,
    cutAfter: (marker) =>
      new Promise<void>((resolve) => {
        armed = { marker, done: resolve, only: 'all' };
      }),
    holdRepliesAfter: (marker) =>
      new Promise<void>((resolve) => {
        armed = { marker, done: resolve, only: 'replies' };
      }),
    heal: () => {
      silent = false;
      heldReplies.clear();
      for (const p of pairs) for (const s of p) s.resume();
    },
    reset: () => {
      for (const p of pairs) for (const s of p) s.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const p of pairs) for (const s of p) s.destroy();
        server.close(() => r());
      }),
  };
}
