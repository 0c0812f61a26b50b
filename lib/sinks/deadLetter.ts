import type { ContainerClient } from '@azure/storage-blob';
import type { DeadLetterStore } from '../ports';
import { batchLabel, type BatchOrigin } from './archiveBlobName';
import { DOCTOR_PROBE_PREFIX } from './parking';
import { createOnce, datePath, digest, gzip, pathSegment } from './blobs';
import type { DeliveryFailure } from './deliveryFailure';

/** Where it was given up: bad input, the record limit, refused by Logs Ingestion, the redrive, or a fault of ours. */
export type DeadLetterStage = 'input' | 'fit' | 'logs' | 'redrive' | 'internal';

/** One thing that could not be delivered and will not be retried: what it was, where from, and why. */
export interface DeadLetterRecord {
  stage: DeadLetterStage;
  reason: string;
  /** The original message body (or the one event or envelope element concerned). */
  body: string;
  encoding: 'utf8' | 'base64';
  partitionId: string;
  sequenceNumber: number;
  enqueuedTimeUtc: string;
  offset?: string;
  /** Position inside the message, when one event or element of it is concerned. */
  index?: number;
  eventKey?: string;
  dataType?: string;
  failure?: DeliveryFailure;
}

const META_RECORDS = 'records';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body as dead-letter text: strings and objects as themselves, bytes as UTF-8 when they are, else base64. */
export function encodeBody(body: unknown): Pick<DeadLetterRecord, 'body' | 'encoding'> {
  if (typeof body === 'string') return { body, encoding: 'utf8' };
  if (body instanceof Uint8Array) {
    try {
      return { body: utf8.decode(body), encoding: 'utf8' };
    } catch {
      return {
        body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'),
        encoding: 'base64',
      };
    }
  }
  return { body: JSON.stringify(body) ?? String(body), encoding: 'utf8' };
}

/** The dead-letter container: one gzip NDJSON blob per batch that had anything to dead-letter. */
export class BlobDeadLetterStore implements DeadLetterStore {
  constructor(
    readonly container: ContainerClient,
    private readonly clock: () => Date,
  ) {}

  /**
   * Writes the records; throws when it cannot (the caller must not report them as accounted for). The name
   * carries a digest of the content, so the same dead letters from a redelivered batch are written once.
   */
  async write(origin: BatchOrigin, records: readonly DeadLetterRecord[]): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    const text = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const name = `${pathSegment(origin.source)}/${datePath(this.clock(), true)}/${batchLabel(origin)}-${digest(text)}.ndjson.gz`;
    await createOnce(this.container, name, await gzip(Buffer.from(text, 'utf8')), {
      contentType: 'application/x-ndjson',
      contentEncoding: 'gzip',
      metadata: { [META_RECORDS]: String(records.length) },
    });
    return name;
  }

  /**
   * The blobs created at or after `since` and the records they hold, from the listing alone (creation time
   * and metadata): nothing is downloaded. Lists the whole container, as names are filed by source first.
   */
  async recent(since: Date): Promise<{ blobs: number; records: number }> {
    const found = { blobs: 0, records: 0 };
    if (!(await this.container.exists())) return found;
    for await (const blob of this.container.listBlobsFlat({ includeMetadata: true })) {
      if (blob.name.startsWith(DOCTOR_PROBE_PREFIX)) continue;
      const createdOn = blob.properties.createdOn;
      if (!createdOn || createdOn < since) continue;
      found.blobs++;
      found.records += Number(blob.metadata?.[META_RECORDS] ?? 0) || 0;
    }
    return found;
  }
}
