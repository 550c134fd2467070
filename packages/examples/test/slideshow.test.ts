import { describe, expect, it } from 'vitest';
import { createJobsQueue } from '../src/generated/producer.ts';
import { uniqueQueue, useRedis } from '@jobwire/test-kit/vitest';
import { fastWorkerSettings } from '@jobwire/test-kit';
import {
  renderWithProgress,
  startRenderWorker,
} from '../src/slideshow/render.ts';

const redis = useRedis();

describe('slideshow example: progress from the event log', () => {
  it('reports increasing progress up to 100 and resolves with the typed result', async () => {
    const prefix = uniqueQueue('slides');
    const queue = createJobsQueue({ connection: redis.url, prefix });
    const worker = startRenderWorker({
      connection: redis.url,
      prefix,
      ...fastWorkerSettings,
    });
    try {
      const seen: number[] = [];
      const slides = ['s1', 's2', 's3', 's4'];
      const result = await renderWithProgress(queue, slides, (percent) =>
        seen.push(percent),
      );

      // Typed from the result schema: { pages: number; bytes: number }.
      const { pages, bytes }: { pages: number; bytes: number } = result;
      expect(pages).toBe(4);
      expect(bytes).toBe(4 * 48_213);

      expect(seen).toEqual([0, 25, 50, 75, 100]);
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      }

      const [job] = await queue.getJobs('completed', { queue: 'media' });
      expect(job).toBeDefined();
      // Typed: the name is checked, progress and result parsed.
      const info = await queue.getJob(job!.id, { name: 'renderSlideshow' });
      const slide: number | undefined = info?.progress?.slide;
      expect(slide).toBe(4);
      expect(info).toMatchObject({
        name: 'renderSlideshow',
        state: 'completed',
        progress: { percent: 100, slide: 4 },
        result: { pages: 4, bytes: 4 * 48_213 },
      });
      expect(info?.logs).toEqual(slides.map((s) => `rendered slide ${s}`));
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
