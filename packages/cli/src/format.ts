/** Plain aligned text tables for the human output. */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const isNumeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^-?\d+$/.test(r[i] ?? '')),
  );
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const last = i === cells.length - 1;
        if (isNumeric[i]) return c.padStart(w);
        return last ? c : c.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function time(ms: number | undefined): string {
  return ms === undefined || ms === 0 ? '-' : new Date(ms).toISOString();
}

/** A duration for an operator: `250ms`, `1.5s`, `2m`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))}m`;
  return `${Number((ms / 3_600_000).toFixed(1))}h`;
}

/**
 * A time with how far it is from now: `2026-12-02T08:00:00.000Z (in 3h)`,
 * `… (12.3s ago)`; `-` for none.
 */
export function timeFromNow(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined || ms === 0) return '-';
  const diff = ms - now;
  const rel =
    Math.abs(diff) < 1000
      ? 'now'
      : diff > 0
        ? `in ${duration(diff)}`
        : `${duration(-diff)} ago`;
  return `${time(ms)} (${rel})`;
}

/** One line, at most `max` characters. */
export function short(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** A value as indented JSON below a label, or on the same line if short. */
export function block(label: string, value: unknown): string {
  if (value === undefined) return `${label}: -`;
  const text = JSON.stringify(value, null, 2) ?? String(value);
  if (!text.includes('\n')) return `${label}: ${text}`;
  return `${label}:\n${text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}`;
}

/**
 * Whether an active job's lease deadline has passed: its worker died or
 * froze (a live one renews it). The deadline is on Redis's clock; a second
 * of slack covers a skewed one here.
 */
export function leaseRanOut(leaseExpiresAt: number | undefined): boolean {
  return leaseExpiresAt !== undefined && Date.now() - leaseExpiresAt > 1000;
}
