import type { DataType } from '../records/row';
import { datePath, pathSegment } from './blobs';

/** The Event Hub batch a set of rows or blobs came from. */
export interface BatchOrigin {
  /** Which Event Hub (or input) the batch came from. */
  source: string;
  partitionId: string;
  firstSequenceNumber: number;
  lastSequenceNumber: number;
}

export interface ArchiveBatch extends BatchOrigin {
  /** When the batch's first message was enqueued: it chooses the hourly partition. */
  enqueuedTimeUtc: string;
}

/** `<source>-p<partition>-<first>-<last>`: the part of a blob name that identifies the batch. */
export function batchLabel(origin: BatchOrigin): string {
  return `${pathSegment(origin.source)}-p${pathSegment(origin.partitionId)}-${origin.firstSequenceNumber}-${origin.lastSequenceNumber}`;
}

/**
 * Where the originals of one data type from one batch are archived: hourly Hive-style partitions,
 * `<type>/y=YYYY/m=MM/d=DD/h=HH/<source>-p<partition>-<first>-<last>.ndjson.gz`. The name depends only on
 * the batch, so a redelivered batch names the same blob and the archive never holds it twice.
 */
export function archiveBlobName(dataType: DataType, batch: ArchiveBatch): string {
  const at = new Date(batch.enqueuedTimeUtc);
  const time = Number.isNaN(at.getTime()) ? new Date(0) : at;
  return `${pathSegment(dataType)}/${datePath(time, true)}/${batchLabel(batch)}.ndjson.gz`;
}
