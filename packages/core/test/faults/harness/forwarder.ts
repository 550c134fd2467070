/**
 * A TCP forwarder in front of Redis, for partitions: `blackhole()` stops
 * forwarding in both directions while every socket stays open (bytes wait
 * in the kernel and flow again after `heal()`), `reset()` destroys them.
 * `cutAfter(marker)` lets through the next request that contains `marker`
 * and blackholes right behind it: the request reaches Redis and runs, and
 * its reply (like everything after it) stays in the forwarder.
 */
import net from 'node:net';

export interface Forwarder {
  readonly port: number;
  blackhole(): void;
  /** Resolves once a request containing `marker` went through and the cut followed. */
  cutAfter(marker: string): Promise<void>;
  heal(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startForwarder(targetPort: number): Promise<Forwarder> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let silent = false;
  let armed: { marker: string; done: () => void } | undefined;
  const blackhole = (): void => {
    silent = true;
    for (const p of pairs) for (const s of p) s.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe's own listener, so the chunk is written before the cut.
    client.on('data', (chunk: Buffer) => {
      if (armed === undefined || !chunk.includes(armed.marker)) return;
      const { done } = armed;
      armed = undefined;
      blackhole();
      done();
    });
    if (silent) for (const s of pair) s.pause();
    const drop = () => {
      pairs.delete(pair);
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
        armed = { marker, done: resolve };
      }),
    heal: () => {
      silent = false;
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
