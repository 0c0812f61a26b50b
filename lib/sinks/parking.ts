import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import type { LogsRow } from '../records/row';
import { batchLabel, type BatchOrigin } from './archiveBlobName';
import { createOnce, datePath, digest, gunzip, gzip } from './blobs';
import type { DeliveryFailure } from './deliveryFailure';

/** Exactly what failed to reach one destination, kept until redriveParked delivers it or gives up. */
export type ParkedItem = {
  version: 1;
  origin: BatchOrigin;
  /** Events these rows or lines belong to (a split event has several rows). */
  events: number;
  attempts: number;
  firstParkedAt: string;
  lastError: DeliveryFailure;
} & (
  | { destination: 'logs'; stream: string; rows: LogsRow[] }
  | { destination: 'archive'; blobName: string; lines: string[] }
);

export interface ParkedRef {
  name: string;
  etag: string;
  attempts: number;
  nextAttemptAt: Date;
}

const META_ATTEMPTS = 'attempts';
const META_NEXT = 'nextattemptat';

/** The parked container: one gzip JSON blob per failed destination of a batch, with its schedule in metadata. */
export class ParkingStore {
  constructor(readonly container: ContainerClient) {}

  /** Parks `item` to be tried again at `nextAttemptAt`; throws when it cannot. Returns the blob name. */
  async park(item: ParkedItem, nextAttemptAt: Date): Promise<string> {
    const json = JSON.stringify(item);
    const where = item.destination === 'logs' ? `logs/${item.stream}` : 'archive';
    const name = `${where}/${datePath(new Date(item.firstParkedAt), false)}/${batchLabel(item.origin)}-${digest(json)}.json.gz`;
    await createOnce(this.container, name, await gzip(Buffer.from(json, 'utf8')), {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      metadata: { [META_ATTEMPTS]: String(item.attempts), [META_NEXT]: nextAttemptAt.toISOString() },
    });
    return name;
  }

  /** Every parked blob with its schedule, read from metadata without downloading it. */
  async *list(): AsyncGenerator<ParkedRef> {
    for await (const blob of this.container.listBlobsFlat({ includeMetadata: true })) {
      const next = new Date(blob.metadata?.[META_NEXT] ?? 0);
      yield {
        name: blob.name,
        etag: blob.properties.etag ?? '',
        attempts: Number(blob.metadata?.[META_ATTEMPTS] ?? 0),
        nextAttemptAt: Number.isNaN(next.getTime()) ? new Date(0) : next,
      };
    }
  }

  async read(ref: ParkedRef): Promise<ParkedItem> {
    const content = await this.container.getBlobClient(ref.name).downloadToBuffer(undefined, undefined, {
      conditions: { ifMatch: ref.etag },
    });
    return JSON.parse((await gunzip(content)).toString('utf8')) as ParkedItem;
  }

  /** Rewrites a parked item after a failed attempt, unless another redrive changed it meanwhile. */
  async reschedule(ref: ParkedRef, item: ParkedItem, nextAttemptAt: Date): Promise<void> {
    const content = await gzip(Buffer.from(JSON.stringify(item), 'utf8'));
    await this.container.getBlockBlobClient(ref.name).upload(content, content.length, {
      conditions: { ifMatch: ref.etag },
      blobHTTPHeaders: { blobContentType: 'application/json', blobContentEncoding: 'gzip' },
      metadata: { [META_ATTEMPTS]: String(item.attempts), [META_NEXT]: nextAttemptAt.toISOString() },
    });
  }

  /** Removes a parked item once it is delivered or dead-lettered; already gone is fine. */
  async remove(ref: ParkedRef): Promise<void> {
    try {
      await this.container.deleteBlob(ref.name, { conditions: { ifMatch: ref.etag } });
    } catch (error) {
      if (!(error instanceof RestError && error.statusCode === 404)) throw error;
    }
  }
}
