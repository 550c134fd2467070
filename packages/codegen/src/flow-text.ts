/** Flow rules in words, for notes and for the generated modules' JSDoc. */
import type { FlowContract, FlowKeyContract } from './contract-types.ts';

/** A window length for people: `1 s`, `250 ms`, `5 min`, `2 h`. */
export function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * A key function for people: its source on one line when short, else its
 * hash. Safe inside a JSDoc comment (never contains its end).
 */
export function keyText(key: FlowKeyContract): string {
  const line = key.source.replace(/\s+/g, ' ');
  if (line.length > 80 || line.includes('*/'))
    return `#${key.hash} (see contract.json)`;
  return line.includes('`') ? `\`\` ${line} \`\`` : `\`${line}\``;
}

const perKey = (key: FlowKeyContract | undefined): string =>
  key ? ` per key ${keyText(key)}` : '';

/** `100 per 1 s`, with the key when there is one. */
export function rateText(r: NonNullable<FlowContract['rateLimit']>): string {
  return `at most ${r.limit} starts per ${duration(r.perMs)}${perKey(r.key)}`;
}

export function concurrencyText(
  c: NonNullable<FlowContract['concurrency']>,
): string {
  return `at most ${c.limit} active${perKey(c.key)}`;
}

export function debounceText(d: NonNullable<FlowContract['debounce']>): string {
  return `waits ${duration(d.periodMs)}${d.key ? `; a later job of the same key ${keyText(d.key)}` : '; a later job of this type'} enqueued meanwhile replaces it`;
}

export function throttleText(t: NonNullable<FlowContract['throttle']>): string {
  return `at most ${t.limit} per ${duration(t.periodMs)}${perKey(t.key)}`;
}

/**
 * The JSDoc paragraph of a job type's flow rules, e.g. `throttled: at most 5
 * per 1 s per key ...`; undefined without rules.
 */
export function flowDoc(flow: FlowContract | undefined): string | undefined {
  if (flow === undefined) return undefined;
  const lines: string[] = [];
  if (flow.rateLimit)
    lines.push(
      `- rate-limited: ${rateText(flow.rateLimit)}; a job over the limit waits for a free slot.`,
    );
  if (flow.concurrency)
    lines.push(
      `- concurrency: ${concurrencyText(flow.concurrency)}; keys with waiting jobs take turns.`,
    );
  if (flow.debounce)
    lines.push(
      `- debounced: ${debounceText(flow.debounce)} (the replaced job ends as cancelled; the new handle's \`replaced\` names it).`,
    );
  if (flow.throttle)
    lines.push(
      `- throttled: ${throttleText(flow.throttle)}; extra jobs are dropped, not stored (their handle's \`outcome\` is \`'throttled'\`).`,
    );
  return lines.length === 0
    ? undefined
    : ['Flow control:', ...lines].join('\n');
}
