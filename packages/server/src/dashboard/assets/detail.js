/* global setTimeout, clearTimeout */
/**
 * The job detail panel: state, actions, timings, progress, data, result,
 * errors with their stacks, and logs. Everything a job carries is shown
 * as text (see dom.js).
 */
import { stateLabel } from './counts.js';
import {
  absolute,
  h,
  jsonText,
  percentOf,
  priorityText,
  replace,
} from './dom.js';

const CONFIRM_MS = 4000;

/** Which actions a job in each state allows, and why the others are off. */
const ACTIONS = [
  {
    action: 'retry',
    label: 'Retry',
    allowed: (s) => s === 'failed' || s === 'expired',
    why: 'Only failed or expired jobs can be retried',
  },
  {
    action: 'promote',
    label: 'Promote',
    allowed: (s) => s === 'delayed',
    why: 'Only delayed jobs can be promoted',
  },
  {
    action: 'cancel',
    label: 'Cancel',
    allowed: (s) => s === 'waiting' || s === 'delayed' || s === 'active',
    why: 'Only waiting, delayed or active jobs can be cancelled',
  },
  {
    action: 'remove',
    label: 'Remove',
    allowed: (s) => s !== 'active',
    why: 'An active job cannot be removed while a worker holds it',
  },
];

/** Actions that cannot be undone: the first click arms, the second acts. */
const CONFIRM = { remove: 'Confirm remove', cancel: 'Confirm cancel' };

/** Shows a message instead of a job (nothing selected, job gone). */
export function renderPlaceholder(el, title, text) {
  replace(
    el,
    h(
      'div',
      { class: 'placeholder' },
      h('p', { class: 'placeholder-title' }, title),
      h('p', {}, text),
    ),
  );
}

/**
 * The job whose Remove (or Cancel) is armed, and until when. It lives
 * outside the button because events re-render the panel between the two
 * clicks; a fresh button for the same job must stay armed.
 */
let armedRemove = { id: undefined, action: undefined, until: 0 };

function actionButton({ action, label, allowed, why }, job, onAction) {
  const ok = allowed(job.state);
  const button = h(
    'button',
    {
      type: 'button',
      class: CONFIRM[action] ? 'danger' : 'secondary',
      dataset: { action },
      disabled: !ok,
      title: ok ? undefined : why,
    },
    label,
  );
  let timer;
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
    if (armedRemove.id === job.id && armedRemove.action === action)
      armedRemove = { id: undefined, action: undefined, until: 0 };
    button.textContent = label;
    button.classList.remove('armed');
  };
  const arm = (ms) => {
    button.textContent = CONFIRM[action];
    button.classList.add('armed');
    timer = setTimeout(disarm, ms);
  };
  if (
    CONFIRM[action] &&
    ok &&
    armedRemove.id === job.id &&
    armedRemove.action === action
  ) {
    const left = armedRemove.until - Date.now();
    if (left > 0) arm(left);
  }
  button.addEventListener('click', () => {
    // Removing or cancelling cannot be undone: the first click arms, the
    // second acts.
    if (CONFIRM[action] && timer === undefined) {
      armedRemove = { id: job.id, action, until: Date.now() + CONFIRM_MS };
      arm(CONFIRM_MS);
      return;
    }
    clearTimeout(timer);
    if (CONFIRM[action])
      armedRemove = { id: undefined, action: undefined, until: 0 };
    button.disabled = true;
    onAction(action, job);
  });
  return button;
}

function meta(label, value, title) {
  return [h('dt', {}, label), h('dd', title ? { title } : {}, value)];
}

function section(title, ...content) {
  return h('section', { class: 'detail-section' }, h('h3', {}, title), content);
}

function progressView(progress) {
  const pct = percentOf(progress);
  const extra =
    typeof progress === 'object' && progress !== null
      ? Object.entries(progress).filter(([k]) => k !== 'percent')
      : [];
  return h(
    'div',
    { class: 'progress', dataset: { role: 'progress' } },
    pct === undefined
      ? null
      : h(
          'div',
          { class: 'progress-row' },
          h('progress', { max: '100', value: String(pct) }),
          h('span', { class: 'progress-pct' }, `${Math.round(pct)}%`),
        ),
    extra.length > 0 || pct === undefined
      ? h(
          'p',
          { class: 'mono muted' },
          pct === undefined
            ? jsonText(progress)
            : extra.map(([k, v]) => `${k} ${jsonText(v)}`).join(' · '),
        )
      : null,
  );
}

/**
 * Replaces the progress view in place (a `progress` event); false when the
 * panel has none yet, and needs a full render.
 */
export function updateProgress(el, progress) {
  const current = el.querySelector('[data-role="progress"]');
  if (current === null) return false;
  current.replaceWith(progressView(progress));
  return true;
}

function errorView(e) {
  const head = [
    e.attempt === undefined ? null : `Attempt ${e.attempt}`,
    e.code,
    e.at === undefined ? null : absolute(e.at),
  ].filter((x) => x !== null && x !== '');
  return h(
    'li',
    { class: 'error-item' },
    h('p', { class: 'error-head' }, head.join(' · ')),
    h('p', { class: 'error-message' }, `${e.name}: ${e.message}`),
    e.issues?.length
      ? h(
          'ul',
          { class: 'issues' },
          e.issues.map((i) =>
            h('li', {}, `${i.path || '(root)'}: ${i.message}`),
          ),
        )
      : null,
    e.stack ? h('pre', { class: 'stack' }, e.stack) : null,
  );
}

