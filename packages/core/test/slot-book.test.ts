import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeasedJob } from '../src/redis/transitions/lease.ts';
import { SlotBook } from '../src/worker/slot-book.ts';

// The prefetch buffer's depth, on a clock the test sets: how many jobs a
// fetch reserves beyond the free slots after handlers of known lengths.

// Handler times are binary fractions, so the clock's sums stay exact.
const FAST = 1 / 128;
let clock = 0;
afterEach(() => vi.restoreAllMocks());

function book(concurrency: number, prefetch = 128): SlotBook {
  clock = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
  return new SlotBook(concurrency, new Map(), prefetch);
}

let n = 0;
function leased(): LeasedJob {
  n++;
  return {
    id: String(n),
    name: 't',
    queue: 'q',
    data: '{}',
    options: '{}',
    attemptsMade: 0,
    token: `w:1:${n}`,
    stalls: 0,
    createdAt: 0,
    version: 1,
    fingerprint: '',
    unstarted: false,
  };
}

/** Runs one handler of `ms` through the book's only slot. */
function run(slots: SlotBook, ms: number): void {
  const job = leased();
  expect(slots.tryOccupy(job)).toBe(true);
  clock += ms;
  slots.release(job);
}

/** How many jobs a fetch would lease now (the free slot included). */
function fetchSize(slots: SlotBook): number {
  const r = slots.reserve(['t']);
  slots.unreserve(r);
  return r.total;
}

describe('prefetch depth', () => {
  it('is unknown, so nothing, before the first handler ends', () => {
    expect(fetchSize(book(1))).toBe(1);
  });

  it('is the whole prefetch for microsecond handlers, about 4 ms of work for slower ones', () => {
    const slots = book(1);
    for (let i = 0; i < 30; i++) run(slots, FAST);
    expect(fetchSize(slots)).toBe(1 + 128);
    // Handlers of 2 ms: two jobs ahead hold 4 ms of work.
    for (let i = 0; i < 30; i++) run(slots, 2);
    expect(fetchSize(slots)).toBe(1 + 2);
    // Ten slots drain ten times as fast: twenty ahead.
    const ten = book(10);
    for (let i = 0; i < 30; i++) run(ten, 2);
    expect(fetchSize(ten)).toBe(10 + 20);
  });

  it('shrinks at once after one slow handler among fast ones, then grows back', () => {
    const slots = book(1);
    for (let i = 0; i < 30; i++) run(slots, FAST);
    run(slots, 8);
    // The average alone (1.6 ms) would still allow three ahead.
    expect(fetchSize(slots)).toBe(1 + 1);
    for (let i = 0; i < 40; i++) run(slots, FAST);
    expect(fetchSize(slots)).toBe(1 + 128);
  });

  it('stops at 10 ms handlers and with prefetch 0', () => {
    const slow = book(4);
    for (let i = 0; i < 30; i++) run(slow, 10);
    expect(fetchSize(slow)).toBe(4);
    const off = book(4, 0);
    for (let i = 0; i < 30; i++) run(off, FAST);
    expect(fetchSize(off)).toBe(4);
  });
});
