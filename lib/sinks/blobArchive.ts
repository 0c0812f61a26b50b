import type { ContainerClient } from '@azure/storage-blob';
import type { BatchOrigin } from './archiveBlobName';
import { createOnce, gzip } from './blobs';
import { describeFailure, type DeliveryFailure } from './deliveryFailure';

export type ArchiveOutcome = { ok: true; created: boolean } | { ok: false; failure: DeliveryFailure };

/** The archive: gzip NDJSON of the original events, one blob per data type, hour and batch. */
export class BlobArchiveSink {
  constructor(readonly container: ContainerClient) {}

  /** Writes `lines` (one original event each) as `name`, once; an existing blob counts as written. */
  async write(name: string, lines: readonly string[], origin: BatchOrigin): Promise<ArchiveOutcome> {
    try {
      const content = await gzip(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
      const result = await createOnce(this.container, name, content, {
        contentType: 'application/x-ndjson',
        contentEncoding: 'gzip',
        metadata: {
          source: origin.source,
          partition: origin.partitionId,
          firstsequencenumber: String(origin.firstSequenceNumber),
          lastsequencenumber: String(origin.lastSequenceNumber),
          events: String(lines.length),
        },
      });
      return { ok: true, created: result === 'created' };
    } catch (error) {
      return { ok: false, failure: describeFailure(error) };
    }
  }
}
