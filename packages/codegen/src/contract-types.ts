/** The machine-readable contract that codegen writes, and the lock. */

/** Which deploys a job type's changes must stay safe for (as in a schema registry). @public */
export type CompatibilityMode = 'backward' | 'forward' | 'full' | 'none';

/** A JSON Schema (draft 2020-12) as produced by `z.toJSONSchema`. */
export type JsonSchema = Record<string, unknown>;

/** A zod-level fact JSON Schema cannot carry, fingerprinted by path. */
export interface CustomCheck {
  /** Dotted path from the part root: '' root, 'addr.zip', 'items[]'. */
  path: string;
  kind: 'refine' | 'transform' | 'preprocess' | 'catch' | 'coerce';
  /** sha256 (16 hex) of the function source, or of the coerced type. */
  hash: string;
}

/** One schema of a job type: payload, result or progress. */
export interface PartContract {
  /** `z.toJSONSchema(schema, { io: 'input' })`. */
  schema: JsonSchema;
  /** Refinements, transforms and lenient writer paths, sorted by path and kind. */
  custom: CustomCheck[];
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
  /** The new job fingerprint the acceptance was made for. */
  fingerprint: string;
  at: string;
}

/** jobs.lock.json: the contract as last accepted. */
export interface Lock extends Contract {
  accepted: Acceptance[];
}
