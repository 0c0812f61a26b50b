import type { ContainerClient } from '@azure/storage-blob';
import type { ArchiveMetadata, ArchiveSink } from '../ports';
import { createOnce } from './blobs';

/** The archive container: gzip NDJSON of the original events, one blob per data type, hour and batch. */
export class BlobArchive implements ArchiveSink {
  constructor(readonly container: ContainerClient) {}

  create(name: string, content: Buffer, { origin, events }: ArchiveMetadata): Promise<'created' | 'exists'> {
    return createOnce(this.container, name, content, {
      contentType: 'application/x-ndjson',
      contentEncoding: 'gzip',
      metadata: {
        source: origin.source,
        partition: origin.partitionId,
        firstsequencenumber: String(origin.firstSequenceNumber),
        lastsequencenumber: String(origin.lastSequenceNumber),
        events: String(events),
      },
    });
  }
}
