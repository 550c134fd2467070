/**
 * Test mode example: a small application service that enqueues a job. Its
 * unit test (test/testmode.test.ts) runs it against `createTestJobsQueue()`:
 * no Redis, the same validation as the real queue.
 */
import {
  enqueueSendEmail,
  type JobsProducer,
  type SendEmailPayload,
} from '../generated/producer.ts';

/**
 * What the service needs from a queue: the real one (`createJobsQueue`) in
 * production, the in-memory one (`createTestJobsQueue`) in unit tests.
 */
export type SignupQueue = JobsProducer;

/** A user who just signed up. */
export interface NewUser {
  /** The application's user id: letters, digits, "_", "-" or ".". */
  id: string;
  email: string;
  name: string;
}

/** Registers a user and enqueues the welcome email; returns its job id. */
export async function signUp(
  queue: SignupQueue,
  user: NewUser,
): Promise<{ welcomeJobId: string }> {
  const name = user.name.trim();
  const email: SendEmailPayload = {
    to: user.email,
    subject: `Welcome, ${name}!`,
    body: `Hi ${name}, thanks for signing up.`,
  };
  const job = await enqueueSendEmail(queue, email, {
    // A retried signup of the same user does not send a second email.
    jobId: `welcome-${user.id}`,
  });
  return { welcomeJobId: job.id };
}
