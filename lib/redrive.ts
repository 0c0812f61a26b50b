import { RestError } from '@azure/core-rest-pipeline';
import pLimit from 'p-limit';
import { archiveContent } from './outbox/archiveOutbox';
import { sendRows } from './outbox/logsOutbox';
import type { ArchiveSink, DeadLetterStore, LogsSink, ParkedItem, ParkedRef, ParkingStore } from './ports';
import type { LogsRow } from './records/row';
import type { DeadLetterRecord } from './sinks/deadLetter';
import { describeFailure, failureText, type DeliveryFailure } from './sinks/deliveryFailure';

export interface RedriveDependencies {
  logs?: LogsSink;
  archive: ArchiveSink;
  parking: ParkingStore;
  deadLetters: DeadLetterStore;
  clock: () => Date;
  backoff: (attempts: number) => number;
  /** Give up (dead-letter) after this many attempts in all (REDRIVE_MAX_ATTEMPTS)… */
  maxAttempts: number;
  /** …or once an item has been parked this long (REDRIVE_MAX_AGE_HOURS). */
  maxAgeMs: number;
  concurrency?: number;
  /** Streams whose table is on the Auxiliary plan (LOGS_AUXILIARY_STREAMS): see LogsOutboxOptions.auxiliary. */
  auxiliaryStreams?: ReadonlySet<string>;
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

/** The columns a dead letter names a parked row by (read back from its JSON: this is the rare path). */
function rowFacts(json: string): Pick<LogsRow, 'EventKey' | 'DataType' | 'PartIndex' | 'PartCount'> {
  const { EventKey, DataType, PartIndex, PartCount } = JSON.parse(json) as LogsRow;
  return { EventKey, DataType, PartIndex, PartCount };
}

async function attempt(item: ParkedItem, deps: RedriveDependencies): Promise<Attempt> {
  if (item.destination === 'archive') {
    try {
      await deps.archive.create(item.blobName, archiveContent(item.lines), {
        origin: item.origin,
        events: item.lines.length,
      });
      return { delivered: item.lines.length, remaining: undefined, refused: [] };
    } catch (error) {
      return { delivered: 0, remaining: item, refused: [], error: describeFailure(error) };
    }
  }
  if (!deps.logs)
    throw new Error(`parked rows for logs:${item.stream} but no Logs Ingestion endpoint is configured`);
  const outcome = await sendRows(
    deps.logs,
    item.stream,
    item.rows.map((json) => ({ json, bytes: Buffer.from(json, 'utf8') })),
    deps.auxiliaryStreams?.has(item.stream) ? { auxiliary: true } : {},
  );
  const refused = outcome.rejected.map(({ row, failure }): DeadLetterRecord => {
    const facts = rowFacts(row.json);
    return {
      stage: 'redrive',
      reason: `Logs Ingestion refused part ${facts.PartIndex + 1} of ${facts.PartCount} for logs:${item.stream}: ${failureText(failure)}`,
      body: row.json,
      encoding: 'utf8',
      ...where(item),
      eventKey: facts.EventKey,
      dataType: facts.DataType,
      failure,
    };
  });
  const rows = outcome.failed.flatMap((f) => f.rows.map((row) => row.json));
  const remaining =
    rows.length > 0
      ? { ...item, rows, events: new Set(rows.map((row) => rowFacts(row).EventKey)).size }
      : undefined;
  return {
    delivered: outcome.delivered,
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
    ? item.rows.map((row) => {
        const facts = rowFacts(row);
        return { ...base, body: row, eventKey: facts.EventKey, dataType: facts.DataType };
      })
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
