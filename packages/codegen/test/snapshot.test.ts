/**
 * One schema using every zod feature codegen supports, generated once:
 * the output is pinned by file snapshots, then compiled with correct and
 * wrong usages (`// @expect TS<code> <why>` markers, as in
 * packages/core/test/types.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeScratch, repoRoot } from './helpers.ts';

const SCHEMA = `import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

const address = z.object({
  street: z.string().min(1),
  city: z.string(),
  zip: z.string().regex(/^\\d{5}$/),
  geo: z
    .object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) })
    .optional(),
});

const shape = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('circle'), radius: z.number().positive() }),
  z.object({ kind: z.literal('rect'), width: z.number(), height: z.number() }),
]);

export const jobs = defineJobs({
  /**
   * Registers a new customer.
   * Sends the welcome mail once stored.
   */
  registerCustomer: job({
    queue: 'customers',
    version: 3,
    compatibility: 'backward',
    payload: z.object({
      /** Customer id. */
      id: z.uuid(),
      /** Contact address; must be verified later. */
      email: z.email(),
      website: z.url().optional(),
      signedUpAt: z.iso.datetime(),
      age: z.number().int().min(18).max(130),
      /** Seats, sent as a decimal string. */
      seats: z.string().regex(/^\\d+$/).transform((s) => Number(s)),
      password: z
        .string()
        .min(8)
        .refine((s) => /\\d/.test(s), 'needs a digit'),
      address,
      tags: z.array(z.string()).max(10).default([]),
      point: z.tuple([z.number(), z.number()]),
      scores: z.record(z.string(), z.number()),
      plan: z.enum(['free', 'pro']),
      source: z.literal('web'),
      ref: z.union([z.string(), z.number()]),
      shape,
      nickname: z.string().nullable(),
      referrer: z.string().nullish(),
    }),
    result: z.object({ customerId: z.uuid(), created: z.boolean() }),
    progress: z.object({
      step: z.enum(['validate', 'store', 'mail']),
      percent: z.number().min(0).max(100),
    }),
    priority: 'high',
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 500 },
    timeoutMs: 30_000,
    retention: { completed: { count: 50 }, failed: { ageMs: 86_400_000 } },
  }),

  /** Announces a signup to other services. */
  'user.created': job({
    queue: 'events',
    payload: z.object({
      /** The new user's id. */
      userId: z.string(),
      at: z.iso.datetime(),
    }),
    result: z.object({ delivered: z.number().int() }),
  }),

  /** Recomputes a report; has no result. */
  rebuildReport: job({
    version: 2,
    compatibility: 'none',
    payload: z.object({
      reportId: z.number().int().positive(),
      full: z.boolean().default(false),
    }),
    delayMs: 1_000,
  }),
});
`;

/** Correct usages: must compile without a single diagnostic. */
const USAGE = `import {
  createJobsQueue,
  enqueueRebuildReport,
  enqueueRegisterCustomer,
  enqueueRegisterCustomerBulk,
  enqueueUserCreated,
  type RebuildReportResult,
  type RegisterCustomerPayload,
  type RegisterCustomerResult,
  type UserCreatedResult,
} from './generated/producer.ts';
import {
  createJobsWorker,
  createJobsWorkerFor,
  type JobHandlers,
  type JobName,
  type RegisterCustomerHandler,
} from './generated/consumer.ts';
import { createTestJobsQueue } from './generated/testing.ts';

const customer: RegisterCustomerPayload = {
  id: '6f1c1b1e-8a4e-4d3b-9a53-2b7d3a0c9e11',
  email: 'a@example.com',
  signedUpAt: '2024-01-01T00:00:00Z',
  age: 30,
  seats: '3',
  password: 'secret123',
  address: { street: 'Main St 1', city: 'Springfield', zip: '12345' },
  point: [1, 2],
  scores: { math: 1 },
  plan: 'pro',
  source: 'web',
  ref: 7,
  shape: { kind: 'circle', radius: 2 },
  nickname: null,
};

export async function produce(): Promise<void> {
  const queue = createJobsQueue({ connection: 'redis://127.0.0.1:6379' });
  const handle = await enqueueRegisterCustomer(queue, customer, {
    priority: 'critical',
    delayMs: 10,
    jobId: 'c-1',
  });
  const result: RegisterCustomerResult = await handle.finished();
  const created: boolean = result.created;
  const delivered: UserCreatedResult = await (
    await enqueueUserCreated(queue, { userId: 'u1', at: '2024-01-01T00:00:00Z' })
  ).finished({ timeoutMs: 1_000 });
  const none: RebuildReportResult = await (
    await enqueueRebuildReport(queue, { reportId: 1 })
  ).finished();
  const handles = await enqueueRegisterCustomerBulk(queue, [
    { payload: customer },
    { payload: { ...customer, referrer: undefined, tags: ['vip'] }, options: { attempts: 2 } },
  ]);
  void [created, delivered.delivered, none, handles.length];
  await queue.close();
}

