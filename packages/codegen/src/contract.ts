import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { canonicalJson, jobFingerprint, shortHash } from '@jobwire/core';
import type { AnyJobDefinition, JobRegistry } from '@jobwire/core';
import { z } from 'zod';
import { enforceable, markUnenforced } from './fidelity.ts';
import { buildFlow } from './flow-contract.ts';
import type { FlowKeySources } from './discover.ts';
import type {
  Contract,
  ContractRecords,
  CustomCheck,
  JobContract,
  JsonSchema,
  PartContract,
  Recordable,
} from './contract-types.ts';

/**
 * What this codegen records beyond JSON Schema (see `ContractRecords`).
 * Raise a number when the way it is recorded changes (pipe-check hashes
 * that hash other text), so older locks compare it as not recorded.
 */
export const RECORDS: Required<ContractRecords> = {
  regexFlags: 1,
  pipeChecks: 1,
};

/**
 * What `old` (a lock, or a history entry) does not record as `next` (the
 * new contract) does: a key it lacks, or records by another scheme.
 */
export function unrecorded(
  old: ContractRecords | undefined,
  next: ContractRecords | undefined,
): Set<Recordable> {
  return new Set(
    (Object.keys(RECORDS) as Recordable[]).filter(
      (k) => old?.[k] !== next?.[k],
    ),
  );
}

/** Which schema of a job type a contract part describes. */
export type PartName = 'payload' | 'result' | 'progress';

/** A schema that cannot be part of the contract, located by job, part and path. */
export class ContractError extends Error {
  constructor(
    readonly job: string,
    readonly part: PartName,
    readonly path: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}

/** The slice of zod 4's internal `_zod.def` the walk reads. */
interface ZodLike {
  _zod: { def: ZodDef };
}
interface CheckLike {
  _zod: {
    def: { check?: string; fn?: unknown; tx?: unknown };
    check?: unknown;
  };
}
interface ZodDef {
  type: string;
  shape?: Record<string, ZodLike>;
  catchall?: ZodLike;
  innerType?: ZodLike;
  element?: ZodLike;
  items?: ZodLike[];
  rest?: ZodLike | null;
  keyType?: ZodLike;
  valueType?: ZodLike;
  options?: ZodLike[];
  left?: ZodLike;
  right?: ZodLike;
  in?: ZodLike;
  out?: ZodLike;
  getter?: () => ZodLike;
  checks?: CheckLike[];
  coerce?: boolean;
  transform?: unknown;
  catchValue?: unknown;
  values?: unknown[];
}

const defOf = (schema: ZodLike): ZodDef => schema._zod.def;

/** Wrappers whose input side is their inner type at the same path. */
const WRAPPERS = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'nonoptional',
  'success',
]);

/** Input types JSON cannot carry, with what to send instead. */
const NOT_JSON: Record<string, [construct: string, hint: string]> = {
  date: [
    'z.date()',
    'send an ISO string (z.iso.datetime()) and convert in a transform',
  ],
  bigint: [
    'z.bigint()',
    'send a string (z.string().regex(/^-?\\d+$/)) and convert in a transform',
  ],
  map: ['z.map()', 'use z.record() or an array of [key, value] tuples'],
  set: ['z.set()', 'use z.array() (refine it for uniqueness if needed)'],
  symbol: ['z.symbol()', 'send a string instead'],
  undefined: ['z.undefined()', 'make the field .optional() instead'],
  void: ['z.void()', 'make the field .optional() instead'],
  nan: ['z.nan()', 'JSON has no NaN; use z.number() or null'],
  function: [
    'z.function()',
    'functions cannot be stored; send data and look the behaviour up in the handler',
  ],
  promise: [
    'z.promise()',
    'promises cannot be stored; await before enqueueing',
  ],
  custom: [
    'z.custom() / z.instanceof()',
    'use a zod type with a JSON form and add .refine() for the extra check',
  ],
  file: ['z.file()', 'store the file elsewhere and send its URL or id'],
};

/** Appends a property name to a dotted path ('' is the root). */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

const hashFn = (fn: unknown): string =>
  shortHash(typeof fn === 'function' ? fn.toString() : String(fn));

/**
 * Walks the zod tree of one part. It records what JSON Schema drops
 * (refinements, transforms, lenient writers) and fails on input types JSON
 * cannot carry, before z.toJSONSchema would fail without naming the path.
 */
class Walker {
  readonly custom: CustomCheck[] = [];
  /** Schemas on the current branch: lazy and getter recursion stops here. */
  private readonly stack = new Set<ZodLike>();

  constructor(
    private readonly job: string,
    private readonly part: PartName,
  ) {}

