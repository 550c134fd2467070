import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../src/redis/keys.ts';
import { runScript, scripts } from '../src/redis/scripts/index.ts';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
const scriptDir = new URL('../src/redis/scripts/', import.meta.url);

describe('Lua scripts', () => {
  it('registers every .lua file with the key count in its name', () => {
    const files = readdirSync(scriptDir).filter((f) => f.endsWith('.lua'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const [, name, keys] = /^(\w+)-(\d+)\.lua$/.exec(file) ?? [];
      expect(name, file).toBeDefined();
      const loaded = scripts.get(name as never);
      expect(loaded, `${file} is not loaded`).toBeDefined();
      expect(loaded!.numberOfKeys).toBe(Number(keys));
      // The KEYS used by the body never exceed the declared count.
      const used = [...loaded!.lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) =>
        Number(m[1]),
      );
      expect(Math.max(0, ...used)).toBeLessThanOrEqual(Number(keys));
    }
    expect(scripts.size).toBe(files.length);
  });

  it('documents Input, Output and Events in each header and stays small', () => {
    for (const file of readdirSync(scriptDir).filter((f) =>
      f.endsWith('.lua'),
    )) {
      const text = readFileSync(new URL(file, scriptDir), 'utf8');
      expect(text, file).toMatch(/Input:/);
      expect(text, file).toMatch(/Output:/);
      expect(text, file).toMatch(/Events:/);
      expect(text.split('\n').length, file).toBeLessThanOrEqual(110);
    }
  });

  it('inlines includes and versions command names by content', () => {
    const enqueue = scripts.get('enqueue')!;
    expect(enqueue.lua).not.toMatch(/^-- @include/m);
    expect(enqueue.lua).toMatch(/local function indexBatch/);
    // Included but never called by enqueue: pruned (prune-functions.ts).
    expect(enqueue.lua).not.toMatch(/local function pushWait/);
    expect(enqueue.command).toMatch(/^jobwire_enqueue_[0-9a-f]{8}$/);
  });

  it('every script still compiles in Redis once unused helpers are pruned', async () => {
    const client = new Redis(redis.url);
    try {
      for (const s of scripts.values()) {
        // SCRIPT LOAD compiles without running: a helper cut at the wrong
        // line would leave a syntax error here.
        await expect(client.script('LOAD', s.lua), s.name).resolves.toMatch(
          /^[0-9a-f]{40}$/,
        );
      }
    } finally {
      client.disconnect();
    }
  });

  it('reports lease loss as a status code, not a Lua error', async () => {
    const client = new Redis(redis.url);
    try {
      const k = queueKeys('jobwire', uniqueQueue());
      const enq = (await runScript(
        client,
        'enqueue',
        [k.id, k.delayed, k.counts, k.events, k.types],
        [
          k.base,
          100,
          // one settings set: type, options, expiry, version, fingerprint,
          // debounce ms, throttle limit, throttle ms, settings ref ('' = inline)
          1,
          't',
          '{"at":1,"to":0,"kc":[1,0],"kf":[1,0]}',
          0,
          1,
          'fp-test',
          0,
          0,
          0,
          '',
          // one job: its id, then its data and set
          1,
          'job-1',
          '{}',
          1,
        ],
      )) as number[];
      expect(enq).toEqual([1]);
      const id = 'job-1';
      const taken = (await runScript(
        client,
        'moveToActive',
        [k.id, k.delayed, k.active, k.counts, k.events, k.meta, k.expired],
        // lease ms, token prefix, max jobs, start now, types, then the
        // type, its quota and the newest version the worker knows
        [k.base, 100, 1000, 'w1', 1, 1, 1, 't', 1, 1],
      )) as unknown[];
      expect(Number(taken[3])).toBe(1);
      // The contract fingerprint travels with the job to the worker (read
      // through its settings ref).
      expect(taken[13]).toBe('fp-test');
      const token = String(taken[9]);
      const completeKeys = [
        k.active,
        k.completed,
        k.counts,
        k.events,
        k.id,
        k.delayed,
        k.meta,
        k.expired,
      ];
      // One job, no leasing of the next ones (max jobs 0).
      const complete = async (jobId: string, tk: string) =>
        (
          (await runScript(client, 'complete', completeKeys, [
            k.base,
            100,
            1,
            jobId,
            tk,
            '',
            -1,
            0,
            1000,
            'w1',
            0, // max jobs to lease
            0, // start now
            0, // types
            0, // start reports
          ])) as number[]
        )[0];
      const stale = await complete(id, `${token}x`);
      expect(stale).toBe(-2);
      expect(await client.hget(k.job(id), 's')).toBe('a');
      const ok = await complete(id, token);
      expect(ok).toBe(1);
      // A second completion with the same token is refused: applied once.
      const again = await complete(id, token);
      expect(again).toBe(-2);
      const missing = await complete('nope', token);
      expect(missing).toBe(-1);
      expect(await client.hget(k.counts, 't|c')).toBe('1');
      expect(await client.hget(k.counts, 't|a')).toBe('0');
    } finally {
      await client.quit();
    }
  });

  it('keeps every key of a queue in one cluster slot', async () => {
    // CLUSTER KEYSLOT needs cluster mode; it computes the slot Redis uses.
    const cluster = await startRedis({
      extraArgs: ['--cluster-enabled', 'yes'],
    });
    const client = new Redis(cluster.url);
    try {
      const queue = uniqueQueue();
      const k = queueKeys('jobwire', queue);
      const all = [
        k.id,
        k.delayed,
        k.active,
        k.completed,
        k.failed,
        k.expired,
        k.counts,
        k.events,
        k.meta,
        k.types,
        k.stallLock,
        k.repeats,
        k.lostLeases,
        k.wait('sendEmail'),
        k.marker('sendEmail'),
        k.job('1'),
        k.job('rpt.x.1'),
        k.log('1'),
      ];
      const slots = new Set<number>();
      for (const key of all) {
        expect(key.startsWith(`jobwire:{${queue}}:`)).toBe(true);
        slots.add(Number(await client.call('CLUSTER', 'KEYSLOT', key)));
      }
      expect(slots.size).toBe(1);
    } finally {
      await client.quit();
      await cluster.stop();
    }
  });
});
