/**
 * The worker processes' ledgers are read while the processes append to
 * them: a read can catch a line half written. CI once failed the 30 s rate
 * test on `Unterminated string in JSON` from such a line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFlowLedger } from './processes/flow-worker.ts';
import { readLedger } from './processes/worker-process.ts';

describe('ledger reads', () => {
  it('leave out a last line still being written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-ledger-'));
    try {
      const file = path.join(dir, 'ledger');
      const whole = { ev: 'start', id: 'a', n: 1, attempt: 1, pid: 1, t: 1 };
      fs.writeFileSync(file, `${JSON.stringify(whole)}\n{"ev":"sta`);
      expect(readLedger(file)).toEqual([whole]);
      expect(readFlowLedger(file)).toEqual([whole]);
      fs.appendFileSync(file, 'rt"}\n');
      expect(readLedger(file)).toHaveLength(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
