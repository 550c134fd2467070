/**
 * One job type, `send`, at two contract versions, for the tests of reading
 * and migrating old jobs (core, HTTP API, dashboard): version 1 sends to one
 * address, version 2 to a list, with a subject. The upcaster throws for an
 * address that starts with `throw`, so a test can store a job that cannot
 * be upcast.
 */
import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

/** `send`'s version 1 payload. */
export const sendV1 = z.object({ to: z.email() });
/** `send`'s version 2 payload. */
export const sendV2 = z.object({
  to: z.array(z.email()).min(1),
  subject: z.string().default('(none)'),
});

/** The message of the upcaster's error for a `throw…` address. */
export const UPCASTER_MESSAGE = 'no address book entry';

/**
 * `send` at version 1 (`one`) and at version 2 with its upcaster (`two`).
 * With `looseV1`, version 1 accepts any string as `to`, so its producer can
 * store a payload that version 1's own `from` schema rejects.
 */
export function versionedRegistries(queue: string, { looseV1 = false } = {}) {
  return {
    one: defineJobs({
      send: job({
        queue,
        payload: looseV1 ? z.object({ to: z.string() }) : sendV1,
      }),
    }),
    two: defineJobs({
      send: job({
        queue,
        version: 2,
        payload: sendV2,
        upcast: {
          1: {
            from: sendV1,
            to: (old) => {
              if (old.to.startsWith('throw')) throw new Error(UPCASTER_MESSAGE);
              return { to: [old.to] };
            },
          },
        },
      }),
    }),
  };
}
