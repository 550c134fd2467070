import { core, z } from 'zod';

type SafeResult<TSchema extends z.ZodType> = z.ZodSafeParseResult<
  z.output<TSchema>
>;

/**
 * A schema that threw instead of reporting an issue (a transform or refine
 * that throws, a payload nested past the stack) as a failed parse: the
 * value is invalid, so the job fails at once with VALIDATION_FAILED rather
 * than being retried as a handler error, and an enqueue is refused.
 */
export function thrownAsFailure<TSchema extends z.ZodType>(
  err: unknown,
  value: unknown,
): SafeResult<TSchema> {
  const reason = err instanceof Error ? err.message : String(err);
  const error = new z.ZodError([
    {
      code: 'custom',
      path: [],
      message: `the schema threw: ${reason}`,
      input: value,
    },
  ]);
  return { success: false, error } as SafeResult<TSchema>;
}

/**
 * `safeParse`, falling back to `safeParseAsync` only for schemas with async
 * refinements or transforms. The sync path skips a promise per parse and
 * lets zod use its compiled fast path; the result is the same. A schema
 * that throws gives a failed result ({@link thrownAsFailure}).
 */
export function safeParseFast<TSchema extends z.ZodType>(
  schema: TSchema,
  value: unknown,
): SafeResult<TSchema> | Promise<SafeResult<TSchema>> {
  if (asyncSchemas.has(schema)) return parseAsync(schema, value);
  try {
    return schema.safeParse(value);
  } catch (err) {
    if (err instanceof core.$ZodAsyncError) {
      asyncSchemas.add(schema);
      return parseAsync(schema, value);
    }
    return thrownAsFailure<TSchema>(err, value);
  }
}

/**
 * Schemas whose sync parse met an async refine or transform. A sync try
 * runs such a check, then drops its promise (zod throws), so each parse
 * would run it twice, and a check that rejects would reject unhandled:
 * after the first, they go straight to the async parse.
 */
const asyncSchemas = new WeakSet<z.ZodType>();

function parseAsync<TSchema extends z.ZodType>(
  schema: TSchema,
  value: unknown,
): Promise<SafeResult<TSchema>> {
  return schema
    .safeParseAsync(value)
    .catch((thrown: unknown) => thrownAsFailure<TSchema>(thrown, value));
}
