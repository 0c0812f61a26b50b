import type { InvocationContext } from '@azure/functions';
import type { Batch } from '../../lib/pipeline';

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function isoTime(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/**
 * Maps what the Event Hubs trigger hands a `cardinality: 'many'` function — the bodies plus camelCased
 * trigger metadata (`partitionContext`, `sequenceNumberArray`, `enqueuedTimeUtcArray`, `offsetArray`) —
 * to the pipeline's Batch. Missing metadata falls back to positions and the current time, never throws.
 * A fault of ours fails the first attempt (the host retries the batch); from the first retry on, or when the
 * host will not retry at all, it dead-letters the event concerned instead (see retry.ts).
 */
export function batchFromTrigger(
  messages: unknown[],
  context: Pick<InvocationContext, 'triggerMetadata' | 'functionName' | 'retryContext'>,
  now: Date,
): Batch {
  const metadata = context.triggerMetadata;
  const fallbackSource = context.functionName;
  const retry = context.retryContext;
  const partition = (metadata?.partitionContext ?? {}) as { partitionId?: unknown; eventHubName?: unknown };
  const sequenceNumbers = asArray(metadata?.sequenceNumberArray);
  const enqueuedTimes = asArray(metadata?.enqueuedTimeUtcArray);
  const offsets = asArray(metadata?.offsetArray);
  return {
    source:
      typeof partition.eventHubName === 'string' && partition.eventHubName
        ? partition.eventHubName
        : fallbackSource,
    partitionId: partition.partitionId === undefined ? 'unknown' : String(partition.partitionId),
    deadLetterFaults: !retry || retry.retryCount >= 1 || retry.maxRetryCount === 0,
    messages: messages.map((body, i) => {
      const sequence = Number(sequenceNumbers[i]);
      const offset = offsets[i];
      return {
        body,
        sequenceNumber: Number.isFinite(sequence) ? sequence : i,
        enqueuedTimeUtc: isoTime(enqueuedTimes[i]) ?? now.toISOString(),
        ...(offset !== undefined && offset !== null ? { offset: String(offset) } : {}),
      };
    }),
  };
}
