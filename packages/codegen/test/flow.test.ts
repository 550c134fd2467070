import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJobs, job, jobFingerprint } from '@jobwire/core';
import type { FlowOptions } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  breakingFor,
  diffContracts,
  formatChange,
} from '../src/compat/index.ts';
import { buildContract } from '../src/contract.ts';
import type { Contract, FlowContract } from '../src/contract-types.ts';
import { emitConsumer, emitProducer } from '../src/emit.ts';
import { canonicalSource } from '../src/flow-contract.ts';
import { flowDoc } from '../src/flow-text.ts';
import { edit, makeScratch } from './helpers.ts';

// Issue 16: codegen records each type's flow rules in contract.json and
// the compatibility check reports their changes as notes.
const payload = z.object({ tenantId: z.string(), userId: z.number() });
type P = z.output<typeof payload>;
const byTenant = (p: P) => p.tenantId;
const byUser = (p: P) => p.userId;

const contractOf = (flow: FlowOptions<P>): Contract =>
  buildContract(defineJobs({ t: job({ payload, ...flow }) }));
const flowOf = (flow: FlowOptions<P>): FlowContract | undefined =>
  contractOf(flow).jobs.t!.flow;

describe('flow rules in contract.json', () => {
  it('records the numbers as declared and each key as source plus hash', () => {
    const flow = flowOf({
      rateLimit: { limit: 100, perMs: 1000, key: byTenant },
      concurrency: { limit: 2, key: byTenant },
      debounce: { periodMs: 5000, key: byUser },
      throttle: { limit: 5, periodMs: 60_000 },
    });
    const tenant = {
      source: '(p) => p.tenantId',
      hash: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
    };
    expect(flow).toEqual({
      rateLimit: { limit: 100, perMs: 1000, key: tenant },
      concurrency: { limit: 2, key: tenant },
      debounce: { periodMs: 5000, key: expect.objectContaining({}) },
      throttle: { limit: 5, periodMs: 60_000 },
    });
    expect(flow!.debounce!.key!.source).toBe('(p) => p.userId');
    expect(flow!.debounce!.key!.hash).not.toBe(flow!.rateLimit!.key!.hash);
    // Key order is fixed, so the file is byte-identical run after run.
    expect(Object.keys(flow!)).toEqual([
      'rateLimit',
      'concurrency',
      'debounce',
      'throttle',
    ]);
    expect(JSON.stringify(contractOf({ debounce: { periodMs: 5 } }))).toBe(
      JSON.stringify(contractOf({ debounce: { periodMs: 5 } })),
    );
  });

  it('has no flow entry for a type without rules (older contracts stay byte-identical)', () => {
    const job = contractOf({}).jobs.t!;
    expect('flow' in job).toBe(false);
    expect(Object.keys(job)).not.toContain('flow');
  });

  it('keeps flow rules out of the fingerprint stored on every job', () => {
    const plain = job({ payload });
    const limited = job({
      payload,
      rateLimit: { limit: 1, perMs: 1000 },
    });
    expect(jobFingerprint(limited)).toBe(jobFingerprint(plain));
    expect(
      contractOf({ rateLimit: { limit: 1, perMs: 1000 } }).jobs.t!,
    ).toMatchObject({ fingerprint: jobFingerprint(plain) });
  });

  it('prefers the schema file source to the loaded function', () => {
    const c = buildContract(
      defineJobs({
        t: job({ payload, concurrency: { limit: 1, key: byTenant } }),
      }),
      {},
      { t: { concurrency: '(p: Payload) => p.tenantId /* why */' } },
    );
    expect(c.jobs.t!.flow!.concurrency!.key.source).toBe(
      '(p: Payload) => p.tenantId',
    );
  });
});

