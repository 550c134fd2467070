/* global URL, setTimeout, clearTimeout, setInterval, clearInterval */
/**
 * The dashboard: asks for the token if the API wants one, then shows
 * counts, the job list and one job's detail, and keeps them current from
 * the event stream of each queue.
 */
import { ApiError, createClient } from './api.js';
import { createCards, ownCounts, renderTypes, stateLabel } from './counts.js';
import { renderVersions } from './versions.js';
import { renderFlow } from './flow.js';
import { renderRepeats } from './repeats.js';
import { renderDetail, renderPlaceholder, updateProgress } from './detail.js';
import { byId, h, replace, throttle } from './dom.js';
import { followEvents } from './events.js';
import { renderJobs } from './jobs.js';
import { createLogin } from './login.js';

const PAGE_SIZE = 25;
// Browsers open at most 6 HTTP/1.1 connections per host; a stream holds
// one for good, so past this many queues the page polls instead.
const MAX_STREAMS = 4;
const POLL_MS = 5000;
const REFRESH_MS = 250;
// Schedules change rarely; their relative times are redrawn in between.
const REPEATS_REFRESH_MS = 1000;
const REPEATS_REDRAW_MS = 10_000;
const PAST = {
  retry: 'Retried',
  promote: 'Promoted',
  cancel: 'Cancelled',
  remove: 'Removed',
};

/** What the page shows; every render reads from here. */
const view = {
  /** `GET /queues`: `[{ name, paused, jobTypes, versions }]` */
  queues: [],
  /** '' for every queue */
  queue: '',
  state: 'waiting',
  /** '' for every job type */
  type: '',
  offset: 0,
  counts: undefined,
  total: 0,
  /**
   * `{ id, queue, upcast }` of the job in the detail panel; `upcast` when
   * its "Show as vN" toggle is on. Replaced, never changed in place, so a
   * read begun for the previous value is dropped.
   */
  selected: undefined,
  /** `GET /repeats` of the shown queues: `[{ key, name, queue, next?, … }]` */
  repeats: [],
};

const el = {
  app: byId('app'),
  live: byId('live'),
  signOut: byId('sign-out'),
  queuePick: byId('queue-filter'),
  typePick: byId('type-filter'),
  typesHead: byId('types-head'),
  types: byId('types'),
  versions: byId('versions'),
  versionRows: byId('version-rows'),
  flow: byId('flow'),
  flowTypeRows: byId('flow-type-rows'),
  flowKeyRows: byId('flow-key-rows'),
  repeats: byId('repeats'),
  repeatRows: byId('repeat-rows'),
  jobsTitle: byId('jobs-title'),
  jobs: byId('jobs'),
  jobsEmpty: byId('jobs-empty'),
  pageInfo: byId('page-info'),
  prev: byId('prev'),
  next: byId('next'),
  detail: byId('detail'),
  toast: byId('toast'),
};

// The API root: this module is served from <root>/assets/app.js.
const api = createClient(new URL('../', import.meta.url), () =>
  signOut(api.hasToken() ? 'The server refused this token.' : undefined),
);
const login = createLogin(async (token) => {
  api.setToken(token);
  try {
    await start();
    return undefined;
  } catch (err) {
    return err instanceof ApiError && err.status === 401
      ? 'The server refused this token.'
      : `Could not reach the server: ${err.message}`;
  }
});
const updateCards = createCards(byId('counts'), (state) => {
  view.state = state;
  view.offset = 0;
  renderCounts();
  refreshList();
});

let streams = [];
let poller;
let toastTimer;

function toast(message, kind = 'info') {
  el.toast.textContent = message;
  el.toast.dataset.kind = kind;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.toast.hidden = true), 4000);
}

/** Runs a refresh; a refusal shows in the toast (401s sign out first). */
function quietly(fn) {
  return async () => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      toast(err.message, 'error');
    }
  };
}

/** The job types of the shown queues, with their queue and paused flag. */
function shownTypes() {
  return view.queues
    .filter((q) => view.queue === '' || q.name === view.queue)
    .flatMap((q) =>
      q.jobTypes.map((name) => ({ name, queue: q.name, paused: q.paused })),
    );
}

function renderCounts() {
  const c = view.counts;
  updateCards(c, view.state);
  renderTypes(el.typesHead, el.types, {
    types: shownTypes(),
    counts: c,
    selected: view.type,
    onPick: (name) => pickType(view.type === name ? '' : name),
  });
  renderVersions(el.versions, el.versionRows, c?.waitingByVersion);
  renderFlow(el.flow, el.flowTypeRows, el.flowKeyRows, c?.flow);
  view.total =
    (view.type === ''
      ? c?.[view.state]
      : ownCounts(c, view.type)[view.state]) ?? 0;
  const first = view.total === 0 ? 0 : view.offset + 1;
  const last = Math.min(view.offset + PAGE_SIZE, view.total);
  el.pageInfo.textContent = `${first}–${last} of ${view.total}`;
  el.prev.disabled = view.offset === 0;
  el.next.disabled = view.offset + PAGE_SIZE >= view.total;
  el.jobsTitle.textContent = `${stateLabel(view.state)} jobs`;
}

