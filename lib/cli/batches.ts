import type { Body } from './input';

export interface ReplayMessage {
  /** The text, or the bytes of a line that is not valid UTF-8 (see Body). */
  body: string | Buffer;
  sequenceNumber: number;
  where: string;
}

export interface ReplayBatch {
  partitionId: string;
  messages: ReplayMessage[];
}

export interface BatchingOptions {
  /** Messages per batch, as host.json's maxEventBatchSize. */
  batchSize: number;
  /** Batches are dealt to this many partitions in turn, each with its own sequence numbers. */
  partitions: number;
}

/**
 * Deals input bodies into Event Hub–like batches: batch k goes to partition k mod `partitions`, and each
 * partition numbers its messages from 0. `normalize` and `replay` share it, so the ArchiveBlob that
 * normalize writes names the blob replay archives to (for the same source, enqueued time and batching).
 */
export async function* batches(
  bodies: AsyncIterable<Body>,
  options: BatchingOptions,
): AsyncGenerator<ReplayBatch> {
  const next = new Array<number>(options.partitions).fill(0);
  let count = 0;
  let current: ReplayBatch | undefined;
  for await (const body of bodies) {
    if (!current) {
      const partition = count++ % options.partitions;
      current = { partitionId: String(partition), messages: [] };
    }
    const partition = Number(current.partitionId);
    current.messages.push({
      body: body.bytes ?? body.text,
      sequenceNumber: next[partition]!++,
      where: body.where,
    });
    if (current.messages.length === options.batchSize) {
      yield current;
      current = undefined;
    }
  }
  if (current) yield current;
}
