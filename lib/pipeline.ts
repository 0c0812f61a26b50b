import { FitError } from './errors';
import { fitRow } from './fit/fit';
import { auditLedger, destination, emptyLedger, type Ledger } from './ledger';
import { normalizeMessage, type NormalizedEvent } from './records/normalize';
import type { LogsRow } from './records/row';
import type { Router } from './routing/route';
import { archiveBlobName, type ArchiveBatch, type BatchOrigin } from './sinks/archiveBlobName';
import type { BlobArchiveSink } from './sinks/blobArchive';
import { encodeBody, type DeadLetterRecord, type DeadLetterStore } from './sinks/deadLetter';
import { failureText } from './sinks/deliveryFailure';
import type { HeartbeatStore, Sighting } from './sinks/heartbeat';
import type { LogsIngestionSink } from './sinks/logsIngestion';
import type { ParkedItem, ParkingStore } from './sinks/parking';

/** One Event Hub message as the trigger hands it over, with its place in the partition. */
export interface BatchMessage {
  body: unknown;
  sequenceNumber: number;
  enqueuedTimeUtc: string;
  offset?: string;
}

export interface Batch {
  /** The Event Hub the batch came from (or `cli` for replayed files). */
  source: string;
  partitionId: string;
  messages: BatchMessage[];
}

export interface PipelineDependencies {
  route: Router;
  recordLimit: number;
  logs?: LogsIngestionSink;
  archive: BlobArchiveSink;
  parking: ParkingStore;
  deadLetters: DeadLetterStore;
  heartbeat?: HeartbeatStore;
  clock: () => Date;
  /** Milliseconds a parked item waits before attempt number `attempts + 1`. */
  backoff: (attempts: number) => number;
}

type Status = 'delivered' | 'parked' | 'deadLettered';
const SEVERITY: Record<Status, number> = { delivered: 0, parked: 1, deadLettered: 2 };

/** One routed event and what became of it at each destination (the worst of its rows). */
interface Tracked {
  event: NormalizedEvent;
  message: BatchMessage;
  status: Map<string, Status>;
}

interface StreamGroup {
  rows: LogsRow[];
  owner: Map<LogsRow, Tracked>;
}

interface ArchiveGroup {
  lines: string[];
  owners: Tracked[];
}

function mark(tracked: Tracked, dest: string, status: Status): void {
  const current = tracked.status.get(dest);
  if (current === undefined || SEVERITY[status] > SEVERITY[current]) tracked.status.set(dest, status);
}

function place(message: BatchMessage, partitionId: string) {
  return {
    partitionId,
    sequenceNumber: message.sequenceNumber,
    enqueuedTimeUtc: message.enqueuedTimeUtc,
    ...(message.offset !== undefined ? { offset: message.offset } : {}),
  };
}

/** Normalising a big batch is synchronous work: give the event loop a turn every few milliseconds. */
function cooperativeYield(budgetMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}

/**
 * Takes one Event Hub batch from bodies to delivered rows and blobs, and accounts for every event.
 * Every sink is tried even when another fails. What fails for a passing reason is parked (written durably
 * for redriveParked) and what can never be delivered is dead-lettered with its reason, both *before* this
 * returns, because the trigger checkpoints the batch whatever happens next. It throws only when even parking
 * or dead-lettering failed, so that the host's retry policy runs the batch again.
 */
