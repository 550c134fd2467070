import { defineJobs, job, jobFingerprint } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildContract,
  buildJobContract,
  buildPart,
  ContractError,
} from '../src/contract.ts';

const registry = () =>
  defineJobs({
    sendEmail: job({
      payload: z.object({
        to: z.email(),
        subject: z
          .string()
          .max(200)
          .refine((s) => s.trim() !== ''),
        tags: z.array(z.string().trim()).default([]),
      }),
      result: z.object({ messageId: z.string() }),
      progress: z.object({ sent: z.number().int() }),
      queue: 'mail',
      attempts: 5,
      backoff: (attempt: number) => attempt * 1000,
      retention: { completed: { count: 10 }, failed: true },
    }),
    resize: job({
      payload: z.object({ url: z.url(), width: z.number().int().positive() }),
      version: 2,
      compatibility: 'backward',
    }),
  });

describe('buildContract', () => {
  it('is deterministic: same registry, byte-identical JSON', () => {
    const a = JSON.stringify(
      buildContract(registry(), { sendEmail: 'Sends.' }),
    );
    const b = JSON.stringify(
      buildContract(registry(), { sendEmail: 'Sends.' }),
    );
    expect(a).toBe(b);
    expect(JSON.parse(a)).toMatchObject({
      jobwire: 1,
      zod: expect.stringMatching(/^4\.\d+\.\d+/),
    });
  });

  it('holds the input JSON Schema of payload, result and progress', () => {
    const { jobs } = buildContract(registry());
    const mail = jobs.sendEmail!;
    expect(mail.payload.schema).toMatchObject({
      type: 'object',
      properties: {
        // The format is a hint; zod's regex in `pattern` is the check.
        to: { type: 'string', 'x-jobwire-format': 'email' },
        subject: { maxLength: 200 },
      },
      required: ['to', 'subject'], // io: 'input': the defaulted field is optional
    });
    expect(mail.result?.schema).toMatchObject({
      properties: { messageId: { type: 'string' } },
    });
    expect(mail.progress?.schema).toMatchObject({
      properties: { sent: { type: 'integer' } },
    });
    expect(jobs.resize!.result).toBeNull();
    expect(jobs.resize!.progress).toBeNull();
  });

  it('records queue, version, mode, JSON-safe defaults and the description', () => {
    const { jobs } = buildContract(registry(), {
      sendEmail: 'Sends one email.',
    });
    expect(jobs.sendEmail).toMatchObject({
      queue: 'mail',
      version: 1,
      compatibility: 'full',
      description: 'Sends one email.',
      defaults: {
        attempts: 5,
        backoff: 'function',
        retention: {
          completed: { count: 10, ageMs: 0 },
          failed: { count: -1, ageMs: 0 },
        },
      },
    });
    expect(jobs.resize).toMatchObject({
      version: 2,
      compatibility: 'backward',
      defaults: { backoff: { type: expect.any(String) } },
    });
    expect('description' in jobs.resize!).toBe(false);
  });

  it('uses the same job fingerprint as the runtime, and a contract fingerprint over all jobs', () => {
    const reg = registry();
    const contract = buildContract(reg);
    for (const [name, def] of Object.entries(reg.jobs))
      expect(contract.jobs[name]!.fingerprint).toBe(jobFingerprint(def));
    expect(contract.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const changed = defineJobs({
      ...reg.jobs,
      resize: job({ payload: z.object({ url: z.url() }) }),
    });
    expect(buildContract(changed).fingerprint).not.toBe(contract.fingerprint);
  });
});

describe('custom checks', () => {
  const fn = (v: unknown) => v;
  it('records refinements, transforms and lenient writers with dotted paths, sorted', () => {
    const schema = z
      .object({
        a: z.string().refine((s) => s.length > 1),
        b: z.string().transform((s) => s.length),
        c: z.preprocess(fn, z.number()),
        d: z.number().catch(0),
        e: z.coerce.number(),
        addr: z.object({ zip: z.string().check(() => {}) }),
        items: z.array(z.string().trim()),
        pair: z.tuple([z.number().refine((n) => n > 0), z.string()]),
        u: z.union([z.string(), z.number().superRefine(() => {})]),
        meta: z.record(
          z.string(),
          z.number().refine((n) => n < 10),
        ),
      })
      .refine((v) => v.a !== '');
    const { custom } = buildPart('t', 'payload', schema);
    expect(custom.map((c) => `${c.path}:${c.kind}`)).toEqual([
      ':refine',
      'a:refine',
      'addr.zip:refine',
      'b:transform',
      'c:preprocess',
      'd:catch',
      'e:coerce',
      'items[]:transform',
      'meta.*:refine',
      'pair[0]:refine',
      'u|1:refine',
    ]);
    for (const c of custom) expect(c.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes the function source, so an edited refinement gets a new hash', () => {
    const hash = (s: z.ZodType) => buildPart('t', 'payload', s).custom[0]!.hash;
    expect(hash(z.number().refine((n) => n > 0))).toBe(
      hash(z.number().refine((n) => n > 0)),
    );
    expect(hash(z.number().refine((n) => n > 0))).not.toBe(
      hash(z.number().refine((n) => n > 1)),
    );
  });

  it('follows lazy recursion once and records only the input side of codecs', () => {
    type Tree = { name: string; children: Tree[] };
    const tree: z.ZodType<Tree> = z.lazy(() =>
      z.object({ name: z.string().refine(Boolean), children: z.array(tree) }),
    );
    expect(buildPart('t', 'payload', tree).custom.map((c) => c.path)).toEqual([
      'name',
    ]);
    const at = z.codec(z.iso.datetime(), z.date(), {
      decode: (s) => new Date(s),
      encode: (d) => d.toISOString(),
    });
    expect(
      buildPart('t', 'payload', z.object({ at })).custom.map(
        (c) => `${c.path}:${c.kind}`,
      ),
    ).toEqual(['at:transform']);
  });
});

describe('ContractError', () => {
  const cases: [string, z.ZodType, string, RegExp][] = [
    [
      'z.date()',
      z.object({ sentAt: z.date() }),
      'sentAt',
      /payload\.sentAt: z\.date\(\) has no JSON form; send an ISO string \(z\.iso\.datetime\(\)\)/,
    ],
    [
      'z.bigint()',
      z.object({ n: z.bigint() }),
      'n',
      /payload\.n: z\.bigint\(\) has no JSON form/,
    ],
    [
      'z.map()',
      z.object({ m: z.map(z.string(), z.number()) }),
      'm',
      /z\.map\(\) has no JSON form; use z\.record\(\)/,
    ],
    [
      'z.set()',
      z.object({ s: z.set(z.string()) }),
      's',
      /z\.set\(\) has no JSON form; use z\.array\(\)/,
    ],
    [
      'z.symbol()',
      z.object({ k: z.symbol() }),
      'k',
      /z\.symbol\(\) has no JSON form/,
    ],
    [
      'z.custom()',
      z.object({ c: z.custom<string>((v) => typeof v === 'string') }),
      'c',
      /z\.custom\(\) \/ z\.instanceof\(\) has no JSON form/,
    ],
    [
      'z.instanceof()',
      z.object({ c: z.instanceof(URL) }),
      'c',
      /z\.instanceof\(\)/,
    ],
    [
      'z.undefined()',
      z.object({ u: z.undefined() }),
      'u',
      /z\.undefined\(\) has no JSON form; make the field \.optional\(\)/,
    ],
    [
      'z.literal(undefined)',
      z.object({ l: z.literal(undefined) }),
      'l',
      /z\.literal\(undefined\)/,
    ],
    ['z.coerce.date()', z.object({ d: z.coerce.date() }), 'd', /z\.date\(\)/],
    [
      'a date deep inside',
      z.object({ items: z.array(z.object({ at: z.date().optional() })) }),
      'items[].at',
      /payload\.items\[\]\.at: z\.date\(\)/,
    ],
    [
      'a bigint in a record',
      z.object({ meta: z.record(z.string(), z.bigint()) }),
      'meta.*',
      /payload\.meta\.\*: z\.bigint\(\)/,
    ],
    [
      'a map in a union option',
      z.object({ u: z.union([z.string(), z.map(z.string(), z.string())]) }),
      'u|1',
      /payload\.u\|1: z\.map\(\)/,
    ],
    ['a date at the root', z.date(), '', /^t payload: z\.date\(\)/],
  ];
  it.each(cases)('names the path of %s', (_t, schema, path, message) => {
    let error: unknown;
    try {
      buildPart('t', 'payload', schema);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ContractError);
    const e = error as ContractError;
    expect({ job: e.job, part: e.part, path: e.path }).toEqual({
      job: 't',
      part: 'payload',
      path,
    });
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });

  it('names the job and the part (result, progress)', () => {
    const def = job({
      payload: z.object({}),
      result: z.object({ at: z.date() }),
    });
    expect(() => buildJobContract('report', def)).toThrow(
      /^report result\.at: z\.date\(\) has no JSON form/,
    );
    const reg = defineJobs({
      tick: job({
        payload: z.object({}),
        progress: z.object({ n: z.bigint() }),
      }),
    });
    expect(() => buildContract(reg)).toThrow(
      expect.objectContaining({ job: 'tick', part: 'progress', path: 'n' }),
    );
  });

  it('accepts z.date() on the output side of a transform or codec', () => {
    const at = z.iso.datetime().transform((s) => new Date(s));
    expect(() => buildPart('t', 'payload', z.object({ at }))).not.toThrow();
  });
});
