import type { RetryOptions } from '@azure/functions';

/**
 * The pipeline throws when it could not even park or dead-letter (storage down), and on the first attempt
 * at a batch in which our own code failed on an event (from the first retry on, that event is
 * dead-lettered instead). The trigger checkpoints regardless, so the only second chance is this in-process
 * retry of the same batch. A retried batch writes the same blob names and row EventKeys: the archive and
 * the dead letters get nothing twice, and rows a failed attempt had already sent can be removed by EventKey.
 */
export const BATCH_RETRY: RetryOptions = {
  strategy: 'exponentialBackoff',
  maxRetryCount: 8,
  minimumInterval: { seconds: 5 },
  maximumInterval: { minutes: 5 },
};
