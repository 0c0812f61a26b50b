import type { Batch } from '../../lib/pipeline';
import { sampleNames, sampleText } from './samples';

/** The Event Hub samples (REST examples and the invalid docs alert excluded), one body each. */
export function eventHubSampleBodies(): string[] {
  return sampleNames()
    .filter((name) => /eventhub|mde-streaming/.test(name))
    .map((name) => sampleText(name));
}

/** A batch as partition 0 of hub `defender-cloud` would deliver it. */
export function batchOf(
  bodies: unknown[],
  options: { firstSequenceNumber?: number; enqueuedTimeUtc?: string; partitionId?: string } = {},
): Batch {
  const first = options.firstSequenceNumber ?? 100;
  return {
    source: 'defender-cloud',
    partitionId: options.partitionId ?? '0',
    messages: bodies.map((body, i) => ({
      body,
      sequenceNumber: first + i,
      enqueuedTimeUtc: options.enqueuedTimeUtc ?? '2026-11-24T10:15:00.000Z',
      offset: String(4096 * (first + i)),
    })),
  };
}
