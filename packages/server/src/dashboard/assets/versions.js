/**
 * The "waiting by contract version" panel: per job type, how many jobs wait
 * in each version lane, and why a lane that no running worker reads waits.
 * Shown only while some type has jobs waiting at a version above 1: in a
 * queue that never bumped a version it would only repeat the counts.
 */
import { h, replace } from './dom.js';

const number = new Intl.NumberFormat();

/** Why a lane waits, in an operator's words. */
function reasonText(lane) {
  if (lane.reason !== 'no-reader') return '';
  return lane.newestReader === undefined
    ? `no running worker knows v${lane.version}`
    : `no running worker knows v${lane.version} (newest reads v${lane.newestReader})`;
}

/**
 * Renders `waitingByVersion` (from `GET /stats`) into `section`'s table
 * body `body`, hiding the section when no type waits above version 1.
 */
export function renderVersions(section, body, waitingByVersion) {
  const rows = [];
  for (const [type, lanes] of Object.entries(waitingByVersion ?? {})) {
    if (!lanes.some((l) => l.version > 1)) continue;
    for (const lane of lanes) {
      const why = reasonText(lane);
      rows.push(
        h(
          'tr',
          { dataset: { type, version: String(lane.version) } },
          h('td', { class: 'type-name' }, type),
          h('td', { class: 'num' }, `v${lane.version}`),
          h('td', { class: 'num' }, number.format(lane.waiting)),
          h(
            'td',
            why ? { class: 'warn' } : { class: 'muted' },
            why || 'read by a running worker',
          ),
        ),
      );
    }
  }
  section.hidden = rows.length === 0;
  replace(body, rows);
}
