/**
 * One job type at two contract versions, for the upcast tests of the API
 * and the dashboard: version 1 sent to one address, version 2 sends to a
 * list, with a subject. The version 2 upcaster throws for addresses that
 * start with `throw`, so a test can store a job that cannot be upcast.
 */
import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

const v1 = z.object({ to: z.email() });
const v2 = z.object({
  to: z.array(z.email()).min(1),
  subject: z.string().default('(none)'),
});

/** The message of the upcaster's error for a `throw…` address. */
export const UPCASTER_MESSAGE = 'no address book entry';

/** `send` at version 1 (`one`) and version 2 with its upcaster (`two`). */
export function versionedRegistries(queue: string) {
  return {
    one: defineJobs({ send: job({ queue, payload: v1 }) }),
    two: defineJobs({
      send: job({
        queue,
        version: 2,
        payload: v2,
        upcast: {
          1: {
            from: v1,
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
