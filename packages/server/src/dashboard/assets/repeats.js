/**
 * The "repeat schedules" panel (read-only): every cron or interval
 * schedule of the shown queues, its bounds, when its pending occurrence
 * runs, and which schedules ended. Shown only while some schedule exists
 * (from `GET /repeats`).
 */
import { absolute, h, oneLine, relative, replace } from './dom.js';

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** An interval exactly: "30 s", "5 min", "1 d", "1.5 s", "250 ms". */
function interval(ms) {
  for (const [unit, size] of UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

/** "cron 0 8 * * * (Europe/Paris)" or "every 30 s". */
function scheduleText(r) {
  if (typeof r.cron === 'string') return `cron ${r.cron} (${r.tz ?? 'UTC'})`;
  if (typeof r.everyMs === 'number') return `every ${interval(r.everyMs)}`;
  return '–';
}

/** "from Jan 10, 9:00:00 AM · until … · limit 5", or "–". */
function boundsText(r) {
  const parts = [];
  if (r.startAtMs !== undefined) parts.push(`from ${absolute(r.startAtMs)}`);
  if (r.endAtMs !== undefined) parts.push(`until ${absolute(r.endAtMs)}`);
  if (r.limit !== undefined) parts.push(`limit ${r.limit}`);
  return parts.length === 0 ? '–' : parts.join(' · ');
}

/** The next run: "in 3 min (Dec 2, 8:00:00 AM)", its exact time as title. */
function nextCell(r, now) {
  if (r.next === undefined) return h('td', { class: 'muted' }, '–');
  const at = r.next.runAt;
  return h(
    'td',
    { title: new Date(at).toISOString(), dataset: { runAt: String(at) } },
    `${relative(at, now)} (${absolute(at)})`,
  );
}

/** What the pending occurrence is doing, or that the schedule ended. */
function stateCell(r) {
  if (r.ended) return h('td', { class: 'muted' }, 'ended');
  if (r.next === undefined)
    return h(
      'td',
      { class: 'warn', title: "a worker's repair pass recreates it" },
      'none pending',
    );
  return r.next.state === 'waiting'
    ? h('td', {}, 'due, waiting for a worker')
    : h('td', { class: 'muted' }, 'delayed');
}

/**
 * Renders `repeats` (from `GET /repeats`) into `section`'s table body
 * `body`, hiding the section when there is none.
 */
export function renderRepeats(section, body, repeats, now = Date.now()) {
  const rows = (repeats ?? []).map((r) =>
    h(
      'tr',
      {
        dataset: {
          key: r.key,
          type: r.name,
          state: r.ended ? 'ended' : (r.next?.state ?? 'none'),
        },
      },
      h('td', { class: 'mono', title: r.key }, r.key),
      h('td', { class: 'type-name' }, r.name),
      h('td', {}, r.queue ?? '?'),
      h('td', { class: 'mono', title: scheduleText(r) }, scheduleText(r)),
      h('td', { class: 'muted', title: boundsText(r) }, boundsText(r)),
      nextCell(r, now),
      stateCell(r),
      h(
        'td',
        { class: 'mono data', title: oneLine(r.data ?? '', 500) },
        oneLine(r.data ?? '', 60),
      ),
    ),
  );
  section.hidden = rows.length === 0;
  replace(body, rows);
}