/**
 * The Data section. A job stored by an older contract version than the
 * server's gets a "Show as vN" toggle; when it is on, `job` was read with
 * `?upcast=true`: its data is in the current shape, or, when the upcast
 * failed, as stored, with the reason shown.
 */
function dataSection(job, upcast) {
  const data = h(
    'pre',
    { class: 'json', dataset: { role: 'data' } },
    jsonText(job.data),
  );
  const current = upcast?.current;
  if (current === undefined || !(job.version < current)) {
    return section('Data', data);
  }
  const on = upcast.on === true;
  const failed = on && job.upcastError !== undefined;
  return section(
    'Data',
    h(
      'div',
      { class: 'data-version' },
      h(
        'button',
        {
          type: 'button',
          class: on ? 'toggle on' : 'toggle',
          dataset: { role: 'upcast' },
          'aria-pressed': on ? 'true' : 'false',
          title: on
            ? `Show the payload as stored (v${job.version})`
            : `Show the payload as a v${current} handler gets it`,
          on: { click: () => upcast.onToggle(!on) },
        },
        `Show as v${current}`,
      ),
      h(
        'span',
        { class: 'muted', dataset: { role: 'data-version' } },
        !on
          ? `As stored (v${job.version})`
          : failed
            ? `As stored (v${job.version}): it cannot be shown as v${current}`
            : `As v${job.dataVersion ?? current}, upcast from stored v${job.version}`,
      ),
    ),
    failed
      ? h(
          'ol',
          { class: 'errors upcast-error', dataset: { role: 'upcast-error' } },
          errorView(job.upcastError),
        )
      : null,
    data,
  );
}

/**
 * Renders one job into `el`. `onAction(action, job)` runs for retry,
 * promote, cancel and remove; `onClose()` for the close button. `upcast`, when the
 * server knows the job's type: `{ current, on, onToggle(on) }`, the type's
 * current version, whether `job` was read upcast, and what the toggle does.
 */
export function renderDetail(el, job, { onAction, onClose, upcast }) {
  const errors = [...job.errors].reverse(); // latest first
  const failedish = job.state === 'failed' || job.state === 'expired';
  const errorsView = section(
    `Errors (${errors.length})`,
    errors.length === 0
      ? h('p', { class: 'muted' }, 'None recorded.')
      : h('ol', { class: 'errors' }, errors.map(errorView)),
  );
  replace(
    el,
    h(
      'div',
      { class: 'detail-head' },
      h(
        'div',
        { class: 'detail-title' },
        h('p', { class: 'eyebrow' }, `${job.name} · queue ${job.queue}`),
        h('h2', { class: 'mono', title: job.id }, job.id),
      ),
      h(
        'span',
        { class: `badge state-${job.state}`, dataset: { role: 'state' } },
        stateLabel(job.state),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'close ghost',
          title: 'Close',
          'aria-label': 'Close',
          on: { click: onClose },
        },
        '×',
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      ACTIONS.map((a) => actionButton(a, job, onAction)),
    ),
    h(
      'dl',
      { class: 'meta' },
      meta(
        'Attempts',
        `${job.attemptsMade} of ${job.attempts}` +
          (job.stalls > 0 ? ` · ${job.stalls} stalled` : ''),
      ),
      meta('Priority', `${priorityText(job.priority)} (${job.priority})`),
      meta('Created', absolute(job.createdAt)),
      job.dueAt ? meta('Due', absolute(job.dueAt)) : null,
      job.startedAt ? meta('Started', absolute(job.startedAt)) : null,
      job.finishedAt ? meta('Finished', absolute(job.finishedAt)) : null,
      job.leaseExpiresAt && job.state === 'active'
        ? meta(
            'Lease until',
            absolute(job.leaseExpiresAt) +
              (Date.now() - job.leaseExpiresAt > 1000
                ? ' · ran out: its worker died or froze'
                : ''),
          )
        : null,
      job.cancelRequestedAt && job.state === 'active'
        ? meta('Cancel requested', absolute(job.cancelRequestedAt))
        : null,
      job.cancelReason ? meta('Cancel reason', job.cancelReason) : null,
      meta(
        'Contract',
        upcast?.current === undefined || upcast.current === job.version
          ? `v${job.version}`
          : `v${job.version} (current v${upcast.current})`,
        job.fingerprint ? `fingerprint ${job.fingerprint}` : undefined,
      ),
    ),
    job.progress !== undefined || job.state === 'active'
      ? section('Progress', progressView(job.progress))
      : null,
    // A failed job is opened for its errors: show them before the data.
    failedish ? errorsView : null,
    dataSection(job, upcast),
    job.result !== undefined
      ? section('Result', h('pre', { class: 'json' }, jsonText(job.result)))
      : null,
    failedish ? null : errorsView,
    section(
      `Logs (${job.logs.length})`,
      job.logs.length === 0
        ? h('p', { class: 'muted' }, 'Nothing logged.')
        : h(
            'ol',
            { class: 'logs mono' },
            job.logs.map((line) => h('li', {}, line)),
          ),
    ),
  );
}