  /** `json` is false below the output side of a pipe, which is never stored. */
  walk(schema: ZodLike, path: string, json: boolean): void {
    if (this.stack.has(schema)) return;
    this.stack.add(schema);
    try {
      this.visit(schema, path, json);
    } finally {
      this.stack.delete(schema);
    }
  }

  private add(path: string, kind: CustomCheck['kind'], hash: string): void {
    this.custom.push({ path, kind, hash });
  }

  private fail(path: string, construct: string, hint: string): never {
    const where = path === '' ? this.part : `${this.part}.${path}`;
    throw new ContractError(
      this.job,
      this.part,
      path,
      `${this.job} ${where}: ${construct} has no JSON form; ${hint}`,
    );
  }

  private visit(schema: ZodLike, path: string, json: boolean): void {
    const def = defOf(schema);
    const checks = def.checks ?? [];
    const rewrite = checks.findIndex((k) => k._zod.def.check === 'overwrite');
    // .trim().min(2): the checks after a rewrite see the rewritten value.
    if (rewrite >= 0 && checks.slice(rewrite + 1).some(isConstraint))
      this.add(path, 'pipe', shortHash(describeZod(checks.slice(rewrite))));
    for (const check of checks) {
      const c = check._zod.def;
      // refine keeps its function in def.fn; check() and superRefine only in
      // _zod.check (superRefine behind a wrapper, so edits to its body are
      // invisible: a zod limitation).
      if (c.check === 'custom')
        this.add(path, 'refine', hashFn(c.fn ?? check._zod.check));
      // trim(), toLowerCase() etc.: the reader rewrites the stored value.
      else if (c.check === 'overwrite')
        this.add(path, 'transform', hashFn(c.tx));
    }
    if (def.coerce === true) this.add(path, 'coerce', shortHash(def.type));
    const notJson = NOT_JSON[def.type];
    if (notJson !== undefined) {
      if (json) this.fail(path, ...notJson);
      return;
    }
    if (WRAPPERS.has(def.type) && def.innerType) {
      this.walk(def.innerType, path, json);
      return;
    }
    switch (def.type) {
      case 'catch':
        this.add(path, 'catch', hashFn(def.catchValue));
        if (def.innerType) this.walk(def.innerType, path, json);
        return;
      case 'object':
        for (const [key, field] of Object.entries(def.shape ?? {}))
          this.walk(field, joinPath(path, key), json);
        if (def.catchall) this.walk(def.catchall, joinPath(path, '*'), json);
        return;
      case 'array':
        if (def.element) this.walk(def.element, `${path}[]`, json);
        return;
      case 'tuple':
        (def.items ?? []).forEach((item, i) =>
          this.walk(item, `${path}[${i}]`, json),
        );
        if (def.rest) this.walk(def.rest, `${path}[]`, json);
        return;
      case 'record':
        if (def.keyType) this.walk(def.keyType, `${path}{key}`, json);
        if (def.valueType) this.walk(def.valueType, joinPath(path, '*'), json);
        return;
      case 'union':
        (def.options ?? []).forEach((option, i) =>
          this.walk(option, `${path}|${i}`, json),
        );
        return;
      case 'intersection':
        if (def.left) this.walk(def.left, path, json);
        if (def.right) this.walk(def.right, path, json);
        return;
      case 'lazy':
        if (def.getter) this.walk(def.getter(), path, json);
        return;
      case 'transform':
        this.add(path, 'transform', hashFn(def.transform));
        return;
      case 'pipe':
        this.visitPipe(def, path, json);
        return;
      case 'literal':
        for (const v of def.values ?? []) {
          if (json && (v === undefined || typeof v === 'bigint'))
            this.fail(
              path,
              `z.literal(${String(v)}${typeof v === 'bigint' ? 'n' : ''})`,
              'use a string or number literal',
            );
        }
        return;
      default:
        return;
    }
  }

  /** Preprocess, transform, codec and plain pipes: only the input side is stored. */
  private visitPipe(def: ZodDef, path: string, json: boolean): void {
    const input = def.in;
    const output = def.out;
    if (input === undefined || output === undefined) return;
    if (defOf(input).type === 'transform') {
      // z.preprocess: the writer accepts anything the function can map.
      this.add(path, 'preprocess', hashFn(defOf(input).transform));
      this.walk(output, path, json);
      return;
    }
    if (defOf(output).type === 'transform') {
      this.add(path, 'transform', hashFn(defOf(output).transform));
      this.walk(input, path, json);
      return;
    }
    if (def.transform !== undefined)
      this.add(path, 'transform', hashFn(def.transform));
    // zod checks the value passed on against the output schema too.
    if (constrains(output))
      this.add(path, 'pipe', shortHash(describeZod(output)));
    this.walk(input, path, json);
    // The output side still validates (its refinements count) but may be
    // any type, e.g. the Date of a codec: it is never stored.
    this.walk(output, path, false);
  }
}

