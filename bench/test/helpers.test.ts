import { describe, expect, it } from 'vitest';
import { RateSearch, sustained } from '../src/rate-search.ts';
import { diff, isTopLevelOnly, type RedisSnapshot } from '../src/redis.ts';
import { percentile } from '../src/stats.ts';
import { payloadMaker, typeName } from '../src/systems/types.ts';
import { targetCells } from '../src/targets.ts';

/** Drives a search against a system that holds every rate up to `capacity`. */
function search(
  capacity: number,
  o: ConstructorParameters<typeof RateSearch>[0],
) {
  const s = new RateSearch(o);
  const tried: number[] = [];
  for (let r = s.next(); r !== undefined; r = s.next()) {
    if (tried.length > 50) throw new Error('search does not end');
    tried.push(r);
    s.record(r, r <= capacity);
  }
  return { best: s.best, tried };
}

describe('RateSearch', () => {
  it('ramps by the factor, then bisects between the last held and the first failed rate', () => {
    const { best, tried } = search(10_000, {
      start: 2000,
      factor: 2,
      refinements: 2,
      max: 1e6,
    });
    expect(tried.slice(0, 4)).toEqual([2000, 4000, 8000, 16_000]);
    // Two refinements between 8,000 (held) and 16,000 (failed).
    expect(tried).toHaveLength(6);
    expect(tried[4]).toBe(11_000); // √(8,000 × 16,000) ≈ 11,314
    expect(tried[5]).toBe(9400); // √(8,000 × 11,000) ≈ 9,381
    expect(best).toBe(9400);
  });

  it('never offers more than max and stops there when it holds', () => {
    const { best, tried } = search(Infinity, {
      start: 500,
      factor: 2,
      refinements: 3,
      max: 2000,
    });
    expect(tried).toEqual([500, 1000, 2000]);
    expect(best).toBe(2000);
  });

  it('ramps down when the first rate fails, and reports none below min', () => {
    expect(
      search(700, { start: 2000, factor: 2, refinements: 0, max: 1e6 }).best,
    ).toBe(500);
    expect(
      search(0, { start: 2000, factor: 2, refinements: 0, max: 1e6, min: 400 })
        .best,
    ).toBeUndefined();
  });

  it('rejects a factor that would not ramp', () => {
    expect(
      () => new RateSearch({ start: 1, factor: 1, refinements: 0, max: 2 }),
    ).toThrow(/factor/);
  });
});

describe('sustained', () => {
  const step = {
    rate: 10_000,
    planned: 20_000,
    sendMs: 2000,
    concurrency: 100,
  };

  it('holds with a backlog of up to 20 ms of the rate', () => {
    expect(sustained({ ...step, startedAtEnd: 19_800 })).toBe(true);
    expect(sustained({ ...step, startedAtEnd: 19_799 })).toBe(false);
  });

  it('allows twice the concurrency at low rates', () => {
    const low = { rate: 500, planned: 1000, sendMs: 2000, concurrency: 100 };
    expect(sustained({ ...low, startedAtEnd: 800 })).toBe(true);
    expect(sustained({ ...low, startedAtEnd: 799 })).toBe(false);
  });

  it('fails when the producer could not keep to the schedule', () => {
    expect(sustained({ ...step, startedAtEnd: 20_000, sendMs: 2300 })).toBe(
      false,
    );
  });
});

describe('percentile', () => {
  it('interpolates between closest ranks', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 100)).toBe(5);
    expect(percentile(xs, 90)).toBeCloseTo(4.6);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('targetCells', () => {
  it('checks throughput ratios against the named peer', () => {
    expect(targetCells('process_c100', { jobwire: 250, bullmq: 100 })).toEqual([
      '≥ 2.5× BullMQ',
      'yes',
    ]);
    expect(targetCells('process_c100', { jobwire: 249, bullmq: 100 })[1]).toBe(
      'no',
    );
    expect(
      targetCells('enqueue_bulk', { jobwire: 140, beequeue: 100 })[1],
    ).toBe('no');
  });

  it('needs both halves of the pickup p99 target', () => {
    expect(
      targetCells('latency:pickup_p99', { jobwire: 0.9, beequeue: 1.2 })[1],
    ).toBe('yes');
    expect(
      targetCells('latency:pickup_p99', { jobwire: 1.1, beequeue: 1.2 })[1],
    ).toBe('no');
    expect(
      targetCells('latency:pickup_p99', { jobwire: 0.5, beequeue: 0.4 })[1],
    ).toBe('no');
  });

  it('checks cost limits, marks a missing figure and leaves other rows blank', () => {
    expect(targetCells('memory', { jobwire: 400 })).toEqual(['≤ 400 B', 'yes']);
    expect(targetCells('process_c100:redis_cpu', { jobwire: 12.5 })[1]).toBe(
      'no',
    );
    expect(targetCells('process_c10', { jobwire: 100 })[1]).toBe('–');
    expect(targetCells('types50:process_c100', { jobwire: 1 })).toEqual([
      '',
      '',
    ]);
  });
});

describe('payloadMaker', () => {
  it('makes payloads of the asked size, the type field on top', () => {
    expect(JSON.stringify(payloadMaker()(7))).toHaveLength(208);
    expect(JSON.stringify(payloadMaker(10_240)(7))).toHaveLength(10_240);
    const typed = payloadMaker(208, 50)(57);
    expect(typed.type).toBe('t07');
    const rest: Record<string, unknown> = { ...typed };
    delete rest.type;
    expect(JSON.stringify(rest)).toHaveLength(208);
  });

  it('names one type "bench" and spreads jobs over several', () => {
    expect(typeName(3, 1)).toBe('bench');
    expect(typeName(53, 50)).toBe('t03');
  });
});

describe('diff', () => {
  const snap = (
    calls: Record<string, number>,
    usec: Record<string, number>,
  ): RedisSnapshot => ({
    cpuUs: 0,
    calls: new Map(Object.entries(calls)),
    usec: new Map(Object.entries(usec)),
    usedMemory: 0,
  });

  it('counts the commands scripts ran and the time of what clients sent', () => {
    const a = snap(
      { evalsha: 1, hset: 3, bzpopmin: 1 },
      { evalsha: 10, hset: 2, bzpopmin: 1 },
    );
    const b = snap(
      { evalsha: 3, hset: 9, xadd: 2, bzpopmin: 2 },
      { evalsha: 40, hset: 6, xadd: 3, bzpopmin: 3 },
    );
    const d = diff(a, b);
    expect(d.scripts).toBe(2);
    expect(d.commands).toBe(11);
    expect(d.scriptableCalls).toBe(8); // hset 6 + xadd 2
    expect(d.topLevelUsec).toBe(32); // evalsha 30 + bzpopmin 2
  });

  it('knows top-level-only commands by name and family', () => {
    expect(isTopLevelOnly('evalsha')).toBe(true);
    expect(isTopLevelOnly('client|setname')).toBe(true);
    expect(isTopLevelOnly('hset')).toBe(false);
  });
});
