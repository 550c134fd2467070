import { describe, expect, it } from 'vitest';
import { ValidationError } from '@jobwire/core';
import { createTestJobsQueue } from '../src/generated/testing.ts';
import { sendEmail } from '../src/email/worker.ts';
import { signUp } from '../src/testmode/signup-service.ts';

const ada = { id: 'u42', email: 'ada@example.com', name: ' Ada ' };

describe('test mode: the signup service without Redis', () => {
  it('captures the welcome email with its typed data', async () => {
    const queue = createTestJobsQueue();
    const { welcomeJobId } = await signUp(queue, ada);

    expect(welcomeJobId).toBe('welcome-u42');
    expect(queue.jobs).toHaveLength(1);
    const [email] = queue.jobsOf('sendEmail');
    expect(email).toMatchObject({
      id: 'welcome-u42',
      name: 'sendEmail',
      queue: 'email',
      state: 'waiting',
    });
    // Typed as the payload's input: `tags` is optional (the default is
    // applied on the worker side), so the stored data does not carry it.
    const data = email!.data;
    expect(data).toEqual({
      to: 'ada@example.com',
      subject: 'Welcome, Ada!',
      body: 'Hi Ada, thanks for signing up.',
    });
    expect(data.tags).toBeUndefined();
    expect(queue.jobsOf('renderSlideshow')).toEqual([]);
  });

  it('does not capture a second email when the same user signs up again', async () => {
    const queue = createTestJobsQueue();
    const first = await signUp(queue, ada);
    const second = await signUp(queue, ada);
    expect(second.welcomeJobId).toBe(first.welcomeJobId);
    expect(queue.jobsOf('sendEmail')).toHaveLength(1);
  });

  it('refuses a bad address as the real queue would, capturing nothing', async () => {
    const queue = createTestJobsQueue();
    const err: unknown = await signUp(queue, { ...ada, email: 'nope' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toContain('to');
    expect(queue.jobs).toEqual([]);
  });

  it('runs the real email handler inline and records its typed result', async () => {
    const queue = createTestJobsQueue({
      handlers: { sendEmail },
      runInline: true,
    });
    const { welcomeJobId } = await signUp(queue, ada);

    const [email] = queue.jobsOf('sendEmail');
    expect(email?.state).toBe('completed');
    expect(email?.attemptsMade).toBe(1);
    // Typed from the result schema: { messageId: string } | undefined.
    const messageId: string | undefined = email?.result?.messageId;
    expect(messageId).toBe(`msg-${welcomeJobId}`);
    // The handler saw the worker-side data: the `tags` default applied.
    expect(email?.logs).toEqual(['to=ada@example.com tags=']);
  });

  it('runs captured jobs on demand with runAll()', async () => {
    const queue = createTestJobsQueue({ handlers: { sendEmail } });
    await signUp(queue, ada);
    await signUp(queue, {
      id: 'u43',
      email: 'grace@example.com',
      name: 'Grace',
    });
    expect(queue.jobs.map((j) => j.state)).toEqual(['waiting', 'waiting']);

    await queue.runAll();
    expect(queue.jobsOf('sendEmail').map((j) => j.result)).toEqual([
      { messageId: 'msg-welcome-u42' },
      { messageId: 'msg-welcome-u43' },
    ]);
    queue.clear();
    expect(queue.jobs).toEqual([]);
  });
});
