import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import type { ParkedItem, ParkedRef, ParkingStore } from '../ports';
import { batchLabel } from './archiveBlobName';
import { createOnce, datePath, digest, gunzip, gzip } from './blobs';

const META_ATTEMPTS = 'attempts';
/** Where `defender-export doctor` writes its probe blob in each container (lib/doctor/storageChecks.ts). */
export const DOCTOR_PROBE_PREFIX = 'doctor-probe/';
const META_NEXT = 'nextattemptat';
const META_FIRST_PARKED = 'firstparkedat';

/** The schedule a parked blob carries in its metadata, so listing never downloads it. */
function scheduleMetadata(item: ParkedItem, nextAttemptAt: Date): Record<string, string> {
  return {
    [META_ATTEMPTS]: String(item.attempts),
    [META_NEXT]: nextAttemptAt.toISOString(),
    [META_FIRST_PARKED]: item.firstParkedAt,
  };
}

const validDate = (date: Date) => (Number.isNaN(date.getTime()) ? undefined : date);

/**
 * When a parked blob was first parked: its metadata, or for a blob parked before the metadata was written,
 * the start of the UTC day its name is filed under (park() names it by firstParkedAt), at most a day early.
 */
function firstParkedAt(name: string, metadata: Record<string, string> | undefined): Date | undefined {
  const written = metadata?.[META_FIRST_PARKED];
  if (written) {
    const date = validDate(new Date(written));
    if (date) return date;
  }
  const day = /(?:^|\/)y=(\d{4})\/m=(\d{2})\/d=(\d{2})\//.exec(name);
  return day ? validDate(new Date(`${day[1]}-${day[2]}-${day[3]}T00:00:00.000Z`)) : undefined;
}

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
      metadata: scheduleMetadata(item, nextAttemptAt),
    });
    return name;
  }

  /** Every parked blob with its schedule and first parking time, read from metadata without downloading it. */
  async *list(): AsyncGenerator<ParkedRef> {
    // No container yet (nothing was ever parked on a new deployment): nothing is waiting.
    if (!(await this.container.exists())) return;
    for await (const blob of this.container.listBlobsFlat({ includeMetadata: true })) {
      if (blob.name.startsWith(DOCTOR_PROBE_PREFIX)) continue; // written and deleted at once by doctor
      const parkedAt = firstParkedAt(blob.name, blob.metadata);
      yield {
        name: blob.name,
        etag: blob.properties.etag ?? '',
        attempts: Number(blob.metadata?.[META_ATTEMPTS] ?? 0),
        nextAttemptAt: validDate(new Date(blob.metadata?.[META_NEXT] ?? 0)) ?? new Date(0),
        ...(parkedAt ? { firstParkedAt: parkedAt } : {}),
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
      metadata: scheduleMetadata(item, nextAttemptAt),
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
