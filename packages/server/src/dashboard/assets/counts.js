/**
 * The header cards (jobs per state) and the job types table (jobs per type
 * and state). Both are built once and only their numbers change, so a
 * refresh never steals focus or scroll position.
 */
import { h, replace } from './dom.js';

/** The states in the order an operator reads them. */
export const STATES = [
  'waiting',
  'active',
  'delayed',
  'completed',
  'failed',
  'expired',
  'cancelled',
];

const LABEL = {
  waiting: 'Waiting',
  active: 'Active',
  delayed: 'Delayed',
  completed: 'Completed',
  failed: 'Failed',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

/** The label of a state, e.g. "Failed". */
export const stateLabel = (state) => LABEL[state] ?? state;

const number = new Intl.NumberFormat();

/**
 * Builds the state cards in `el`; `onPick(state)` runs when one is
 * clicked. Returns `update(counts, selectedState)`.
 */
export function createCards(el, onPick) {
  const cards = new Map();
  for (const state of STATES) {
    const count = h('span', { class: 'card-count', dataset: { count: state } });
    const card = h(
      'button',
      {
        type: 'button',
        class: `card state-${state}`,
        dataset: { state },
        on: { click: () => onPick(state) },
      },
      h(
        'span',
        { class: 'card-label' },
        h('i', { class: 'dot' }),
        LABEL[state],
      ),
      count,
    );
    cards.set(state, { card, count });
    el.append(card);
  }
  return (counts, selected) => {
    for (const [state, { card, count }] of cards) {
      count.textContent = number.format(counts?.[state] ?? 0);
      card.classList.toggle('selected', state === selected);
      card.setAttribute('aria-pressed', String(state === selected));
    }
  };
}

/**
 * The counts of job type `name`, or `{}`: read as an own key, so a type
 * named `constructor` or `toString` never finds an Object.prototype member.
 */
export function ownCounts(counts, name) {
  const byType = counts?.byType;
  return byType && Object.hasOwn(byType, name) ? byType[name] : {};
}

/**
 * Renders the job types table: one row per job type of the shown queues,
 * zeros included. `onPick(name)` runs when a row is clicked.
 */
export function renderTypes(head, body, { types, counts, selected, onPick }) {
  if (head.childElementCount === 0) {
    replace(
      head,
      h('th', {}, 'Job type'),
      h('th', {}, 'Queue'),
      STATES.map((s) => h('th', { class: 'num' }, LABEL[s])),
    );
  }
  const rows = types.map(({ name, queue, paused }) => {
    const c = ownCounts(counts, name);
    return h(
      'tr',
      {
        class: name === selected ? 'selected clickable' : 'clickable',
        dataset: { type: name },
        tabindex: '0',
        on: {
          click: () => onPick(name),
          keydown: (e) => e.key === 'Enter' && onPick(name),
        },
      },
      h('td', { class: 'type-name' }, name),
      h(
        'td',
        { class: 'muted' },
        queue,
        paused ? h('span', { class: 'tag' }, 'paused') : null,
      ),
      STATES.map((s) =>
        h(
          'td',
          { class: `num${c[s] ? ` has state-${s}` : ' zero'}` },
          number.format(c[s] ?? 0),
        ),
      ),
    );
  });
  replace(body, rows);
}
