import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import type { ParkedItem, ParkedRef, ParkingStore } from '../ports';
import { batchLabel } from './archiveBlobName';
import { createOnce, datePath, digest, gunzip, gzip } from './blobs';

const META_ATTEMPTS = 'attempts';
const META_NEXT = 'nextattemptat';

/**
 * A parked item as the blob holds it: JSON whose logs rows are objects. The rows are already JSON, so they
 * are spliced in as they are rather than parsed and written again.
 */
export function parkedItemJson(item: ParkedItem): string {
  if (item.destination !== 'logs') return JSON.stringify(item);
  const { rows, ...rest } = item;
  return `${JSON.stringify(rest).slice(0, -1)},"rows":[${rows.join(',')}]}`;
}

/** Reads a parked item back; each logs row becomes its JSON again (JSON.stringify of a parsed row is the row). */
export function parseParkedItem(json: string): ParkedItem {
  const item = JSON.parse(json) as ParkedItem;
  if (item.destination !== 'logs') return item;
  return { ...item, rows: (item.rows as unknown[]).map((row) => JSON.stringify(row)) };
}

/** The parked container: one gzip JSON blob per failed destination of a batch, with its schedule in metadata. */
export class BlobParkingStore implements ParkingStore {
  constructor(readonly container: ContainerClient) {}

  /** Parks `item` to be tried again at `nextAttemptAt`; throws when it cannot. Returns the blob name. */
  async park(item: ParkedItem, nextAttemptAt: Date): Promise<string> {
    const json = parkedItemJson(item);
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
    return parseParkedItem((await gunzip(content)).toString('utf8'));
  }

  /** Rewrites a parked item after a failed attempt, unless another redrive changed it meanwhile. */
  async reschedule(ref: ParkedRef, item: ParkedItem, nextAttemptAt: Date): Promise<void> {
    const content = await gzip(Buffer.from(parkedItemJson(item), 'utf8'));
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
