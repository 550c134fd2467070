import type { DiffContext } from './types.ts';

/**
 * Shorthands for the common verdict shapes. A narrowing (the reader accepts
 * less) breaks BACKWARD only: old data may fall outside, while new writers
 * stay inside what old readers accept. A widening is the mirror image.
 */
export function narrowed(
  ctx: DiffContext,
  path: string,
  kind: string,
  summary: string,
): void {
  ctx.report({
    path,
    kind,
    summary,
    backward: 'breaks',
    forward: 'safe',
    why: {
      backward: `${ctx.voice.stored} may hold values the new schema rejects`,
    },
  });
}

export function widened(
  ctx: DiffContext,
  path: string,
  kind: string,
  summary: string,
): void {
  ctx.report({
    path,
    kind,
    summary,
    backward: 'safe',
    forward: 'breaks',
    why: {
      forward: `${ctx.voice.newWriters} may store values ${ctx.voice.oldReaders} reject`,
    },
  });
}

/** Neither set contains the other: both directions break. */
export function swapped(
  ctx: DiffContext,
  path: string,
  kind: string,
  summary: string,
): void {
  ctx.report({
    path,
    kind,
    summary,
    backward: 'breaks',
    forward: 'breaks',
    why: {
      backward: `${ctx.voice.stored} may hold values the new schema rejects`,
      forward: `${ctx.voice.oldReaders} reject what ${ctx.voice.newWriters} store`,
    },
  });
}

/** The contract cannot tell; a human has to look (and --accept). */
export function undecidable(
  ctx: DiffContext,
  path: string,
  kind: string,
  summary: string,
  why: string,
): void {
  ctx.report({
    path,
    kind,
    summary,
    backward: 'unknown',
    forward: 'unknown',
    why: { backward: why, forward: why },
  });
}

/** Short JSON for messages, e.g. `"a"` or `5`. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
