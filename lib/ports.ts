import type { DataType } from './records/row';
import type { BatchOrigin } from './sinks/archiveBlobName';
import type { DeadLetterRecord } from './sinks/deadLetter';
import type { DeliveryFailure } from './sinks/deliveryFailure';

/**
 * Everything the pipeline, the redrive and the reconciler write to, as interfaces. The Azure adapters
 * (lib/sinks, lib/state) implement them over the real SDK clients; lib/memory.ts implements them in memory,
 * with fault switches, for tests that are about our logic rather than about Azure.
 *
 * Failures are thrown as the SDKs throw them (a RestError with a status, code and request id, or a network
 * error); lib/sinks/deliveryFailure.ts reads them.
 */

/** One Data Collection Rule endpoint. */
export interface LogsSink {
  /**
   * Posts one request: `body` is a JSON array of rows, at most 1 MB. Resolves when the service accepted it
   * (204); throws otherwise, after the adapter's own retries of 429 and 5xx.
   */
  upload(stream: string, body: Buffer): Promise<void>;
}

/** What an archive blob says about itself (blob metadata). */
export interface ArchiveMetadata {
  origin: BatchOrigin;
  events: number;
}

/** The archive container: gzip NDJSON blobs of original events, each written once. */
export interface ArchiveSink {
  /**
   * Creates blob `name` with `content` (gzip NDJSON) only if it does not exist. `exists` means a redelivered
   * batch already wrote it: the content is there. Throws when it cannot write.
   */
  create(name: string, content: Buffer, metadata: ArchiveMetadata): Promise<'created' | 'exists'>;
}

/** Exactly what failed to reach one destination, kept until the redrive delivers it or gives up. */
export type ParkedItem = {
  version: 1;
  origin: BatchOrigin;
  /** Events these rows or lines belong to (a split event has several rows). */
  events: number;
  attempts: number;
  firstParkedAt: string;
  lastError: DeliveryFailure;
} & (
  | {
      destination: 'logs';
      stream: string;
      /** Each row's JSON, exactly as it was sent (the parked blob holds them as objects). */
      rows: string[];
    }
  | { destination: 'archive'; blobName: string; lines: string[] }
);

export interface ParkedRef {
  name: string;
  etag: string;
  attempts: number;
  nextAttemptAt: Date;
  /** When the item was first parked; absent when a store cannot tell. */
  firstParkedAt?: Date;
}

/** Parked items, each with its schedule; every change is conditional on the etag the caller read. */
export interface ParkingStore {
  /** Parks `item` to be tried again at `nextAttemptAt`; throws when it cannot. Returns the item's name. */
  park(item: ParkedItem, nextAttemptAt: Date): Promise<string>;
  /** Every parked item with its schedule, without reading the items. */
  list(): AsyncIterable<ParkedRef>;
  /** Throws a 404 or 412 RestError when the item is gone or changed since it was listed. */
  read(ref: ParkedRef): Promise<ParkedItem>;
  /** Rewrites an item after a failed attempt, unless another redrive changed it meanwhile. */
  reschedule(ref: ParkedRef, item: ParkedItem, nextAttemptAt: Date): Promise<void>;
  /** Removes an item once it is delivered or dead-lettered; already gone is fine. */
  remove(ref: ParkedRef): Promise<void>;
}

/** Dead letters: what will never be delivered, with the reason. */
export interface DeadLetterStore {
  /**
   * Writes the records of one batch; throws when it cannot (the caller must not report them as accounted
   * for). The same records from a redelivered batch are written once. Returns the name, if anything was written.
   */
  write(origin: BatchOrigin, records: readonly DeadLetterRecord[]): Promise<string | undefined>;
  /** The dead-letter blobs written at or after `since`, and how many records they hold. */
  recent(since: Date): Promise<{ blobs: number; records: number }>;
}

/** Data seen for a subscription: what coverage measures silence against. */
export interface Sighting {
  subscriptionId: string;
  dataType: DataType;
  snapshot: boolean;
  lastSeen: Date;
}

export interface LastSeen {
  streaming?: Date;
  snapshot?: Date;
}

/** Last time data was seen per subscription, data type and snapshot/streaming. */
export interface HeartbeatStore {
  /** Records sightings; returns how many writes failed (a heartbeat is never worth losing events over). */
  record(sightings: readonly Sighting[]): Promise<number>;
  /** The latest sighting per subscription, streaming and snapshot apart. */
  lastSeenBySubscription(): Promise<Map<string, LastSeen>>;
  /** The latest sighting per data type over every subscription, streaming or snapshot. */
  lastSeenByDataType(): Promise<Map<DataType, Date>>;
}