describe('canonicalSource', () => {
  it('ignores formatting and comments, not tokens', () => {
    const a = canonicalSource('(p) => p.tenantId');
    expect(
      canonicalSource('(\n  p, // the payload\n) =>\n   /* key */ p.tenantId'),
    ).toBe(a);
    expect(canonicalSource('(p) => p.userId')).not.toBe(a);
    expect(canonicalSource('(p) => `${p.a}:${p.b}`')).not.toBe(
      canonicalSource('(p) => `${p.a}-${p.b}`'),
    );
  });

  it('reads functions, exported declarations and methods', () => {
    expect(
      canonicalSource('export function byTenant(p: P) {\n return p.t }'),
    ).toBe('function byTenant(p: P) { return p.t; }');
    expect(canonicalSource('key(p) {\n  return p.t\n}')).toBe(
      'key(p) { return p.t; }',
    );
    expect(canonicalSource('async function (p) { return p.t }')).toBe(
      'async function (p) { return p.t; }',
    );
    // Blocks and objects print on one line whatever their layout was.
    expect(
      canonicalSource(
        '(p) => {\n  const o = {\n    a: 1,\n  };\n  return o.a;\n}',
      ),
    ).toBe('(p) => { const o = { a: 1 }; return o.a; }');
  });
});

describe('flow changes in the compatibility check', () => {
  function notes(a: FlowOptions<P>, b: FlowOptions<P>) {
    const [d] = diffContracts(contractOf(a), contractOf(b));
    return {
      lines: d?.changes.map((c) => formatChange('t', c)) ?? [],
      kinds: d?.changes.map((c) => c.kind) ?? [],
      breaking: d ? breakingFor(d, 'full') : [],
    };
  }
  const rate = (limit: number, perMs = 1000) => ({
    rateLimit: { limit, perMs },
  });

  it('reports a changed limit as a note worded for the deploy, never as breaking', () => {
    const r = notes(rate(100), rate(50));
    expect(r.kinds).toEqual(['RATE_LIMIT_CHANGED']);
    expect(r.breaking).toEqual([]);
    expect(r.lines[0]).toBe(
      't: rateLimit changed from 100 per 1 s to 50 per 1 s (RATE_LIMIT_CHANGED): changes meaning backward and forward — running workers keep the old limit until redeployed; while old and new workers run side by side, the looser of the two applies',
    );
    expect(notes(rate(100, 1000), rate(100, 60_000)).lines[0]).toContain(
      'from 100 per 1 s to 100 per 1 min',
    );
  });

  it('reports nothing when the rules are the same', () => {
    const all: FlowOptions<P> = {
      rateLimit: { limit: 100, perMs: 1000, key: byTenant },
      concurrency: { limit: 2, key: byTenant },
      debounce: { periodMs: 5000, key: byUser },
      throttle: { limit: 5, periodMs: 60_000, key: byUser },
    };
    expect(notes(all, { ...all }).kinds).toEqual([]);
  });

  it('reports rules added and removed', () => {
    expect(notes({}, rate(10)).lines[0]).toMatch(
      /^t: rateLimit added: at most 10 starts per 1 s \(RATE_LIMIT_ADDED\): .*workers still running the old schema start its jobs without the limit until redeployed$/,
    );
    expect(notes(rate(10), {}).kinds).toEqual(['RATE_LIMIT_REMOVED']);
    expect(
      notes({}, { concurrency: { limit: 2, key: byTenant } }).lines[0],
    ).toContain(
      'concurrency added: at most 2 active per key `(p) => p.tenantId` (CONCURRENCY_ADDED)',
    );
    expect(
      notes({ concurrency: { limit: 2, key: byTenant } }, {}).kinds,
    ).toEqual(['CONCURRENCY_REMOVED']);
    expect(notes({}, { debounce: { periodMs: 500 } }).lines[0]).toContain(
      'producers still running the old schema enqueue without it until redeployed',
    );
    expect(
      notes({ throttle: { limit: 5, periodMs: 1000 } }, {}).lines[0],
    ).toContain('throttle removed (was at most 5 per 1 s) (THROTTLE_REMOVED)');
    const added = notes({}, { throttle: { limit: 5, periodMs: 1000 } });
    expect(added.kinds).toEqual(['THROTTLE_ADDED']);
    expect(added.breaking).toEqual([]);
  });

  it('reports a changed key function: jobs already waiting keep their old key', () => {
    const r = notes(
      { concurrency: { limit: 2, key: byTenant } },
      { concurrency: { limit: 2, key: (p) => p.tenantId.toLowerCase() } },
    );
    expect(r.kinds).toEqual(['CONCURRENCY_KEY_CHANGED']);
    expect(r.breaking).toEqual([]);
    expect(r.lines[0]).toContain(
      'concurrency key changed from `(p) => p.tenantId` to `(p) => p.tenantId.toLowerCase()`',
    );
    expect(r.lines[0]).toContain(
      "jobs already waiting stay in their old key's queue",
    );
  });

  it('says a key shared by rateLimit and concurrency changed once', () => {
    const r = notes(
      {
        rateLimit: { limit: 10, perMs: 1000, key: byTenant },
        concurrency: { limit: 2, key: byTenant },
      },
      {
        rateLimit: { limit: 10, perMs: 1000, key: byUser },
        concurrency: { limit: 2, key: byUser },
      },
    );
    expect(r.kinds).toEqual(['CONCURRENCY_KEY_CHANGED']);
    expect(r.lines[0]).toContain('concurrency and rateLimit key changed');
  });

  it('reports a rule turning per key or per type', () => {
    expect(
      notes(rate(10), {
        rateLimit: { limit: 10, perMs: 1000, key: byTenant },
      }).lines[0],
    ).toContain('rateLimit is now per key `(p) => p.tenantId` (was per type)');
    expect(
      notes(
        { throttle: { limit: 1, periodMs: 1000, key: byUser } },
        { throttle: { limit: 1, periodMs: 1000 } },
      ).lines[0],
    ).toContain('throttle is now per type (was per key `(p) => p.userId`)');
    const period = notes(
      { debounce: { periodMs: 1000, key: byUser } },
      { debounce: { periodMs: 2000, key: byTenant } },
    );
    expect(period.kinds).toEqual(['DEBOUNCE_CHANGED', 'DEBOUNCE_KEY_CHANGED']);
  });

  it('reads a lock written before flow rules as a type without rules', () => {
    const lock = contractOf({});
    const next = contractOf({ rateLimit: { limit: 5, perMs: 1000 } });
    expect(lock.jobs.t!.flow).toBeUndefined();
    const [d] = diffContracts(lock, next);
    expect(d!.changes.map((c) => c.kind)).toEqual(['RATE_LIMIT_ADDED']);
  });
});

