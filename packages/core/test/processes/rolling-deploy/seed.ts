/**
 * The values behind job number `n` of the rolling-deploy fixture. Every
 * version's producer derives its payload from them, so a test can say what
 * a handler of each version must see for any job, whoever wrote it.
 */

/** The image a job points at. */
export const sourceOf = (n: number): string => `s3://img/${n}.png`;

/** Version 1's size: 1..9000, so that version 2's narrower bound (4096) bites. */
export const sizeOf = (n: number): number => 1 + ((n * 7919) % 9000);

/** The size limit version 2 introduced. */
export const MAX_SIZE = 4096;
