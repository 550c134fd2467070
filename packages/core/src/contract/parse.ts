import { core, type z } from 'zod';

/**
 * `safeParse`, falling back to `safeParseAsync` only for schemas with async
 * refinements or transforms. The sync path skips a promise per parse and
 * lets zod use its compiled fast path; the result is the same.
 */
export function safeParseFast<TSchema extends z.ZodType>(
  schema: TSchema,
  value: unknown,
):
  | z.ZodSafeParseResult<z.output<TSchema>>
  | Promise<z.ZodSafeParseResult<z.output<TSchema>>> {
  try {
    return schema.safeParse(value);
  } catch (err) {
    if (err instanceof core.$ZodAsyncError) return schema.safeParseAsync(value);
    throw err;
  }
}
