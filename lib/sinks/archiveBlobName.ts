import type { DataType } from '../records/row';

export interface ArchiveBatch {
  /** Which Event Hub (or input) the batch came from. */
  source: string;
  partitionId: string;
  firstSequenceNumber: number;
  lastSequenceNumber: number;
  /** When the batch's first message was enqueued: it chooses the hourly partition. */
  enqueuedTimeUtc: string;
}

/** Names from configuration or metadata, made safe for a blob path: nothing but [a-z0-9._-]. */
function segment(value: string): string {
  return (
    value
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '_')
      .slice(0, 64) || '_'
  );
}

/**
 * Where the originals of one data type from one batch are archived: hourly Hive-style partitions,
 * `<type>/y=YYYY/m=MM/d=DD/h=HH/<source>-p<partition>-<first>-<last>.ndjson.gz`. The name depends only on
 * the batch, so a redelivered batch names the same blob and the archive never holds it twice.
 */
export function archiveBlobName(dataType: DataType, batch: ArchiveBatch): string {
  const at = new Date(batch.enqueuedTimeUtc);
  const time = Number.isNaN(at.getTime()) ? new Date(0) : at;
  const two = (n: number) => String(n).padStart(2, '0');
  return [
    segment(dataType),
    `y=${time.getUTCFullYear()}`,
    `m=${two(time.getUTCMonth() + 1)}`,
    `d=${two(time.getUTCDate())}`,
    `h=${two(time.getUTCHours())}`,
    `${segment(batch.source)}-p${segment(batch.partitionId)}-${batch.firstSequenceNumber}-${batch.lastSequenceNumber}.ndjson.gz`,
  ].join('/');
}
