/**
 * One figure line per scenario, e.g.
 * `S01 acked=200 lost=0 dup=3 dupBound=20 recovery=1840ms bound=3500ms PASS`.
 * Printed with console.log so vitest shows it with the test's output.
 */
export type Figure = string | number | boolean;

export function report(
  scenario: string,
  figures: Record<string, Figure>,
  pass: boolean,
): void {
  const parts = Object.entries(figures).map(([k, v]) =>
    typeof v === 'number' && k.toLowerCase().endsWith('ms')
      ? `${k.slice(0, -2)}=${Math.round(v)}ms`
      : `${k}=${String(v)}`,
  );
  console.log(`${scenario} ${parts.join(' ')} ${pass ? 'PASS' : 'FAIL'}`);
}
