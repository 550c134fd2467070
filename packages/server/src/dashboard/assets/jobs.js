/** The job list: one row per job of the selected state and type. */
import {
  absolute,
  h,
  oneLine,
  percentOf,
  priorityText,
  relative,
  replace,
} from './dom.js';

/** What the Status column says about a job, by state. */
function status(job) {
  switch (job.state) {
    case 'active': {
      const pct = percentOf(job.progress);
      if (pct === undefined) return h('span', { class: 'muted' }, 'running');
      return h(
        'span',
        { class: 'inline-progress' },
        h('progress', { max: '100', value: String(pct) }),
        `${Math.round(pct)}%`,
      );
    }
    case 'cancelled':
      return job.cancelReason === undefined
        ? ''
        : h(
            'span',
            { class: 'muted', title: job.cancelReason },
            oneLine(job.cancelReason, 60),
          );
    case 'failed':
    case 'expired': {
      const last = job.errors[job.errors.length - 1];
      if (last === undefined) return '';
      return h(
        'span',
        { class: 'error-text', title: last.message },
        oneLine(`${last.name}: ${last.message}`, 60),
      );
    }
    case 'delayed':
      return h(
        'span',
        { title: absolute(job.dueAt) },
        `due ${relative(job.dueAt)}`,
      );
    case 'completed':
      return h(
        'span',
        { class: 'muted', title: absolute(job.finishedAt) },
        `finished ${relative(job.finishedAt)}`,
      );
    default:
      return h(
        'span',
        { class: job.priority < 0 ? 'urgent' : 'muted' },
        `${priorityText(job.priority)} priority`,
      );
  }
}

/**
 * Renders `jobs` into the table body `tbody`; `onSelect(job)` runs when a
 * row is clicked, and the row of `selectedId` is highlighted.
 */
export function renderJobs(tbody, jobs, { selectedId, onSelect }) {
  const rows = jobs.map((job) => {
    const data = JSON.stringify(job.data) ?? '';
    return h(
      'tr',
      {
        class: job.id === selectedId ? 'selected clickable' : 'clickable',
        dataset: { id: job.id, queue: job.queue },
        tabindex: '0',
        on: {
          click: () => onSelect(job),
          keydown: (e) => e.key === 'Enter' && onSelect(job),
        },
      },
      h('td', { class: 'mono id', title: job.id }, job.id),
      h('td', {}, job.name),
      h(
        'td',
        { class: 'mono data', title: oneLine(data, 500) },
        oneLine(data, 70),
      ),
      h('td', { class: 'num' }, `${job.attemptsMade}/${job.attempts}`),
      h(
        'td',
        { class: 'muted', title: absolute(job.createdAt) },
        relative(job.createdAt),
      ),
      h('td', { class: 'status' }, status(job)),
    );
  });
  replace(tbody, rows);
}
