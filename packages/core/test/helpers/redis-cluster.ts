/**
 * A real three-master Redis Cluster on loopback, for tests, with or without
 * a replica per master: each node is a private redis-server (test-kit),
 * joined with `redis-cli --cluster create`. A node can be killed and
 * restarted on the same port and dir, so it rejoins with its nodes.conf and
 * slots; with replicas, killing a master makes its replica take over.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { startRedis, type RedisServer } from './redis-server.ts';
import { sleep, waitFor } from './wait.ts';

const run = promisify(execFile);

export interface TestCluster {
  nodes: RedisServer[];
  /** An ioredis Cluster client over every node; the caller quits it. */
  client(): Cluster;
  /** Runs redis-cli against one node; resolves with its stdout. */
  cli(node: RedisServer, ...args: string[]): Promise<string>;
  /** The node whose slots hold `queue`'s keys (its `{queue}` hash tag). */
  nodeOf(queue: string): Promise<RedisServer>;
  /**
   * The port of the master that serves `queue`'s slot now, as node `via`
   * sees it (a master marked failed is skipped), or 0 when none does.
   */
  masterOf(via: RedisServer, queue: string): Promise<number>;
  /** The replica of the master listening on `masterPort`, as `via` sees it. */
  replicaOf(via: RedisServer, masterPort: number): Promise<RedisServer>;
  /** Queue names, made from `base`, whose slots the given node serves. */
  queueOn(node: RedisServer, base: string): Promise<string>;
  /** Waits until every live node reports `cluster_state:<state>`. */
  waitForState(state: 'ok' | 'fail', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** cluster-node-timeout: how soon a dead master is marked failed. */
  nodeTimeoutMs?: number;
  /** cluster-require-full-coverage (Redis's default is yes). */
  fullCoverage?: boolean;
  /** Replicas per master: 1 starts six nodes and waits until each replica is in sync. */
  replicas?: 0 | 1;
}

/**
 * Starts three masters (and, with `replicas: 1`, a replica of each) and
 * joins them into one cluster covering every slot.
 */
export async function startCluster(
  options: StartClusterOptions = {},
): Promise<TestCluster> {
  const nodes: RedisServer[] = [];
  const down = new Set<RedisServer>();
  const replicas = options.replicas ?? 0;
  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      nodes.push(
        await startRedis({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2000),
            '--cluster-require-full-coverage',
            options.fullCoverage === false ? 'no' : 'yes',
            // A replica that has not synced yet cannot take over.
            '--repl-diskless-sync-delay',
            '0',
            // A replica held back by a test (SIGSTOP) still takes over once
            // let go, however long its master has been gone.
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      );
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const cli = async (node: RedisServer, ...args: string[]) =>
    (await run('redis-cli', ['-p', String(node.port), ...args])).stdout;
  const cluster: TestCluster = {
    nodes,
    client: () =>
      new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port }))),
    cli,
    async nodeOf(queue) {
      const live = nodes.find((n) => !down.has(n))!;
      const slot = Number(await cli(live, 'CLUSTER', 'KEYSLOT', `{${queue}}`));
      // Lines: <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <ranges…>
      for (const line of (await cli(live, 'CLUSTER', 'NODES')).split('\n')) {
        const fields = line.trim().split(' ');
        const port = Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
        for (const range of fields.slice(8)) {
          const [start, end = start] = range.split('-').map(Number);
          if (slot >= start! && slot <= end!) {
            const node = nodes.find((n) => n.port === port);
            if (node) return node;
          }
        }
      }
      throw new Error(`no node serves slot ${slot} of ${queue}`);
    },
    async masterOf(via, queue) {
      const slot = Number(await cli(via, 'CLUSTER', 'KEYSLOT', `{${queue}}`));
      for (const line of (await cli(via, 'CLUSTER', 'NODES')).split('\n')) {
        const fields = line.trim().split(' ');
        if (!fields[2]?.includes('master') || fields[2].includes('fail'))
          continue;
        for (const range of fields.slice(8)) {
          const [start, end = start] = range.split('-').map(Number);
          if (slot >= start! && slot <= end!)
            return Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
        }
      }
      return 0;
    },
    async replicaOf(via, masterPort) {
      // Lines: <id> <ip:port@cport> <flags> <master id> …
      const rows = (await cli(via, 'CLUSTER', 'NODES'))
        .split('\n')
        .map((line) => line.trim().split(' '));
      const portOf = (row: string[]) =>
        Number(/:(\d+)@/.exec(row[1] ?? '')?.[1]);
      const masterId = rows.find((row) => portOf(row) === masterPort)?.[0];
      const row = rows.find((r) => masterId !== undefined && r[3] === masterId);
      const node = row && nodes.find((n) => n.port === portOf(row));
      if (!node) throw new Error(`no replica of port ${masterPort}`);
      return node;
    },
    async queueOn(node, base) {
      for (let i = 0; i < 200; i++) {
        const q = `${base}-${i}`;
        if ((await cluster.nodeOf(q)) === node) return q;
      }
      throw new Error(`no queue name from ${base} lands on port ${node.port}`);
    },
    async waitForState(state, timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const n of nodes) {
            if (down.has(n)) continue;
            const info = await cli(n, 'CLUSTER', 'INFO').catch(() => '');
            if (!info.includes(`cluster_state:${state}`)) return false;
          }
          return true;
        },
        timeoutMs,
        `cluster_state:${state} on every live node`,
      );
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  // Kill and restart go through these, so state checks skip a dead node.
  for (const n of nodes) {
    const { kill9, restart } = n;
    n.kill9 = async () => {
      down.add(n);
      await kill9();
    };
    n.restart = async () => {
      await restart();
      down.delete(n);
    };
  }
  await cluster.waitForState('ok', 60_000);
  if (replicas > 0) {
    await waitFor(
      async () => {
        const repl = await Promise.all(
          nodes.map((n) => cli(n, 'INFO', 'replication')),
        );
        return (
          repl.filter((r) => r.includes('master_link_status:up')).length === 3
        );
      },
      60_000,
      'every replica in sync',
    );
  }
  // `cluster create` returns before every node has seen every other.
  await sleep(100);
  return cluster;
}