describe('flow rules in the generated JSDoc', () => {
  const flow = flowOf({
    concurrency: { limit: 2, key: byTenant },
    throttle: { limit: 5, periodMs: 1000, key: byUser },
  })!;

  it('says what happens to a producer’s jobs', () => {
    const doc = flowDoc(flow)!;
    expect(doc).toContain(
      'throttled: at most 5 per 1 s per key `(p) => p.userId`; extra jobs are dropped, not stored',
    );
    expect(doc).toContain('concurrency: at most 2 active per key');
    expect(flowDoc(undefined)).toBeUndefined();
  });

  it('never lets a key source end the comment', () => {
    const evil = flowDoc({
      debounce: {
        periodMs: 10,
        key: { source: '(p) => p.a.replace(/x*/g, "")', hash: 'abcd' },
      },
    })!;
    expect(evil).not.toContain('*/');
    expect(evil).toContain('#abcd');
  });

  it('puts the paragraph on the enqueue functions and the handler type', () => {
    const input = {
      schemaImport: '../jobs.schema.js',
      importExtension: '.js' as const,
      exportName: 'jobs',
      fingerprint: '0',
      jobs: [
        {
          name: 't',
          location: { file: 'x', line: 1, column: 1 },
          doc: 'Does t.',
          fieldDocs: {},
          fieldLocations: {},
          flowKeys: {},
        },
      ],
      flowDocs: { t: flowDoc(flow)! },
    };
    const producer = emitProducer(input);
    expect(producer.match(/throttled: at most 5 per 1 s/g)).toHaveLength(2);
    expect(emitConsumer(input)).toContain('throttled: at most 5 per 1 s');
    expect(emitProducer({ ...input, flowDocs: {} })).not.toContain(
      'Flow control',
    );
  });
});