const isConstraint = (check: CheckLike): boolean =>
  check._zod.def.check !== 'overwrite';

/** Types whose values are limited beyond their JSON type. */
const LIMITING = new Set(['enum', 'literal', 'template_literal', 'never']);

/** Whether a schema checks anything beyond the JSON types of its values. */
function constrains(schema: ZodLike, seen = new Set<ZodLike>()): boolean {
  if (seen.has(schema)) return false;
  seen.add(schema);
  const def = defOf(schema);
  // A format schema (z.email()) is its own check.
  const own = (def as { check?: unknown }).check;
  if (
    LIMITING.has(def.type) ||
    (own !== undefined && own !== 'overwrite') ||
    (def.checks ?? []).some(isConstraint)
  )
    return true;
  const children: (ZodLike | null | undefined)[] = [
    def.innerType,
    def.element,
    ...(def.items ?? []),
    def.rest,
    ...Object.values(def.shape ?? {}),
    def.catchall,
    def.keyType,
    def.valueType,
    ...(def.options ?? []),
    def.left,
    def.right,
    def.in,
    def.out,
    def.getter?.(),
  ];
  return children.some((c) => c != null && constrains(c, seen));
}

let zodRewrites: Map<string, string> | undefined;

/**
 * zod's own rewrite functions (`.trim()` etc.) by their source, so a
 * rewrite is described by its name: the source is zod's, not the user's,
 * and may change with any zod release.
 */
function zodRewriteName(fn: unknown): string | undefined {
  if (zodRewrites === undefined) {
    const s = z.string();
    const tx = (schema: z.ZodType): string =>
      String((schema as unknown as ZodLike)._zod.def.checks?.[0]?._zod.def.tx);
    zodRewrites = new Map([
      [tx(s.trim()), 'trim'],
      [tx(s.toLowerCase()), 'toLowerCase'],
      [tx(s.toUpperCase()), 'toUpperCase'],
      [tx(s.normalize()), 'normalize'],
    ]);
  }
  return typeof fn === 'function' ? zodRewrites.get(fn.toString()) : undefined;
}

/**
 * The function-valued keys of a zod definition that hold what the user
 * wrote: a refinement (`fn`, and its `when` option), a transform, a lazy
 * getter, an `.overwrite()` function (`tx`, named when it is zod's own
 * `.trim()` etc.). Every other function (a length check's `when`, the
 * `error` closure around a message) is zod's machinery: left out, so a zod
 * upgrade that rewrites it changes no hash.
 */
function userFunction(def: Record<string, unknown>, key: string): unknown {
  const fn = def[key];
  if (key === 'fn' || key === 'transform' || key === 'getter')
    return `fn:${String(fn)}`;
  if (key === 'when' && def.check === 'custom') return `fn:${String(fn)}`;
  if (key === 'tx') {
    const name = zodRewriteName(fn);
    return name === undefined ? `fn:${String(fn)}` : `zod:${name}`;
  }
  return undefined;
}

/**
 * A stable text of zod definitions (a schema or a list of checks): types,
 * check kinds and their parameters, regexes with their flags, and the
 * sources of the functions the user wrote (see `userFunction`). Recursion
 * is cut at a schema already on the way.
 */
export function describeZod(value: unknown): string {
  const seen = new Set<unknown>();
  const walk = (v: unknown): unknown => {
    if (v instanceof RegExp) return `re:/${v.source}/${v.flags}`;
    if (typeof v === 'bigint') return `${v}n`;
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '<cycle>';
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.map(walk);
      const zod = (v as { _zod?: { def?: unknown } })._zod;
      if (zod?.def !== undefined) return walk(zod.def);
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(obj).flatMap(([k, x]) => {
          if (typeof x !== 'function') return [[k, walk(x)]];
          const fn = userFunction(obj, k);
          return fn === undefined ? [] : [[k, fn]];
        }),
      );
    } finally {
      seen.delete(v);
    }
  };
  return canonicalJson(walk(value));
}

const byPathKind = (a: CustomCheck, b: CustomCheck): number =>
  a.path < b.path
    ? -1
    : a.path > b.path
      ? 1
      : a.kind < b.kind
        ? -1
        : a.kind > b.kind
          ? 1
          : a.hash < b.hash
            ? -1
            : a.hash > b.hash
              ? 1
              : 0;