const refreshCounts = throttle(
  quietly(async () => {
    view.counts = await api.get('stats', { queue: view.queue });
    renderCounts();
  }),
  REFRESH_MS,
);

function renderRepeatPanel() {
  renderRepeats(el.repeats, el.repeatRows, view.repeats);
}

const refreshRepeats = throttle(
  quietly(async () => {
    view.repeats = (await api.get('repeats', { queue: view.queue })).repeats;
    renderRepeatPanel();
  }),
  REPEATS_REFRESH_MS,
);

const refreshList = throttle(
  quietly(async () => {
    const { jobs } = await api.get('jobs', {
      state: view.state,
      name: view.type,
      queue: view.queue,
      offset: view.offset,
      limit: PAGE_SIZE,
    });
    // The page emptied (jobs moved on): step back to one that has jobs.
    if (jobs.length === 0 && view.offset > 0) {
      view.offset = Math.max(0, view.offset - PAGE_SIZE);
      renderCounts();
      refreshList();
      return;
    }
    renderJobs(el.jobs, jobs, {
      selectedId: view.selected?.id,
      onSelect: select,
    });
    el.jobsEmpty.hidden = jobs.length > 0;
    el.jobsEmpty.textContent = `No ${view.state} jobs${view.type ? ` of type ${view.type}` : ''}.`;
  }),
  REFRESH_MS,
);

