/** The machine-readable contract that codegen writes, and the lock. */

/** Which deploys a job type's changes must stay safe for (as in a schema registry). @public */
export type CompatibilityMode = 'backward' | 'forward' | 'full' | 'none';

/** A JSON Schema (draft 2020-12) as produced by `z.toJSONSchema`. */
export type JsonSchema = Record<string, unknown>;

/** A zod-level fact JSON Schema cannot carry, fingerprinted by path. */
export interface CustomCheck {
  /** Dotted path from the part root: '' root, 'addr.zip', 'items[]'. */
  path: string;
  /**
   * 'pipe': checks zod runs on a rewritten value, which JSON Schema cannot
   * see: the output schema of a `.pipe()` (when it checks anything), or
   * checks after `.trim()`, `.toLowerCase()` or `.overwrite()`.
   */
  kind: 'refine' | 'transform' | 'preprocess' | 'catch' | 'coerce' | 'pipe';
  /**
   * sha256 (16 hex) of the function source, of the coerced type, or of the
   * piped checks' definitions.
   */
  hash: string;
}

/**
 * What a contract records beyond JSON Schema, each by the version of the
 * scheme that recorded it: `regexFlags` (`x-jobwire-flags` beside a flagged
 * regex's pattern), `pipeChecks` (the `pipe` custom checks and how they are
 * hashed). A lock without an entry, or with another version, was written by
 * an older codegen: the check compares that information as not recorded
 * (a note), never as a change.
 */
export interface ContractRecords {
  regexFlags?: number;
  pipeChecks?: number;
}

/** Information a lock may predate (see `ContractRecords`). */
export type Recordable = keyof ContractRecords;

/** One schema of a job type: payload, result or progress. */
export interface PartContract {
  /** `z.toJSONSchema(schema, { io: 'input' })`. */
  schema: JsonSchema;
  /** Refinements, transforms and lenient writer paths, sorted by path and kind. */
  custom: CustomCheck[];
  /**
   * Only on a payload in `history`: the `records` of the lock it was
   * carried from (absent when that lock predates them).
   */
  records?: ContractRecords;
}

/**
 * A flow rule's key function as the contract records it: enough to tell
 * that it changed, and to show what it computes.
 */
export interface FlowKeyContract {
  /**
   * The function's source, reprinted without comments so a reformat does
   * not count as a change: as written in jobs.schema.ts (a named function
   * or const resolved to its declaration), or the loaded function's text
   * when the schema file's source cannot be followed to it.
   */
  source: string;
  /** sha256 (16 hex) of `source`. */
  hash: string;
}

/** A job type's flow rules (`job({...})`'s rateLimit, concurrency, debounce, throttle). */
export interface FlowContract {
  rateLimit?: { limit: number; perMs: number; key?: FlowKeyContract };
  concurrency?: { limit: number; key: FlowKeyContract };
  debounce?: { periodMs: number; key?: FlowKeyContract };
  throttle?: { limit: number; periodMs: number; key?: FlowKeyContract };
}

/** Everything the contract says about one job type. */
export interface JobContract {
  queue: string;
  version: number;
  compatibility: CompatibilityMode;
  /** sha256 (16 hex) of the canonical JSON of queue, version and the parts. */
  fingerprint: string;
  /** Resolved job options, JSON-safe (a backoff function shows as "function"). */
  defaults: Record<string, unknown>;
  /** Rate limits, keyed concurrency, debounce and throttle; absent without any. */
  flow?: FlowContract;
  payload: PartContract;
  result: PartContract | null;
  progress: PartContract | null;
  /** The job's JSDoc in jobs.schema.ts. */
  description?: string;
  /**
   * The upcasters' source schemas by the version they read (`upcast[k].from`
   * in jobs.schema.ts); absent without upcasters.
   */
  upcast?: Record<string, PartContract>;
  /**
   * The payload each earlier version had when it was locked, by version;
   * carried forward from the lock on every version bump, so the shapes of
   * jobs still in Redis stay known. Absent before the first bump.
   */
  history?: Record<string, PartContract>;
}

/** contract.json. */
export interface Contract {
  jobwire: 1;
  /** The zod version that produced the schemas, so upgrade drift is visible. */
  zod: string;
  /** What the contract records beyond JSON Schema; absent before codegen recorded any. */
  records?: ContractRecords;
  /** sha256 (16 hex) over every job's fingerprint. */
  fingerprint: string;
  jobs: Record<string, JobContract>;
}

/** An incompatible change someone accepted with `--accept`. */
export interface Acceptance {
  job: string;
  part: 'payload' | 'result' | 'progress' | 'job';
  path: string;
  kind: string;
  /** The new job fingerprint the acceptance was made for (for people). */
  fingerprint: string;
  /**
   * What the acceptance covers: a hash of the job's new contract as
   * accepted, custom-check hashes and regex flags included (see
   * `acceptanceDigest`). It matches again only for that very contract, so
   * a later edit at the same path (a refinement edited again) is judged
   * afresh. An acceptance without one (an older lock) matches nothing.
   */
  digest?: string;
  at: string;
}

/** jobs.lock.json: the contract as last accepted. */
export interface Lock extends Contract {
  accepted: Acceptance[];
}
