import type { TriggerMetadata } from '@azure/functions';
import type { ReplayBatch } from '../../lib/cli/batches';

/** Trigger metadata as the Functions host passes it to a `cardinality: 'many'` Event Hub function. */
export function hostMetadata(batch: ReplayBatch, source: string, enqueuedTime: string): TriggerMetadata {
  return {
    partitionContext: {
      consumerGroup: '$Default',
      eventHubName: source,
      fullyQualifiedNamespace: 'replay.localhost',
      partitionId: batch.partitionId,
    },
    sequenceNumberArray: batch.messages.map((m) => m.sequenceNumber),
    enqueuedTimeUtcArray: batch.messages.map(() => enqueuedTime),
    offsetArray: batch.messages.map((m) => String(m.sequenceNumber)),
    partitionKeyArray: batch.messages.map(() => null),
    propertiesArray: batch.messages.map(() => ({})),
    systemPropertiesArray: batch.messages.map((m) => ({
      SequenceNumber: m.sequenceNumber,
      EnqueuedTimeUtc: enqueuedTime,
    })),
  };
}
