import { RestError } from '@azure/core-rest-pipeline';
import pLimit from 'p-limit';
import type { BlobArchiveSink } from './sinks/blobArchive';
import type { DeadLetterRecord, DeadLetterStore } from './sinks/deadLetter';
import { failureText, type DeliveryFailure } from './sinks/deliveryFailure';
import type { LogsIngestionSink } from './sinks/logsIngestion';
import type { ParkedItem, ParkedRef, ParkingStore } from './sinks/parking';

export interface RedriveDependencies {
  logs?: LogsIngestionSink;
  archive: BlobArchiveSink;
  parking: ParkingStore;
  deadLetters: DeadLetterStore;
  clock: () => Date;
  backoff: (attempts: number) => number;
  /** Give up (dead-letter) after this many attempts in all (REDRIVE_MAX_ATTEMPTS)… */
  maxAttempts: number;
  /** …or once an item has been parked this long (REDRIVE_MAX_AGE_HOURS). */
  maxAgeMs: number;
  concurrency?: number;
}

/** What one redrive run did, counted in parked items and in the rows or lines inside them. */
export interface RedriveReport {
  parked: number;
  due: number;
  delivered: number;
  rescheduled: number;
  gaveUp: number;
  /** Changed by another run between listing and reading: left to it. */
  skipped: number;
  rowsDelivered: number;
  rowsDeadLettered: number;
}

type Attempt = {
  delivered: number;
  remaining: ParkedItem | undefined;
  refused: DeadLetterRecord[];
  error?: DeliveryFailure;
};

function where(item: ParkedItem) {
  return {
    partitionId: item.origin.partitionId,
    sequenceNumber: item.origin.firstSequenceNumber,
    enqueuedTimeUtc: item.firstParkedAt,
  };
}

async function attempt(item: ParkedItem, deps: RedriveDependencies): Promise<Attempt> {
  if (item.destination === 'archive') {
    const result = await deps.archive.write(item.blobName, item.lines, item.origin);
    return result.ok
      ? { delivered: item.lines.length, remaining: undefined, refused: [] }
      : { delivered: 0, remaining: item, refused: [], error: result.failure };
  }
  if (!deps.logs)
    throw new Error(`parked rows for logs:${item.stream} but no Logs Ingestion endpoint is configured`);
  const outcome = await deps.logs.send(item.stream, item.rows);
  const refused = outcome.rejected.map(({ row, failure }): DeadLetterRecord => ({
    stage: 'redrive',
    reason: `Logs Ingestion refused part ${row.PartIndex + 1} of ${row.PartCount} for logs:${item.stream}: ${failureText(failure)}`,
    body: JSON.stringify(row),
    encoding: 'utf8',
    ...where(item),
    eventKey: row.EventKey,
    dataType: row.DataType,
    failure,
  }));
  const rows = outcome.failed.flatMap((f) => f.rows);
  const remaining =
    rows.length > 0 ? { ...item, rows, events: new Set(rows.map((r) => r.EventKey)).size } : undefined;
  return {
    delivered: outcome.delivered.length,
    remaining,
    refused,
    ...(outcome.failed[0] ? { error: outcome.failed[0].failure } : {}),
  };
}

function giveUp(item: ParkedItem, attempts: number, error: DeliveryFailure, now: Date): DeadLetterRecord[] {
  const hours = ((now.getTime() - new Date(item.firstParkedAt).getTime()) / 3_600_000).toFixed(1);
  const reason = `gave up after ${attempts} attempts over ${hours} h; last error: ${failureText(error)}`;
  const base = {
    stage: 'redrive' as const,
    reason,
    encoding: 'utf8' as const,
    ...where(item),
    failure: error,
  };
  return item.destination === 'logs'
    ? item.rows.map((row) => ({
        ...base,
        body: JSON.stringify(row),
        eventKey: row.EventKey,
        dataType: row.DataType,
      }))
    : item.lines.map((line) => ({ ...base, body: line }));
}

/**
 * Re-sends every parked item that is due. Delivered items are removed; items that fail again wait longer
 * (the backoff grows with each attempt); items that have failed `maxAttempts` times or waited `maxAgeMs`
 * are dead-lettered with the last error. Dead letters are written before a parked blob is removed.
 */
export async function redriveParked(deps: RedriveDependencies): Promise<RedriveReport> {
  const report: RedriveReport = {
    parked: 0,
    due: 0,
    delivered: 0,
    rescheduled: 0,
    gaveUp: 0,
    skipped: 0,
    rowsDelivered: 0,
    rowsDeadLettered: 0,
  };
  const now = deps.clock();
  const due: ParkedRef[] = [];
  for await (const ref of deps.parking.list()) {
    report.parked++;
    if (ref.nextAttemptAt <= now) due.push(ref);
  }
  report.due = due.length;
  const limit = pLimit(deps.concurrency ?? 4);
  await Promise.all(
    due.map((ref) =>
      limit(async () => {
        let item: ParkedItem;
        try {
          item = await deps.parking.read(ref);
        } catch (error) {
          if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) {
            report.skipped++;
            return;
          }
          throw error;
        }
        const attempts = item.attempts + 1;
        const result = await attempt(item, deps);
        report.rowsDelivered += result.delivered;
        const deadLetters = [...result.refused];
        const remaining = result.remaining;
        const age = now.getTime() - new Date(item.firstParkedAt).getTime();
        const exhausted = remaining !== undefined && (attempts >= deps.maxAttempts || age >= deps.maxAgeMs);
        if (remaining && exhausted)
          deadLetters.push(...giveUp(remaining, attempts, result.error ?? item.lastError, now));
        report.rowsDeadLettered += deadLetters.length;
        await deps.deadLetters.write(item.origin, deadLetters);
        if (remaining && !exhausted) {
          const next = { ...remaining, attempts, lastError: result.error ?? item.lastError };
          await deps.parking.reschedule(ref, next, new Date(now.getTime() + deps.backoff(attempts)));
          report.rescheduled++;
          return;
        }
        await deps.parking.remove(ref);
        if (exhausted) report.gaveUp++;
        else report.delivered++;
      }),
    ),
  );
  return report;
}
