import { defaults } from '../defaults.ts';
import { durabilitySchema } from '../contract/options.ts';
import {
  DurabilityError,
  ErrorCode,
  JobwireError,
  ValidationError,
} from '../errors.ts';
import { mapRedisError } from '../redis/connection.ts';
import type { PersistenceWait } from '../redis/transitions/enqueue.ts';
import type { Durability } from '../types.ts';

/** A durability wait with every field filled in. */
export type ResolvedDurability = PersistenceWait;

/** `o` without its undefined keys: an enqueue's `replicas: undefined` means "not set". */
function definedOnly(o: object | undefined): object {
  return Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined),
  );
}

/**
 * The queue's durability merged with one enqueue's; checks the fields
 * (INVALID_OPTION), including that the wait ends before the command
 * timeout would cut it.
 */
export function resolveDurability(
  options: {
    durability?: Durability | undefined;
    commandTimeoutMs?: number | undefined;
  },
  override: Durability | false | undefined,
): ResolvedDurability | undefined {
  if (override === false) return undefined;
  const base = options.durability;
  if (base === undefined && override === undefined) return undefined;
  const parsed = durabilitySchema.safeParse({
    ...base,
    ...definedOnly(override),
  });
  if (!parsed.success) {
    throw new ValidationError(
      'durability options',
      ValidationError.fromZod('durability', parsed.error.issues).issues,
      ErrorCode.INVALID_OPTION,
    );
  }
  const d = parsed.data;
  const resolved = {
    aof: d.aof ?? false,
    replicas: d.replicas ?? 0,
    timeoutMs: d.timeoutMs ?? defaults.durabilityTimeoutMs,
  };
  const commandTimeoutMs =
    options.commandTimeoutMs ?? defaults.commandTimeoutMs;
  if (resolved.timeoutMs >= commandTimeoutMs) {
    throw new ValidationError(
      'durability options',
      [
        {
          path: 'timeoutMs',
          message: `must be below commandTimeoutMs (${commandTimeoutMs}), or the command timeout fires first`,
          code: 'too_big',
        },
      ],
      ErrorCode.INVALID_OPTION,
    );
  }
  return resolved;
}

/** The strongest wait any job of a chunk asks for (undefined: none). */
export function strongest(
  jobs: readonly { durability?: ResolvedDurability | undefined }[],
): ResolvedDurability | undefined {
  let out: ResolvedDurability | undefined;
  for (const j of jobs) {
    const d = j.durability;
    if (d === undefined) continue;
    out = {
      aof: (out?.aof ?? false) || d.aof,
      replicas: Math.max(out?.replicas ?? 0, d.replicas),
      timeoutMs: Math.max(out?.timeoutMs ?? 0, d.timeoutMs),
    };
  }
  return out;
}

/**
 * Checks the durability wait's reply (`waited`: a reply or an error). The
 * jobs are stored whatever it says; a shortfall becomes a DurabilityError
 * that says so and lists their ids.
 */
export function checkDurability(
  waited: unknown,
  ids: readonly string[],
  d: ResolvedDurability,
): void {
  const stored = `the job${ids.length === 1 ? '' : 's'} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''} WERE stored and will run`;
  if (waited instanceof Error) {
    const mapped = mapRedisError(waited);
    if (
      mapped instanceof JobwireError &&
      mapped.code === ErrorCode.REDIS_BUSY
    ) {
      // The script ran, then a long script (another client's) began and
      // Redis refused the wait: a passing state, like a timeout.
      throw new DurabilityError(
        ErrorCode.DURABILITY_TIMEOUT,
        `durability wait refused: Redis was busy running a script (BUSY); ${stored}, but persistence is not confirmed`,
        ids,
        undefined,
        { cause: waited },
      );
    }
    if (mapped instanceof JobwireError) {
      // The connection failed after the script: its outcome is known (the
      // script's reply arrived), the wait's is not.
      throw new DurabilityError(
        ErrorCode.DURABILITY_TIMEOUT,
        `durability wait interrupted (${waited.message}); ${stored}, but persistence is not confirmed`,
        ids,
        undefined,
        { cause: waited },
      );
    }
    const msg = waited.message;
    const missing = /unknown command/i.test(msg)
      ? `this Redis has no ${d.aof ? 'WAITAOF' : 'WAIT'} command (WAITAOF needs Redis 7.2 or later)`
      : /appendonly is disabled/i.test(msg)
        ? 'AOF is off on this Redis (appendonly no), so it cannot confirm an fsync'
        : `Redis refused the durability wait: ${msg}`;
    throw new DurabilityError(
      ErrorCode.DURABILITY_UNAVAILABLE,
      `durability unavailable: ${missing}; ${stored}, but their persistence was not confirmed`,
      ids,
      undefined,
      { cause: waited },
    );
  }
  const [local, replicas] = Array.isArray(waited)
    ? [Number(waited[0]), Number(waited[1])]
    : [0, Number(waited)];
  if ((d.aof && local < 1) || replicas < d.replicas) {
    const wanted = [
      d.aof ? `local AOF fsync ${local}/1` : '',
      d.replicas > 0 || !d.aof ? `replicas ${replicas}/${d.replicas}` : '',
    ]
      .filter((x) => x !== '')
      .join(', ');
    throw new DurabilityError(
      ErrorCode.DURABILITY_TIMEOUT,
      `durability not confirmed within ${d.timeoutMs} ms (${wanted}); ${stored}, but are not confirmed durable`,
      ids,
      { local, replicas },
    );
  }
}
