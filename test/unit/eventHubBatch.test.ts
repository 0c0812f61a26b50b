import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { batchFromTrigger } from '../../functions/handlers/eventHubBatch';

const NOW = new Date('2026-11-24T10:00:00.000Z');
const context = (retryContext?: { retryCount: number; maxRetryCount: number }) =>
  new InvocationContext({
    functionName: 'ingestDefenderForCloud',
    triggerMetadata: {
      partitionContext: { eventHubName: 'defender-cloud', partitionId: '2' },
      sequenceNumberArray: [7],
      enqueuedTimeUtcArray: ['2026-11-24T09:59:00.000Z'],
    },
    ...(retryContext ? { retryContext } : {}),
  });

describe('batchFromTrigger', () => {
  it('fails the batch on a fault of ours on the first attempt only: every retry would re-send what it had sent', () => {
    const deadLetters = (retry?: { retryCount: number; maxRetryCount: number }) =>
      batchFromTrigger([Buffer.from('{}')], context(retry), NOW).deadLetterFaults;
    expect(deadLetters({ retryCount: 0, maxRetryCount: 8 })).toBe(false);
    expect(deadLetters({ retryCount: 1, maxRetryCount: 8 })).toBe(true);
    expect(deadLetters({ retryCount: 8, maxRetryCount: 8 })).toBe(true);
    expect(deadLetters({ retryCount: 0, maxRetryCount: -1 })).toBe(false);
  });

  it('dead-letters faults at once when nobody will run the batch again: no retry context, or no retries', () => {
    expect(batchFromTrigger([Buffer.from('{}')], context(), NOW).deadLetterFaults).toBe(true);
    expect(
      batchFromTrigger([Buffer.from('{}')], context({ retryCount: 0, maxRetryCount: 0 }), NOW)
        .deadLetterFaults,
    ).toBe(true);
  });

  it('takes partition, sequence numbers and enqueued times from the host-shaped metadata', () => {
    const batch = batchFromTrigger([Buffer.from('{}')], context(), NOW);
    expect(batch).toMatchObject({
      source: 'defender-cloud',
      partitionId: '2',
      messages: [{ sequenceNumber: 7, enqueuedTimeUtc: '2026-11-24T09:59:00.000Z' }],
    });
  });
});