const SCHEMA = `import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';
import { byUser } from './keys.ts';

const payload = z.object({ tenantId: z.string(), userId: z.number(), url: z.string() });
type Payload = z.output<typeof payload>;

/** The tenant. */
const byTenant = (p: Payload) => p.tenantId;
const perTenant = { limit: 2, key: byTenant };

export const jobs = defineJobs({
  /** Sends. */
  send: job({
    payload,
    rateLimit: { limit: 100, perMs: 1000, key: byTenant },
    concurrency: perTenant,
    debounce: { periodMs: 5000, key: byUser },
    throttle: {
      limit: 5,
      periodMs: 60_000,
      key(p) {
        return p.url;
      },
    },
  }),
  webhook: job({
    payload,
    concurrency: { limit: 4, key: (p) => new URL(p.url).host },
  }),
});
`;

// Each test runs the CLI (a type-check of the schema) once or twice.
describe('codegen CLI with flow rules', { timeout: 400_000 }, () => {
  const s = makeScratch();
  writeFileSync(
    join(s.dir, 'keys.ts'),
    'export function byUser(p: { userId: number }): number {\n  return p.userId;\n}\n',
  );
  const flowIn = (job: string) =>
    (
      JSON.parse(s.read('generated/contract.json')) as {
        jobs: Record<string, { flow?: FlowContract }>;
      }
    ).jobs[job]?.flow;

  it('records each key as written in the schema file, references resolved', () => {
    s.writeSchema(SCHEMA);
    const r = s.run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const send = flowIn('send')!;
    expect(send.rateLimit!.key!.source).toBe('(p: Payload) => p.tenantId');
    expect(send.concurrency).toEqual({
      limit: 2,
      key: send.rateLimit!.key,
    });
    // Imported, declared as a function: its declaration.
    expect(send.debounce!.key!.source).toBe(
      'function byUser(p: { userId: number; }): number { return p.userId; }',
    );
    expect(send.throttle).toMatchObject({
      limit: 5,
      periodMs: 60_000,
      key: { source: 'key(p) { return p.url; }' },
    });
    expect(flowIn('webhook')!.concurrency!.key.source).toBe(
      '(p) => new URL(p.url).host',
    );
    const lock = JSON.parse(s.read('jobs.lock.json')) as {
      jobs: Record<string, { flow?: FlowContract }>;
    };
    expect(lock.jobs.send!.flow).toEqual(send);
    expect(s.read('generated/producer.ts')).toContain(
      'throttled: at most 5 per 1 min per key',
    );
  });

  it('treats a reformatted or re-commented key function as unchanged', () => {
    const reformatted = edit(
      SCHEMA,
      'key(p) {\n        return p.url;\n      }',
      'key(p) { /* the target */ return p.url }',
    ).replace(
      '(p) => new URL(p.url).host',
      '(p) =>\n      // its host\n      new URL(p.url).host',
    );
    s.writeSchema(reformatted);
    const r = s.run('--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('notes a changed key function and limit without refusing them', () => {
    s.writeSchema(
      edit(
        edit(
          SCHEMA,
          '(p: Payload) => p.tenantId',
          '(p: Payload) => p.tenantId.toLowerCase()',
        ),
        'rateLimit: { limit: 100',
        'rateLimit: { limit: 50',
      ),
    );
    const r = s.run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^note: send: rateLimit changed from 100 per 1 s to 50 per 1 s \(RATE_LIMIT_CHANGED\)/m,
    );
    expect(r.stdout).toMatch(
      /^note: send: concurrency and rateLimit key changed from `\(p: Payload\) => p\.tenantId` to `\(p: Payload\) => p\.tenantId\.toLowerCase\(\)` \(CONCURRENCY_KEY_CHANGED\).*jobs already waiting stay in their old key's queue/m,
    );
    expect(flowIn('send')!.rateLimit!.limit).toBe(50);
    expect(s.run('--check').status).toBe(0);
  });
});
