import { describe, expect, it } from 'vitest';
import { formatLayoutReport } from '../src/commands/migrate-layout.ts';

describe('migrate-layout report line', () => {
  // An outside review (2026-12-01) read "1 log lists in 1 passes".
  it('counts one of a thing in the singular', () => {
    const report = {
      queue: 'email',
      dryRun: false,
      layoutBefore: undefined,
      layout: 3,
      payloads: 1,
      logs: 1,
      passes: 1,
      complete: true,
    };
    expect(formatLayoutReport(report)).toBe(
      'email: layout none recorded -> 3; moved 1 payload and 1 log list in 1 pass',
    );
    expect(
      formatLayoutReport({ ...report, payloads: 0, logs: 2, passes: 2 }),
    ).toBe(
      'email: layout none recorded -> 3; moved 0 payloads and 2 log lists in 2 passes',
    );
  });
});
