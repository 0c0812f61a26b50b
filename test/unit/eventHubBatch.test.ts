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
  it('marks the batch final only on the retry policy last attempt, so a fault of ours is retried first', () => {
    expect(
      batchFromTrigger([Buffer.from('{}')], context({ retryCount: 0, maxRetryCount: 8 }), NOW).finalAttempt,
    ).toBe(false);
    expect(
      batchFromTrigger([Buffer.from('{}')], context({ retryCount: 7, maxRetryCount: 8 }), NOW).finalAttempt,
    ).toBe(false);
    expect(
      batchFromTrigger([Buffer.from('{}')], context({ retryCount: 8, maxRetryCount: 8 }), NOW).finalAttempt,
    ).toBe(true);
  });

  it('treats a run without a retry context as final (nobody runs it again), and an unbounded policy as never final', () => {
    expect(batchFromTrigger([Buffer.from('{}')], context(), NOW).finalAttempt).toBe(true);
    expect(
      batchFromTrigger([Buffer.from('{}')], context({ retryCount: 50, maxRetryCount: -1 }), NOW).finalAttempt,
    ).toBe(false);
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