export async function processBatch(batch: Batch, deps: PipelineDependencies): Promise<Ledger> {
  const ledger = emptyLedger();
  const first = batch.messages[0];
  const origin: BatchOrigin = {
    source: batch.source,
    partitionId: batch.partitionId,
    firstSequenceNumber: first?.sequenceNumber ?? 0,
    lastSequenceNumber: batch.messages[batch.messages.length - 1]?.sequenceNumber ?? 0,
  };
  const archiveBatch: ArchiveBatch = {
    ...origin,
    enqueuedTimeUtc: first?.enqueuedTimeUtc ?? deps.clock().toISOString(),
  };
  const deadLetters: DeadLetterRecord[] = [];
  const tracked: Tracked[] = [];
  const streams = new Map<string, StreamGroup>();
  const archives = new Map<string, ArchiveGroup>();
  const sightings: Sighting[] = [];
  const yieldNow = cooperativeYield();

  for (const message of batch.messages) {
    ledger.messages++;
    const { events, rejections } = normalizeMessage(message.body, {
      enqueuedTimeUtc: message.enqueuedTimeUtc,
      now: deps.clock,
    });
    for (const rejection of rejections) {
      ledger.received++;
      ledger.invalid++;
      deadLetters.push({
        stage: 'input',
        reason: rejection.reason,
        ...encodeBody(rejection.element !== undefined ? rejection.element : message.body),
        ...place(message, batch.partitionId),
        ...(rejection.index !== undefined ? { index: rejection.index } : {}),
      });
    }
    for (const event of events) {
      ledger.received++;
      await yieldNow();
      const { identity } = event;
      if (identity.AzureSubscriptionId) {
        sightings.push({
          subscriptionId: identity.AzureSubscriptionId,
          dataType: identity.DataType,
          snapshot: identity.IsSnapshot,
          lastSeen: new Date(message.enqueuedTimeUtc),
        });
      }
      const decision = deps.route(identity);
      if (decision.drop) {
        ledger.dropped++;
        continue;
      }
      ledger.routed++;
      const item: Tracked = { event, message, status: new Map() };
      tracked.push(item);
      const archiveName = archiveBlobName(identity.DataType, archiveBatch);
      // A split or trimmed row points at its archived original, so the original is archived whatever the route.
      let archive = decision.archive;
      for (const stream of decision.streams) {
        const dest = `logs:${stream}`;
        destination(ledger, dest).routed++;
        try {
          const fitted = fitRow(event, {
            limit: deps.recordLimit,
            strategy: decision.oversize,
            archiveBlob: archiveName,
          });
          if (fitted.outcome === 'split') {
            ledger.split++;
            ledger.parts += fitted.rows.length;
          } else if (fitted.outcome === 'trimmed') {
            ledger.trimmed++;
          }
          archive ||= fitted.outcome !== 'whole';
          const group: StreamGroup = streams.get(stream) ?? { rows: [], owner: new Map() };
          streams.set(stream, group);
          for (const row of fitted.rows) {
            group.rows.push(row);
            group.owner.set(row, item);
          }
        } catch (error) {
          if (!(error instanceof FitError)) throw error;
          mark(item, dest, 'deadLettered');
          deadLetters.push({
            stage: 'fit',
            reason: error.message,
            body: event.json,
            encoding: 'utf8',
            ...place(message, batch.partitionId),
            index: event.index,
            eventKey: identity.EventKey,
            dataType: identity.DataType,
          });
        }
      }
      if (archive) {
        destination(ledger, 'archive').routed++;
        const group: ArchiveGroup = archives.get(archiveName) ?? { lines: [], owners: [] };
        archives.set(archiveName, group);
        group.lines.push(event.json);
        group.owners.push(item);
      }
    }
  }

  const now = deps.clock();
  const parked: ParkedItem[] = [];
  const deliverLogs = async (stream: string, group: StreamGroup) => {
    if (!deps.logs)
      throw new Error(`events are routed to logs:${stream} but no Logs Ingestion endpoint is configured`);
    const dest = `logs:${stream}`;
    const outcome = await deps.logs.send(stream, group.rows);
    for (const row of outcome.delivered) mark(group.owner.get(row)!, dest, 'delivered');
    for (const { rows } of outcome.failed)
      for (const row of rows) mark(group.owner.get(row)!, dest, 'parked');
    for (const { row, failure } of outcome.rejected) {
      const owner = group.owner.get(row)!;
      if (owner.status.get(dest) === 'deadLettered') continue; // one record per event, however many parts were refused
      mark(owner, dest, 'deadLettered');
      deadLetters.push({
        stage: 'logs',
        reason: `Logs Ingestion refused part ${row.PartIndex + 1} of ${row.PartCount} for ${dest}: ${failureText(failure)}`,
        body: owner.event.json,
        encoding: 'utf8',
        ...place(owner.message, batch.partitionId),
        index: owner.event.index,
        eventKey: row.EventKey,
        dataType: row.DataType,
        failure,
      });
    }
    for (const { rows, failure } of outcome.failed) {
      // An event dead-lettered for another of its parts is kept whole in the dead letters: do not park the rest.
      const still = rows.filter((row) => group.owner.get(row)!.status.get(dest) === 'parked');
      if (still.length === 0) continue;
      parked.push({
        version: 1,
        origin,
        destination: 'logs',
        stream,
        rows: still,
        events: new Set(still.map((row) => group.owner.get(row))).size,
        attempts: 1,
        firstParkedAt: now.toISOString(),
        lastError: failure,
      });
    }
  };
  const deliverArchive = async (name: string, group: ArchiveGroup) => {
    const result = await deps.archive.write(name, group.lines, origin);
    for (const owner of group.owners) mark(owner, 'archive', result.ok ? 'delivered' : 'parked');
    if (!result.ok) {
      parked.push({
        version: 1,
        origin,
        destination: 'archive',
        blobName: name,
        lines: group.lines,
        events: group.owners.length,
        attempts: 1,
        firstParkedAt: now.toISOString(),
        lastError: result.failure,
      });
    }
  };
  await Promise.all([
    ...[...streams].map(([stream, group]) => deliverLogs(stream, group)),
    ...[...archives].map(([name, group]) => deliverArchive(name, group)),
  ]);

  // Durable before returning: the trigger checkpoints this batch whatever we do next.
  const nextAttempt = new Date(now.getTime() + deps.backoff(1));
  await Promise.all(parked.map((item) => deps.parking.park(item, nextAttempt)));
  ledger.parkedBlobs = parked.length;
  ledger.deadLetterBlobs = (await deps.deadLetters.write(origin, deadLetters)) ? 1 : 0;

  for (const item of tracked) {
    for (const [dest, status] of item.status) destination(ledger, dest)[status]++;
  }
  if (deps.heartbeat && sightings.length > 0)
    ledger.heartbeatFailures = await deps.heartbeat.record(sightings);
  ledger.problems = auditLedger(ledger);
  return ledger;
}