const refreshDetail = throttle(
  quietly(async () => {
    const sel = view.selected;
    if (sel === undefined) return;
    let job;
    try {
      job = await api.get(`jobs/${encodeURIComponent(sel.id)}`, {
        queue: sel.queue,
        stacks: 'true',
        upcast: sel.upcast ? 'true' : undefined,
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      if (view.selected === sel) {
        renderPlaceholder(
          el.detail,
          `Job ${sel.id} no longer exists`,
          'It was removed, or its retention period ended.',
        );
      }
      return;
    }
    // Another job may have been picked while this one loaded.
    if (view.selected !== sel) return;
    renderDetail(el.detail, job, {
      onAction: act,
      onClose: () => select(),
      upcast: {
        current: currentVersion(job),
        on: sel.upcast,
        onToggle: (on) => showUpcast(job.id, on),
      },
    });
  }),
  REFRESH_MS,
);

const refreshQueues = throttle(
  quietly(async () => {
    view.queues = (await api.get('queues')).queues;
    renderCounts();
  }),
  REFRESH_MS,
);

function refreshAll() {
  refreshCounts();
  refreshRepeats();
  refreshList();
  refreshDetail();
}

function showNothingSelected() {
  renderPlaceholder(
    el.detail,
    'No job selected',
    'Pick a job in the list to see its data, progress, logs and errors.',
  );
}

/**
 * The current contract version of `job`'s type, from `GET /queues`;
 * undefined for a type the server does not know.
 */
function currentVersion(job) {
  const versions = view.queues.find((q) => q.name === job.queue)?.versions;
  // Own keys only: a type may be named `constructor` or `__proto__`.
  return versions !== undefined && Object.hasOwn(versions, job.name)
    ? versions[job.name]
    : undefined;
}

/** Turns the selected job's "Show as vN" toggle on or off, and re-reads it. */
function showUpcast(id, on) {
  if (view.selected?.id !== id) return;
  view.selected = { ...view.selected, upcast: on };
  refreshDetail();
}

/** Shows `job` in the detail panel; without one, clears it. */
function select(job) {
  view.selected =
    job === undefined
      ? undefined
      : { id: job.id, queue: job.queue, upcast: false };
  for (const row of el.jobs.rows) {
    row.classList.toggle('selected', row.dataset.id === job?.id);
  }
  if (job === undefined) showNothingSelected();
  else refreshDetail();
}

async function act(action, job) {
  const path = `jobs/${encodeURIComponent(job.id)}`;
  try {
    let reply;
    if (action === 'remove') await api.delete(path, { queue: job.queue });
    else reply = await api.post(`${path}/${action}`, { queue: job.queue });
    if (reply?.outcome === 'requested')
      toast(
        `Cancel of job ${job.id} requested: its handler is aborted at the next lease renewal`,
      );
    else toast(`${PAST[action]} job ${job.id}`);
    if (action === 'remove' && view.selected?.id === job.id) {
      view.selected = undefined;
      renderPlaceholder(
        el.detail,
        `Removed job ${job.id}`,
        'It is gone from Redis.',
      );
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    toast(err.message, 'error');
  }
  refreshAll();
}

function pickType(name) {
  view.type = name;
  view.offset = 0;
  el.typePick.value = name;
  renderCounts();
  refreshList();
}

function fillSelect(select, first, values) {
  replace(
    select,
    h('option', { value: '' }, first),
    values.map((v) => h('option', { value: v }, v)),
  );
}

function fillTypePick() {
  fillSelect(
    el.typePick,
    'All types',
    shownTypes().map((t) => t.name),
  );
  el.typePick.value = view.type;
}

/** Events that change a job's state; `progress` only moves its bar. */
function onEvent(name, data) {
  if (name === 'paused' || name === 'resumed') refreshQueues();
  const mine = view.selected !== undefined && data.jobId === view.selected.id;
  if (
    mine &&
    !(name === 'progress' && updateProgress(el.detail, data.progress))
  ) {
    refreshDetail();
  }
  if (name !== 'progress') refreshCounts();
  // Only a repeat occurrence's events (ids `rpt.<key>.<slot>`) move a
  // schedule: other jobs' traffic need not re-read them.
  if (
    name !== 'progress' &&
    typeof data.jobId === 'string' &&
    data.jobId.startsWith('rpt.')
  ) {
    refreshRepeats();
  }
  if (name !== 'progress' || view.state === 'active') refreshList();
}

function setLive(status, text) {
  el.live.dataset.status = status;
  el.live.textContent = text;
}

function stopStreams() {
  for (const s of streams) s.stop();
  streams = [];
  clearInterval(poller);
  poller = undefined;
}

function startStreams() {
  stopStreams();
  const queues = view.queue ? [view.queue] : view.queues.map((q) => q.name);
  if (queues.length > MAX_STREAMS) {
    poller = setInterval(refreshAll, POLL_MS);
    setLive(
      'polling',
      `Polling every ${POLL_MS / 1000} s (pick a queue for live updates)`,
    );
    return;
  }
  const status = new Map(queues.map((q) => [q, 'connecting']));
  const summarize = () => {
    const all = [...status.values()];
    if (all.every((s) => s === 'live')) setLive('live', 'Live');
    else if (all.includes('reconnecting'))
      setLive('reconnecting', 'Reconnecting…');
    else setLive('connecting', 'Connecting…');
  };
  summarize();
  streams = queues.map((queue) =>
    followEvents({
      request: () => ({
        url: api.url('events', { queue, from: '$' }),
        headers: api.headers(),
      }),
      onEvent,
      onStatus: (s) => {
        if (s === 'stopped') return;
        status.set(queue, s);
        summarize();
        // The stream is open first and the snapshot read after it, so no
        // change falls between the two (also after a reconnect).
        if (s === 'live') refreshAll();
      },
      onUnauthorized: () => signOut('The server refused this token.'),
    }),
  );
}

function signOut(message) {
  stopStreams();
  api.clearToken();
  view.selected = undefined;
  el.app.hidden = true;
  el.signOut.hidden = true;
  setLive('idle', 'Not signed in');
  login.show(message);
}

/** Reads the registry; throws ApiError 401 when a token is needed. */
async function start() {
  const { queues } = await api.get('queues');
  login.hide();
  view.queues = queues;
  if (!view.queues.some((q) => q.name === view.queue)) view.queue = '';
  const pick = el.queuePick.closest('label');
  pick.hidden = queues.length < 2;
  fillSelect(
    el.queuePick,
    'All queues',
    queues.map((q) => q.name),
  );
  el.queuePick.value = view.queue;
  fillTypePick();
  el.app.hidden = false;
  el.signOut.hidden = !api.hasToken();
  if (view.selected === undefined) showNothingSelected();
  renderCounts();
  startStreams();
  refreshAll();
}

el.signOut.addEventListener('click', () => signOut(undefined));
// "in 3 min" goes stale between events, and removing an ended schedule
// writes no event (it has no occurrence): read the schedules again.
setInterval(refreshRepeats, REPEATS_REDRAW_MS);
el.prev.addEventListener('click', () => {
  view.offset = Math.max(0, view.offset - PAGE_SIZE);
  renderCounts();
  refreshList();
});
el.next.addEventListener('click', () => {
  view.offset += PAGE_SIZE;
  renderCounts();
  refreshList();
});
el.typePick.addEventListener('change', () => pickType(el.typePick.value));
el.queuePick.addEventListener('change', () => {
  view.queue = el.queuePick.value;
  if (!shownTypes().some((t) => t.name === view.type)) view.type = '';
  view.offset = 0;
  fillTypePick();
  renderCounts();
  startStreams();
  refreshAll();
});

function boot() {
  start().catch((err) => {
    // 401: the token form is already showing (see createClient above).
    if (err instanceof ApiError && err.status === 401) return;
    setLive('idle', 'Offline');
    toast(`Could not load the dashboard (${err.message}); retrying`, 'error');
    setTimeout(boot, 3000);
  });
}
boot();
