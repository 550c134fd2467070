import type { z } from 'zod';

/** The parts of zod 4's internal schema definition that jobwire reads. */
export interface ZodDef {
  type: string;
  coerce?: boolean | undefined;
  checks?: { _zod: { def: { check: string } } }[] | undefined;
  shape?: Record<string, z.ZodType> | undefined;
  catchall?: z.ZodType | undefined;
  innerType?: z.ZodType | undefined;
  element?: z.ZodType | undefined;
  items?: z.ZodType[] | undefined;
  rest?: z.ZodType | null | undefined;
  valueType?: z.ZodType | undefined;
  in?: z.ZodType | undefined;
  getter?: (() => z.ZodType) | undefined;
  options?: z.ZodType[] | undefined;
}

/** A schema's definition (`schema._zod.def`). */
export const defOf = (schema: z.ZodType): ZodDef =>
  (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