/**
 * The contract of one schema: its input JSON Schema, rewritten so standard
 * validators enforce what zod does (see fidelity.ts), and zod-only facts.
 */
export function buildPart(
  job: string,
  part: PartName,
  schema: z.ZodType,
): PartContract {
  const walker = new Walker(job, part);
  walker.walk(schema as unknown as ZodLike, '', true);
  let json: JsonSchema;
  try {
    json = enforceable(
      z.toJSONSchema(schema, {
        io: 'input',
        unrepresentable: 'throw',
        cycles: 'ref',
        reused: 'inline',
        override: markUnenforced,
      }) as JsonSchema,
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ContractError(
      job,
      part,
      undefined,
      `${job} ${part}: ${reason}; use types with a JSON form`,
    );
  }
  return { schema: json, custom: [...walker.custom].sort(byPathKind) };
}

function jsonDefaults(def: AnyJobDefinition): Record<string, unknown> {
  const o = def.options;
  return {
    priority: o.priority,
    attempts: o.attempts,
    backoff: typeof o.backoff === 'function' ? 'function' : { ...o.backoff },
    timeoutMs: o.timeoutMs,
    delayMs: o.delayMs,
    expireAfterMs: o.expireAfterMs,
    retention: {
      completed: { ...o.keepCompleted },
      failed: { ...o.keepFailed },
    },
  };
}

/**
 * The contract of one job type. The fingerprint is core's `jobFingerprint`,
 * so contract.json and the fingerprint stored on every job agree. (Custom-check hashes are not in it; the diff
 * compares them separately.)
 */
export function buildJobContract(
  name: string,
  def: AnyJobDefinition,
  description?: string,
  flowKeys?: FlowKeySources,
): JobContract {
  const payload = buildPart(name, 'payload', def.payload);
  const result =
    def.result === undefined ? null : buildPart(name, 'result', def.result);
  const progress =
    def.progress === undefined
      ? null
      : buildPart(name, 'progress', def.progress);
  const fingerprint = jobFingerprint(def);
  // Flow rules are not in the fingerprint: they change how jobs are
  // scheduled, not what a stored job means (the check reports them as notes).
  const flow = buildFlow(def, flowKeys);
  const contract: JobContract = {
    queue: def.queue,
    version: def.version,
    compatibility: def.compatibility,
    fingerprint,
    defaults: jsonDefaults(def),
    ...(flow ? { flow } : {}),
    payload,
    result,
    progress,
  };
  if (description !== undefined) contract.description = description;
  if (def.upcast.size > 0)
    contract.upcast = Object.fromEntries(
      [...def.upcast].map(([k, step]) => [
        String(k),
        buildPart(name, 'payload', step.from),
      ]),
    );
  return contract;
}

/**
 * What an acceptance is keyed by: sha256 (16 hex) of the job's contract
 * apart from its description, defaults, flow rules and history — the
 * schemas with their custom-check hashes and (in contract.json's form)
 * regex flags, which the fingerprint does not see.
 */
export function acceptanceDigest(job: JobContract): string {
  return shortHash(
    canonicalJson({
      queue: job.queue,
      version: job.version,
      compatibility: job.compatibility,
      payload: job.payload,
      result: job.result,
      progress: job.progress,
      upcast: job.upcast ?? null,
    }),
  );
}

let zodVersionCache: string | undefined;

/** The installed zod version, so schema drift from an upgrade is visible. */
export function zodVersion(): string {
  if (zodVersionCache === undefined) {
    const file = createRequire(import.meta.url).resolve('zod/package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    zodVersionCache = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return zodVersionCache;
}

/**
 * contract.json for a registry; `docs` maps job names to their JSDoc,
 * `flowKeys` to their key functions' source in the schema file.
 */
export function buildContract(
  registry: JobRegistry,
  docs: Record<string, string> = {},
  flowKeys: Record<string, FlowKeySources> = {},
): Contract {
  const jobs: Record<string, JobContract> = {};
  for (const name of [...registry.names].sort()) {
    const def = registry.jobs[name];
    if (def === undefined) continue;
    jobs[name] = buildJobContract(
      name,
      def,
      Object.hasOwn(docs, name) ? docs[name] : undefined,
      Object.hasOwn(flowKeys, name) ? flowKeys[name] : undefined,
    );
  }
  const pairs = Object.keys(jobs).map((name) => [
    name,
    jobs[name]!.fingerprint,
  ]);
  return {
    jobwire: 1,
    zod: zodVersion(),
    records: { ...RECORDS },
    fingerprint: shortHash(canonicalJson(pairs)),
    jobs,
  };
}
