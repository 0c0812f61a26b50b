import type { RetryOptions } from '@azure/functions';

/**
 * The pipeline throws only when it could not even park or dead-letter (storage down). The trigger
 * checkpoints regardless, so the only second chance is this in-process retry of the same batch; a retried
 * batch writes the same blob names and row EventKeys, so nothing is duplicated.
 */
export const BATCH_RETRY: RetryOptions = {
  strategy: 'exponentialBackoff',
  maxRetryCount: 8,
  minimumInterval: { seconds: 5 },
  maximumInterval: { minutes: 5 },
};
