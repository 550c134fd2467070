/**
 * Slideshow to PDF (the Kue README's example): the worker reports progress
 * 0→100 per slide, and a producer watches it live from the event log.
 *
 *   REDIS_URL=... [JOBWIRE_PREFIX=myapp] tsx packages/examples/src/slideshow/render.ts
 */
import { pathToFileURL } from 'node:url';
import type { WorkerOptions } from '@jobwire/core';
import {
  createJobsWorkerFor,
  type RenderSlideshowHandler,
} from '../generated/consumer.ts';
import {
  createJobsQueue,
  enqueueRenderSlideshow,
  watchRenderSlideshowProgress,
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
 * typed by the progress schema, then resolves with the typed result.
 */
export async function renderWithProgress(
  queue: JobsQueue,
  slides: string[],
  onProgress: (percent: number) => void,
): Promise<RenderSlideshowResult> {
  const job = await enqueueRenderSlideshow(queue, { title: 'Slides', slides });
  // Reads the job's events from the start of the retained log, so values
  // published before the watch began are reported too.
  return watchRenderSlideshowProgress(
    queue,
    job,
    (progress) => onProgress(progress.percent),
    { timeoutMs: 60_000 },
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const connection = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = process.env.JOBWIRE_PREFIX || undefined;
  const queue = createJobsQueue({ connection, prefix });
  const worker = startRenderWorker({ connection, prefix });
  const result = await renderWithProgress(queue, ['a', 'b', 'c', 'd'], (p) =>
    console.log(`progress ${p}%`),
  );
  console.log(`rendered ${result.pages} pages`);
  await worker.close();
  await queue.close();
}
