/**
 * Slideshow to PDF (the Kue README's example): the worker reports progress
 * 0→100 per slide, and a producer watches it live from the event log.
 *
 *   REDIS_URL=... [JOBWIRE_PREFIX=myapp] tsx packages/examples/src/slideshow/render.ts
 */
import { pathToFileURL } from 'node:url';
import {
  createQueueEvents,
  type QueueEvent,
  type WorkerOptions,
} from '@jobwire/core';
import {
  createJobsWorkerFor,
  type RenderSlideshowHandler,
} from '../generated/consumer.ts';
import {
  createJobsQueue,
  enqueueRenderSlideshow,
  type JobsQueue,
  type RenderSlideshowResult,
} from '../generated/producer.ts';

/** Renders slides one by one; the sleep stands in for real rendering. */
export const renderSlideshow: RenderSlideshowHandler = async (job) => {
  const { slides } = job.data;
  await job.progress({ percent: 0, slide: 0 });
  for (let i = 0; i < slides.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
    job.signal.throwIfAborted();
    await job.log(`rendered slide ${slides[i]}`);
    await job.progress({
      percent: Math.round(((i + 1) / slides.length) * 100),
      slide: i + 1,
    });
  }
  return { pages: slides.length, bytes: slides.length * 48_213 };
};

/** Starts a worker for the render jobs. */
export function startRenderWorker(options: WorkerOptions) {
  return createJobsWorkerFor(['renderSlideshow'], { renderSlideshow }, options);
}

/**
 * Enqueues a render and reports each progress value as it is published,
 * then resolves with the typed result. `prefix` must match the queue's.
 */
export async function renderWithProgress(
  queue: JobsQueue,
  connection: string,
  slides: string[],
  onProgress: (percent: number) => void,
  prefix?: string,
): Promise<RenderSlideshowResult> {
  const job = await enqueueRenderSlideshow(queue, { title: 'Slides', slides });
  // Read the retained log from its start, filtered to this job: following
  // only new events ('$') could miss the first ones, published before the
  // follower has found the end of the log.
  const events = createQueueEvents({
    connection,
    prefix,
    queue: 'media',
    from: '0',
  });
  try {
    // The completed event follows the last progress event in the log: once
    // it is seen, every progress value of the job has been reported.
    const logged = new Promise<void>((resolve) => {
      events.on('completed', (e: QueueEvent) => {
        if (e.jobId === job.id) resolve();
      });
    });
    events.on('progress', (e: QueueEvent) => {
      if (e.jobId === job.id) {
        onProgress((e.progress as { percent: number }).percent);
      }
    });
    const result = await job.finished({ timeoutMs: 60_000 });
    await logged;
    return result;
  } finally {
    await events.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const connection = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = process.env.JOBWIRE_PREFIX || undefined;
  const queue = createJobsQueue({ connection, prefix });
  const worker = startRenderWorker({ connection, prefix });
  const result = await renderWithProgress(
    queue,
    connection,
    ['a', 'b', 'c', 'd'],
    (p) => console.log(`progress ${p}%`),
    prefix,
  );
  console.log(`rendered ${result.pages} pages`);
  await worker.close();
  await queue.close();
}
