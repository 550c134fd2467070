/**
 * The "flow control" panel: per job type with flow rules, its rules, how
 * full its type-wide rate window is and how many jobs the throttle dropped
 * or debounce replaced; below, the keys with the most waiting jobs and
 * what each waits on. Shown only while some type has flow state (from
 * `GET /stats`'s `flow`, the same object as `GET /flow`).
 */
import { duration, h, oneLine, replace } from './dom.js';

const number = new Intl.NumberFormat();
/** Keys shown per type; `GET /flow/:type?keys=` lists more. */
const KEYS_SHOWN = 10;
/** Throttled keys named per type. */
const THROTTLED_SHOWN = 3;

/** A flow key as one line of text; blank keys are the per-type rule's. */
function keyText(key) {
  return String(key).trim() === '' ? '(whole type)' : oneLine(key, 60);
}

/** The rules, e.g. "5 per 1 s per key · 2 active per key". */
function rulesText(rules) {
  const parts = [];
  const r = rules ?? {};
  if (r.rateLimit)
    parts.push(
      `${number.format(r.rateLimit.limit)} per ${duration(r.rateLimit.perMs)}${r.rateLimit.keyed ? ' per key' : ''}`,
    );
  if (r.concurrency)
    parts.push(`${number.format(r.concurrency.limit)} active per key`);
  if (r.throttle)
    parts.push(
      `throttle ${number.format(r.throttle.limit)} per ${duration(r.throttle.periodMs)}`,
    );
  if (r.debounce) parts.push(`debounce ${duration(r.debounce.periodMs)}`);
  return parts.length === 0 ? '–' : parts.join(' · ');
}

/** The type-wide rate window, and whether it holds every job back. */
function windowCell(rate) {
  if (rate === undefined) return h('td', { class: 'muted' }, '–');
  const used = `${number.format(rate.used)} / ${number.format(rate.limit)}`;
  if (!rate.capped) return h('td', {}, used);
  const frees =
    rate.freesInMs === undefined
      ? ''
      : `, frees in ${duration(rate.freesInMs)}`;
  return h('td', { class: 'warn' }, `${used} (full${frees})`);
}

/** Why a key's jobs wait, in an operator's words. */
function whyText(stats, key) {
  if (key.why === 'concurrency') {
    const limit = stats.rules?.concurrency?.limit;
    return `at its concurrency limit (${key.active}${limit === undefined ? '' : ` / ${limit}`} active)`;
  }
  if (key.why === 'rate')
    return key.freesInMs === undefined
      ? 'rate limit'
      : `rate limit, frees in ${duration(key.freesInMs)}`;
  return stats.rate?.capped
    ? 'its turn, once the type-wide window frees'
    : 'its turn (keys take turns)';
}

/**
 * Renders `flow` (from `GET /stats`) into `section`: one row per type in
 * `typeBody`, and the top keys of every type in `keyBody`; hides the
 * section when no type has flow state.
 */
export function renderFlow(section, typeBody, keyBody, flow) {
  const types = Object.entries(flow ?? {});
  const typeRows = types.map(([type, stats]) => {
    const counts = stats.keyCounts ?? { total: 0, exact: true };
    const throttledKeys = (stats.throttledKeys ?? [])
      .slice(0, THROTTLED_SHOWN)
      .map((k) => `${keyText(k.key)} ${number.format(k.dropped)}`)
      .join(' · ');
    return h(
      'tr',
      { dataset: { type } },
      h('td', { class: 'type-name' }, type),
      h('td', {}, rulesText(stats.rules)),
      windowCell(stats.rate),
      h(
        'td',
        { class: 'num' },
        `${counts.exact ? '' : '≤ '}${number.format(counts.total)}`,
      ),
      h('td', { class: 'num' }, number.format(stats.throttled ?? 0)),
      h('td', { class: 'num' }, number.format(stats.debounced ?? 0)),
      h('td', { class: 'muted' }, throttledKeys || '–'),
    );
  });
  const keyRows = [];
  for (const [type, stats] of types) {
    for (const key of (stats.keys ?? []).slice(0, KEYS_SHOWN)) {
      keyRows.push(
        h(
          'tr',
          { dataset: { type, key: key.key, why: key.why } },
          h('td', { class: 'type-name' }, type),
          h('td', { class: 'mono' }, keyText(key.key)),
          h('td', { class: 'num' }, number.format(key.waiting)),
          h('td', { class: 'num' }, number.format(key.active)),
          h(
            'td',
            key.why === 'turn' ? { class: 'muted' } : { class: 'warn' },
            whyText(stats, key),
          ),
        ),
      );
    }
  }
  section.hidden = types.length === 0;
  replace(typeBody, typeRows);
  replace(keyBody, keyRows);
  keyBody.closest('table').hidden = keyRows.length === 0;
}
