/* global fetch, AbortController, TextDecoderStream, setTimeout, clearTimeout */
/**
 * Follows `GET /events` (server-sent events from the durable event log).
 *
 * EventSource cannot send an Authorization header, so the stream is read
 * with fetch and a stream reader and its `text/event-stream` frames are
 * parsed here. After a drop it reconnects with `Last-Event-ID` set to the
 * last offset seen, and the server resumes the log right after it: no
 * event is lost across a reconnect.
 */

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/**
 * Parses complete frames off the front of `buffer`. Returns the messages
 * (`{ id, event, data }`) and the unparsed rest (a frame still arriving).
 */
export function parseFrames(buffer) {
  const text = buffer.replace(/\r\n?/g, '\n');
  const frames = text.split('\n\n');
  const rest = frames.pop() ?? '';
  const messages = [];
  for (const frame of frames) {
    const message = { id: undefined, event: 'message', data: undefined };
    for (const line of frame.split('\n')) {
      if (line === '' || line.startsWith(':')) continue; // keepalive comment
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'data') {
        message.data =
          message.data === undefined ? value : `${message.data}\n${value}`;
      }
    }
    if (message.data !== undefined || message.id !== undefined) {
      messages.push(message);
    }
  }
  return { messages, rest };
}

/**
 * Reads one queue's event stream until `stop()`. `request()` returns the
 * URL and headers (read anew on every connection, so a new token is used);
 * `onEvent(name, data)` gets each parsed event; `onStatus` gets 'live',
 * 'reconnecting' or 'stopped'; `onUnauthorized` runs on a 401, which ends
 * the stream (retrying a refused token would only fill the server's log).
 */
export function followEvents({ request, onEvent, onStatus, onUnauthorized }) {
  const abort = new AbortController();
  let lastId = '';
  let delay = RETRY_MIN_MS;

  const sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });

  async function readOnce() {
    const { url, headers } = request();
    const res = await fetch(url, {
      headers: {
        ...headers,
        Accept: 'text/event-stream',
        ...(lastId === '' ? {} : { 'Last-Event-ID': lastId }),
      },
      credentials: 'omit',
      cache: 'no-store',
      signal: abort.signal,
    });
    if (res.status === 401) {
      onUnauthorized();
      return false;
    }
    if (!res.ok || res.body === null) {
      throw new Error(`event stream answered ${res.status}`);
    }
    onStatus('live');
    delay = RETRY_MIN_MS;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      const parsed = parseFrames(buffer + value);
      buffer = parsed.rest;
      for (const m of parsed.messages) {
        if (m.id !== undefined) lastId = m.id;
        if (m.data === undefined) continue;
        let data;
        try {
          data = JSON.parse(m.data);
        } catch {
          continue; // not ours: the server only sends JSON
        }
        onEvent(m.event, data);
      }
    }
  }

  (async () => {
    while (!abort.signal.aborted) {
      try {
        if (!(await readOnce())) break;
      } catch {
        // Network error or server restart: fall through to the retry.
      }
      if (abort.signal.aborted) break;
      onStatus('reconnecting');
      await sleep(delay + Math.random() * delay * 0.25);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
    onStatus('stopped');
  })();

  return {
    stop: () => abort.abort(),
  };
}
