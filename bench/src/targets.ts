/**
 * The targets of issue #15 ("Performance, round 2"), one per report row, and
 * the check of each against the medians of one run. Pure, so it is tested on
 * its own.
 */

/** Medians of one report row, by system; absent when a system did not run it. */
export interface RowMedians {
  jobwire?: number | undefined;
  bullmq?: number | undefined;
  beequeue?: number | undefined;
}

export interface Target {
  /** The report row (scenario) it applies to. */
  scenario: string;
  /** As printed in the target column. */
  text: string;
  /** Whether the row meets it; undefined when a figure it needs is missing. */
  met(m: RowMedians): boolean | undefined;
}

const finite = (x: number | undefined): x is number =>
  x !== undefined && Number.isFinite(x);

/** jobwire ÷ `peer` at least `ratio` (throughput rows). */
function atLeastTimes(
  scenario: string,
  ratio: number,
  peer: 'bullmq' | 'beequeue',
): Target {
  const label = peer === 'bullmq' ? 'BullMQ' : 'Bee-Queue';
  return {
    scenario,
    text: `≥ ${ratio.toFixed(1)}× ${label}`,
    met: (m) => {
      const jw = m.jobwire;
      const p = m[peer];
      return finite(jw) && finite(p) && p !== 0 ? jw / p >= ratio : undefined;
    },
  };
}

/** jobwire's figure at most `limit` (cost rows). */
function atMost(scenario: string, limit: number, unit: string): Target {
  return {
    scenario,
    text: `≤ ${limit} ${unit}`,
    met: (m) => (finite(m.jobwire) ? m.jobwire <= limit : undefined),
  };
}

/** jobwire's figure below `limit` (percent rows). */
function below(scenario: string, limit: number, unit: string): Target {
  return {
    scenario,
    text: `< ${limit}${unit}`,
    met: (m) => (finite(m.jobwire) ? m.jobwire < limit : undefined),
  };
}

/** The targets of #15, in the order of its table. */
export const TARGETS: readonly Target[] = [
  atLeastTimes('process_c10', 2, 'bullmq'),
  atLeastTimes('process_c100', 2.5, 'bullmq'),
  atLeastTimes('enqueue_seq', 1, 'beequeue'),
  atLeastTimes('enqueue_concurrent', 1.2, 'beequeue'),
  atLeastTimes('enqueue_bulk', 1.5, 'beequeue'),
  {
    scenario: 'latency:pickup_p50',
    text: '≤ Bee-Queue',
    met: ({ jobwire: jw, beequeue: bee }) =>
      finite(jw) && finite(bee) ? jw <= bee : undefined,
  },
  {
    scenario: 'latency:pickup_p99',
    text: '≤ Bee-Queue and ≤ 1 ms',
    met: ({ jobwire: jw, beequeue: bee }) =>
      finite(jw) && finite(bee) ? jw <= bee && jw <= 1 : undefined,
  },
  atMost('memory', 400, 'B'),
  atMost('enqueue_concurrent:redis_cpu', 6, 'µs'),
  atMost('enqueue_concurrent:redis_cmd_us', 6, 'µs'),
  atMost('enqueue_bulk:redis_cpu', 6, 'µs'),
  atMost('enqueue_bulk:redis_cmd_us', 6, 'µs'),
  atMost('process_c100:redis_cpu', 12, 'µs'),
  atMost('process_c100:redis_cmd_us', 12, 'µs'),
  {
    scenario: 'backlog_large/small',
    text: '≥ 0.90',
    met: (m) => (finite(m.jobwire) ? m.jobwire >= 0.9 : undefined),
  },
  below('validation_cost:enqueue', 5, '%'),
  below('validation_cost:process', 5, '%'),
  below('validation_cpu:enqueue', 5, '%'),
  below('validation_cpu:process', 5, '%'),
];

const byScenario = new Map(TARGETS.map((t) => [t.scenario, t]));

/** The target column and met mark of a row: `['', '']` without a target. */
export function targetCells(
  scenario: string,
  m: RowMedians,
): [text: string, met: string] {
  const t = byScenario.get(scenario);
  if (t === undefined) return ['', ''];
  const met = t.met(m);
  return [t.text, met === undefined ? '–' : met ? 'yes' : 'no'];
}
