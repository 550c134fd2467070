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
  try {
    return schema.safeParse(value);
  } catch (err) {
    if (err instanceof core.$ZodAsyncError) {
      return schema
        .safeParseAsync(value)
        .catch((thrown: unknown) => thrownAsFailure<TSchema>(thrown, value));
    }
    return thrownAsFailure<TSchema>(err, value);
  }
}
