/* global document, Node, setTimeout */
/**
 * DOM helpers. Job data reaches the page only as text nodes: `h` turns
 * every child that is not already a node into `document.createTextNode`,
 * and no module of the dashboard assigns HTML (the page's Trusted Types
 * policy would make such an assignment throw anyway).
 */

// Attributes that load, navigate or run something: never set from here.
const UNSAFE_ATTRIBUTE = /^(on|href$|src$|srcdoc$|action$|formaction$|style$)/i;

/**
 * Creates an element. `props` holds attributes (strings), `class`,
 * `dataset`, boolean properties such as `disabled`, and `on` (event
 * listeners); children are nodes or values shown as text.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) {
        el.addEventListener(event, fn);
      }
    } else if (value === true) el.toggleAttribute(key, true);
    else if (UNSAFE_ATTRIBUTE.test(key)) {
      throw new Error(`h(): refusing to set attribute ${key}`);
    } else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Appends children, turning every non-node into a text node. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(
      child instanceof Node ? child : document.createTextNode(String(child)),
    );
  }
}

/** Replaces an element's children (text for non-nodes, as `h` does). */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** `document.getElementById` that fails loudly when the page changed. */
export function byId(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`dashboard: #${id} is missing`);
  return el;
}

/** A value as indented JSON text (strings stay as they are). */
export function jsonText(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? String(value);
}

/** One line of at most `max` characters. */
export function oneLine(text, max = 80) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const units = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** A duration as "3 min", "12 s", rounded down to its largest unit. */
export function duration(ms) {
  const abs = Math.abs(ms);
  for (const [unit, size] of units) {
    if (abs >= size) return `${Math.floor(abs / size)} ${unit}`;
  }
  return `${Math.round(abs)} ms`;
}

/** "12 s ago" or "in 3 min" for a timestamp (ms since the epoch). */
export function relative(ms, now = Date.now()) {
  if (!ms) return '–';
  const diff = ms - now;
  if (Math.abs(diff) < 1000) return 'now';
  return diff < 0 ? `${duration(diff)} ago` : `in ${duration(diff)}`;
}

/** A timestamp as local date and time, for titles and the detail view. */
export function absolute(ms) {
  if (!ms) return '–';
  return new Date(ms).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
  });
}

// Named levels of jobwire's priorities (lower runs first).
const PRIORITY_NAMES = new Map([
  [-15, 'critical'],
  [-10, 'high'],
  [-5, 'medium'],
  [0, 'normal'],
  [10, 'low'],
]);

/** A priority as its level name ("high") or its number. */
export function priorityText(priority) {
  return PRIORITY_NAMES.get(priority) ?? String(priority);
}

/**
 * A percentage from a progress value: a number (the default progress
 * schema) or an object with a numeric `percent`; undefined otherwise.
 */
export function percentOf(progress) {
  const value =
    typeof progress === 'number'
      ? progress
      : typeof progress === 'object' && progress !== null
        ? progress.percent
        : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return Math.min(100, Math.max(0, value));
}

/**
 * Wraps `fn` so it runs at most once per `ms`, never twice at once, and
 * always once more after the last call: bursts of events (a busy queue
 * emits thousands a second) cost one refresh per interval.
 */
export function throttle(fn, ms) {
  let running = false;
  let again = false;
  let last = 0;
  let timer;
  const run = async () => {
    timer = undefined;
    running = true;
    again = false;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
      if (again) schedule();
    }
  };
  const schedule = () => {
    if (running) {
      again = true;
      return;
    }
    if (timer !== undefined) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  return schedule;
}