const registerCustomer: RegisterCustomerHandler = async (job) => {
  const seats: number = job.data.seats;
  const tags: string[] = job.data.tags;
  const shapeKind: 'circle' | 'rect' = job.data.shape.kind;
  await job.progress({ step: 'store', percent: 50 });
  void [seats, tags, shapeKind];
  return { customerId: job.data.id, created: true };
};

const handlers: JobHandlers = {
  registerCustomer,
  'user.created': async (job) => ({ delivered: job.data.userId.length }),
  rebuildReport: (job) => {
    const full: boolean = job.data.full;
    void full;
  },
};

export function consume(): void {
  const all = createJobsWorker(handlers, { concurrency: 4 });
  const names: JobName[] = ['user.created', 'rebuildReport'];
  const some = createJobsWorkerFor(['user.created', 'rebuildReport'], {
    'user.created': () => ({ delivered: 1 }),
    rebuildReport: async () => {},
  });
  void [all, some, names];
}

export async function testMode(): Promise<void> {
  const queue = createTestJobsQueue({ handlers, runInline: true });
  await queue.enqueue('rebuildReport', { reportId: 2, full: true });
  // The generated enqueue functions take the test queue too.
  await enqueueRebuildReport(queue, { reportId: 3 });
  await queue.enqueueBulk([{ name: 'user.created', payload: { userId: 'u', at: '2024-01-01T00:00:00Z' } }]);
  const reportId: number | undefined = queue.jobsOf('rebuildReport')[0]?.data.reportId;
  void reportId;
}
`;

/** Wrong usages: each line after a marker must fail with that code. */
const WRONG = `import {
  createJobsQueue,
  enqueueRebuildReport,
  enqueueRegisterCustomer,
  enqueueUserCreated,
  enqueueUserCreatedBulk,
  type RegisterCustomerPayload,
} from './generated/producer.ts';
import {
  createJobsWorker,
  createJobsWorkerFor,
  type JobHandlers,
} from './generated/consumer.ts';
import { createTestJobsQueue } from './generated/testing.ts';

declare const customer: RegisterCustomerPayload;
const at = '2024-01-01T00:00:00Z';
const queue = createJobsQueue();

export async function produce(): Promise<void> {
  // @expect TS2322 a wrong field type
  await enqueueUserCreated(queue, { userId: 42, at });
  // @expect TS2345 a missing required field
  await enqueueUserCreated(queue, { userId: 'u' });
  // @expect TS2353 an unknown payload field
  await enqueueUserCreated(queue, { userId: 'u', at, extra: true });
  // @expect TS2322 the transform's output type where the input is expected
  await enqueueRegisterCustomer(queue, { ...customer, seats: 3 });
  // @expect TS2322 a value outside the enum
  await enqueueRegisterCustomer(queue, { ...customer, plan: 'enterprise' });
  // @expect TS2322 a tuple of the wrong length
  await enqueueRegisterCustomer(queue, { ...customer, point: [1] });
  // @expect TS2353 a discriminated union member with the wrong fields
  await enqueueRegisterCustomer(queue, { ...customer, shape: { kind: 'circle', width: 1 } });
  // @expect TS2322 a wrong literal
  await enqueueRegisterCustomer(queue, { ...customer, source: 'mobile' });
  // @expect TS2322 a wrong option type
  await enqueueUserCreated(queue, { userId: 'u', at }, { priority: 'urgent' });
  // @expect TS2322 a bulk item with a wrong payload
  await enqueueUserCreatedBulk(queue, [{ payload: { userId: 1, at } }]);
  // @expect TS2554 an enqueue function called without the queue
  await enqueueUserCreated({ userId: 'u', at });
  const handle = await enqueueUserCreated(queue, { userId: 'u', at });
  // @expect TS2339 a field the result schema does not have
  void (await handle.finished()).messageId;
  const report = await enqueueRebuildReport(queue, { reportId: 1 });
  // @expect TS2322 using the result of a job type that declares none
  const n: number = await report.finished();
  void n;
}

export function consume(): void {
  createJobsWorkerFor(['registerCustomer'], {
    registerCustomer: async (job) => {
      // @expect TS2345 a wrong progress type
      await job.progress(50);
      return { customerId: job.data.id, created: true };
    },
  });
  createJobsWorkerFor(['registerCustomer'], {
    // @expect TS2322 a wrong result
    registerCustomer: async (job) => ({ customerId: job.data.id, created: 'yes' }),
  });
  // @expect TS2345 a missing handler in the complete map
  createJobsWorker({ rebuildReport: () => {}, 'user.created': () => ({ delivered: 1 }) });
  const extra: JobHandlers = {
    registerCustomer: async (job) => ({ customerId: job.data.id, created: true }),
    'user.created': () => ({ delivered: 1 }),
    rebuildReport: () => {},
    // @expect TS2353 an extra handler in the complete map
    sendMail: () => {},
  };
  void extra;
  createJobsWorkerFor(['rebuildReport'], {
    // @expect TS2322 a handler map entry that is not a function
    rebuildReport: 'later',
  });
  // @expect TS2322 an unknown job name in createJobsWorkerFor
  createJobsWorkerFor(['user.deleted'], {});
  createJobsWorkerFor(['rebuildReport'], {
    rebuildReport: () => {},
    // @expect TS2353 a handler outside the subset's names
    'user.created': () => ({ delivered: 1 }),
  });
  createJobsWorkerFor(['rebuildReport'], {
    // @expect TS2322 a handler returning a result where none is declared
    rebuildReport: () => 'done',
  });
  createJobsWorkerFor(['registerCustomer'], {
    registerCustomer: async (job) => {
      // @expect TS2322 the payload's input type where the handler gets the output
      const seats: string = job.data.seats;
      void seats;
      return { customerId: job.data.id, created: true };
    },
  });
}

