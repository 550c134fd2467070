/**
 * A TCP forwarder in front of Redis, for partitions: `blackhole()` stops
 * forwarding in both directions while every socket stays open (bytes wait
 * in the kernel and flow again after `heal()`), `reset()` destroys them.
 */
import net from 'node:net';

export interface Forwarder {
  readonly port: number;
  blackhole(): void;
  heal(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startForwarder(targetPort: number): Promise<Forwarder> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let silent = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
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
    blackhole: () => {
      silent = true;
      for (const p of pairs) for (const s of p) s.pause();
    },
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