export async function testMode(): Promise<void> {
  const test = createTestJobsQueue();
  // @expect TS2322 a wrong payload to the test-mode queue
  await test.enqueue('rebuildReport', { reportId: 'one' });
  // @expect TS2345 an unknown job name to the test-mode queue
  await test.enqueue('rebuildReports', { reportId: 1 });
}
`;

interface Marker {
  line: number;
  code: number;
  why: string;
}

/** `// @expect TS<code> <why>` markers; the next line must fail with code. */
function markers(source: string): Marker[] {
  const out: Marker[] = [];
  source.split('\n').forEach((text, i) => {
    const m = /\/\/ @expect TS(\d+) (.*)$/.exec(text);
    if (m) out.push({ line: i + 1, code: Number(m[1]), why: m[2]! });
  });
  return out;
}

/**
 * Diagnostics of the files under `dir` (the usages, the generated modules,
 * the schema) in a program rooted at `files`. The rest of the program
 * (core's sources, zod, node's types) is `pnpm typecheck`'s job: checking
 * all of it here took minutes on a loaded machine, for nothing new.
 */
function compile(files: string[], dir: string): ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const mine = program
    .getSourceFiles()
    .filter((sf) => resolve(sf.fileName).startsWith(resolve(dir) + sep));
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...mine.flatMap((sf) => [
      ...program.getSyntacticDiagnostics(sf),
      ...program.getSemanticDiagnostics(sf),
    ]),
  ];
}

const lineOf = (d: ts.Diagnostic): number =>
  d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
const show = (d: ts.Diagnostic): string =>
  `${d.file?.fileName ?? '?'}:${d.file ? lineOf(d) : 0}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;

const SNAPSHOTS = [
  // `.snap` keeps the pinned modules out of tsconfig.json's include and eslint.
  ['generated/producer.ts', './__snapshots__/producer.ts.snap'],
  ['generated/consumer.ts', './__snapshots__/consumer.ts.snap'],
  ['generated/testing.ts', './__snapshots__/testing.ts.snap'],
  ['generated/contract.json', './__snapshots__/contract.json'],
] as const;

describe('generated output for every supported zod feature', () => {
  const s = makeScratch();

  beforeAll(() => {
    s.writeSchema(SCHEMA);
    const r = s.run();
    if (r.status !== 0)
      throw new Error(`codegen failed (${r.status}):\n${r.stderr}`);
  }, 240_000);

  it.each(SNAPSHOTS)('%s matches its snapshot', async (file, snapshot) => {
    // The schema sits next to generated/, so no scratch path shows up.
    const content = s.read(file).split(s.rel).join('<scratch>');
    await expect(content).toMatchFileSnapshot(snapshot);
  });

  describe('compiled with usages', { timeout: 240_000 }, () => {
    let diagnostics: ts.Diagnostic[] = [];
    const wrongPath = () => join(s.dir, 'wrong.ts');

    beforeAll(() => {
      writeFileSync(join(s.dir, 'usage.ts'), USAGE);
      writeFileSync(wrongPath(), WRONG);
      // One program for both files keeps the compile to a few seconds.
      diagnostics = compile([join(s.dir, 'usage.ts'), wrongPath()], s.dir);
    }, 240_000);

    const wrong = () =>
      diagnostics.filter((d) => d.file?.fileName === wrongPath());

    it('compiles the generated modules and correct usages cleanly', () => {
      const elsewhere = diagnostics.filter(
        (d) => d.file?.fileName !== wrongPath(),
      );
      expect(elsewhere.map(show)).toEqual([]);
    });

    const expected = markers(WRONG);
    it('has a catalogue of wrong usages', () => {
      expect(expected.length).toBeGreaterThanOrEqual(15);
    });

    it.each(expected)('rejects $why (TS$code)', ({ line, code }) => {
      const found = wrong().filter((d) => lineOf(d) === line + 1);
      expect(found.map((d) => d.code)).toContain(code);
    });

    it('reports no diagnostic outside the marked lines', () => {
      const marked = new Set(expected.map((m) => m.line + 1));
      const stray = wrong()
        .filter((d) => !marked.has(lineOf(d)))
        .map(show);
      expect(stray).toEqual([]);
    });
  });
});
