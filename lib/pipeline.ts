import { auditLedger, destination, emptyLedger, noteReason, type Ledger } from './ledger';
import { ArchiveOutbox, type ArchiveResult } from './outbox/archiveOutbox';
import { LogsOutbox, type LogsShortfall, type OutgoingRow } from './outbox/logsOutbox';
import type {
  ArchiveSink,
  DeadLetterStore,
  HeartbeatStore,
  LogsSink,
  ParkedItem,
  ParkingStore,
  Sighting,
} from './ports';
import type { DataType } from './records/row';
import type { Router } from './routing/route';
import { stepMessage, type StepResult } from './step';
import { archiveBlobName, type ArchiveBatch, type BatchOrigin } from './sinks/archiveBlobName';
import { encodeBody, type DeadLetterRecord } from './sinks/deadLetter';
import { failureText, type DeliveryFailure } from './sinks/deliveryFailure';

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
  /**
   * What a fault in our own code on one event does: false fails the batch, so the host runs it again (a
   * passing cause gets a second chance); true dead-letters that event (stage `internal`) and goes on. The
   * Functions layer sets it from the first retry on, since each retry re-sends what the failed attempts
   * had sent; replay, which nobody retries, always.
   */
  deadLetterFaults?: boolean;
}

export interface PipelineDependencies {
  route: Router;
  recordLimit: number;
  logs?: LogsSink;
  archive: ArchiveSink;
  parking: ParkingStore;
  deadLetters: DeadLetterStore;
  heartbeat?: HeartbeatStore;
  clock: () => Date;
  /** Milliseconds a parked item waits before attempt number `attempts + 1`. */
  backoff: (attempts: number) => number;
  /** Logs requests in flight at once, per stream. */
  maxRequestsInFlight?: number;
  /** Streams whose table is on the Auxiliary plan (LOGS_AUXILIARY_STREAMS): see LogsOutboxOptions.auxiliary. */
  auxiliaryStreams?: ReadonlySet<string>;
}

/** A fault in our own code met while processing a batch that will be run again. */
export class BatchFault extends Error {
  override readonly name = 'BatchFault';
}

/** What became of an event at one destination: the worst outcome of its rows. */
const enum Fate {
  None = 0,
  Delivered = 1,
  Parked = 2,
  DeadLettered = 3,
}

/** What the settlement needs of a routed event once its parsed object and rows are gone. */
interface Slot {
  message: BatchMessage;
  index: number;
  eventKey: string;
  dataType: DataType;
}

/** A row in a logs outbox: whose it is, and the event's JSON for the dead letter if the row is refused. */
interface Row extends OutgoingRow {
  owner: number;
  partIndex: number;
  partCount: number;
  event: Buffer;
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

/** Per destination, the fate of every routed event, by its slot. */
class Fates {
  private readonly byDestination = new Map<string, Fate[]>();
  private readonly failures = new Map<string, DeliveryFailure>();

  mark(dest: string, slot: number, fate: Fate): void {
    let fates = this.byDestination.get(dest);
    if (!fates) this.byDestination.set(dest, (fates = []));
    if ((fates[slot] ?? Fate.None) < fate) fates[slot] = fate;
  }

  is(dest: string, slot: number, fate: Fate): boolean {
    return this.byDestination.get(dest)?.[slot] === fate;
  }

  /** Keeps the first failure per destination, for the ledger's log line. */
  failed(dest: string, failure: DeliveryFailure): void {
    if (!this.failures.has(dest)) this.failures.set(dest, failure);
  }

  count(ledger: Ledger): void {
    for (const [dest, fates] of this.byDestination) {
      const counts = destination(ledger, dest);
      for (const fate of fates) {
        if (fate === Fate.Delivered) counts.delivered++;
        else if (fate === Fate.Parked) counts.parked++;
        else if (fate === Fate.DeadLettered) counts.deadLettered++;
      }
    }
    for (const [dest, failure] of this.failures) destination(ledger, dest).failure = failure;
  }
}

/**
 * Takes one Event Hub batch from bodies to delivered rows and blobs, and accounts for every event.
 *
 * Each event goes through the pure step (lib/step.ts) on its own and straight into the outboxes, which send
 * logs requests as they fill and compress archive lines as they come; only then is the next event parsed,
 * so a batch is never held whole in parsed or serialised form. Once every destination has answered, what
 * failed for a passing reason is parked (written durably for redriveParked) and what can never be delivered
 * is dead-lettered with its reason, both *before* this returns, because the trigger checkpoints the batch
 * whatever happens next. It throws when even parking or dead-lettering failed, and on a fault in our own
 * code before the final attempt, so that the host's retry policy runs the batch again.
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
  // Named once per data type: the step asks for every fitted event, the archive for every archived one.
  const archiveNames = new Map<DataType, string>();
  const archiveName = (dataType: DataType) => {
    let name = archiveNames.get(dataType);
    if (name === undefined) archiveNames.set(dataType, (name = archiveBlobName(dataType, archiveBatch)));
    return name;
  };
  const slots: Slot[] = [];
  const fates = new Fates();
  const deadLetters: DeadLetterRecord[] = [];
  const sightings = new Map<string, Sighting>();
  const archive = new ArchiveOutbox(deps.archive, origin);
  const outboxes = new Map<string, LogsOutbox<Row>>();
  const outbox = (stream: string) => {
    let box = outboxes.get(stream);
    if (!box) {
      if (!deps.logs)
        throw new Error(`events are routed to logs:${stream} but no Logs Ingestion endpoint is configured`);
      const dest = `logs:${stream}`;
      box = new LogsOutbox<Row>(deps.logs, stream, {
        ...(deps.maxRequestsInFlight ? { maxInFlight: deps.maxRequestsInFlight } : {}),
        ...(deps.auxiliaryStreams?.has(stream) ? { auxiliary: true } : {}),
        onDelivered: (rows) => rows.forEach((row) => fates.mark(dest, row.owner, Fate.Delivered)),
      });
      outboxes.set(stream, box);
    }
    return box;
  };
  const yieldNow = cooperativeYield();

  const take = async (message: BatchMessage, result: StepResult) => {
    ledger.received++;
    if (result.kind === 'rejected' || result.kind === 'fault') {
      const internal = result.kind === 'fault';
      if (internal && !batch.deadLetterFaults) throw new BatchFault(result.reason, { cause: result.error });
      if (internal) ledger.faults++;
      else ledger.invalid++;
      deadLetters.push({
        stage: internal ? 'internal' : 'input',
        reason: result.reason,
        ...encodeBody(result.element !== undefined ? result.element : message.body),
        ...place(message, batch.partitionId),
        ...(result.index !== undefined ? { index: result.index } : {}),
      });
      return;
    }
    const { event, sighting } = result;
    if (sighting) {
      const key = `${sighting.subscriptionId}\n${sighting.dataType}\n${sighting.snapshot}`;
      const known = sightings.get(key);
      if (!known || known.lastSeen < sighting.lastSeen) sightings.set(key, sighting);
    }
    if (result.kind === 'dropped') {
      ledger.dropped++;
      return;
    }
    ledger.routed++;
    const owner = slots.length;
    const { identity } = event;
    slots.push({ message, index: event.index, eventKey: identity.EventKey, dataType: identity.DataType });
    const { fitted } = result;
    if ('rows' in fitted && result.streams.length > 0) {
      if (fitted.outcome === 'split') {
        ledger.split++;
        ledger.parts += fitted.rows.length;
      } else if (fitted.outcome === 'trimmed') {
        ledger.trimmed++;
      }
    }
    for (const stream of result.streams) {
      const dest = `logs:${stream}`;
      destination(ledger, dest).routed++;
      if ('error' in fitted) {
        fates.mark(dest, owner, Fate.DeadLettered);
        deadLetters.push({
          stage: 'fit',
          reason: fitted.error,
          body: event.bytes.toString('utf8'),
          encoding: 'utf8',
          ...place(message, batch.partitionId),
          index: event.index,
          eventKey: identity.EventKey,
          dataType: identity.DataType,
        });
        continue;
      }
      const box = outbox(stream);
      const partCount = fitted.rows.length;
      for (let part = 0; part < partCount; part++)
        await box.add({
          bytes: fitted.rows[part]!,
          owner,
          partIndex: part,
          partCount,
          event: event.bytes,
        });
    }
    if (result.archive) {
      destination(ledger, 'archive').routed++;
      await archive.add(archiveName(identity.DataType), event.bytes, owner);
    }
  };

  const options = {
    route: deps.route,
    recordLimit: deps.recordLimit,
    now: deps.clock,
    archiveBlob: archiveName,
  };
  try {
    for (const message of batch.messages) {
      ledger.messages++;
      for (const result of stepMessage(message.body, {
        ...options,
        enqueuedTimeUtc: message.enqueuedTimeUtc,
      })) {
        await yieldNow();
        await take(message, result);
      }
    }
  } catch (error) {
    // Nothing more is sent, parked or archived for a batch that will run again; requests in flight finish.
    archive.abandon();
    await Promise.all([...outboxes.values()].map((box) => box.abandon()));
    throw error;
  }

  // Every destination answers before any is settled: one's failure never hides another's outcome. The
  // outboxes report delivery failures as outcomes; one that throws has a bug, and the batch runs again.
  const streams = [...outboxes];
  const [archiveResult, ...logsResults] = await Promise.allSettled([
    archive.close(),
    ...streams.map(([, box]) => box.close()),
  ]);
  const broken = [archiveResult, ...logsResults].filter((r) => r.status === 'rejected');
  if (broken.length > 0)
    throw new AggregateError(
      broken.map((r) => r.reason),
      'a destination failed to report what it delivered',
    );
  const archived = (archiveResult as PromiseFulfilledResult<ArchiveResult[]>).value;
  const shortfalls = logsResults.map((r) => (r as PromiseFulfilledResult<LogsShortfall<Row>>).value);
  const now = deps.clock();
  const parked: ParkedItem[] = [];
  streams.forEach(([stream], i) =>
    settleLogs(stream, shortfalls[i]!, { batch, origin, slots, fates, deadLetters, parked, now }),
  );
  settleArchive(archived, { origin, fates, parked, now });

  // Durable before returning: the trigger checkpoints this batch whatever we do next.
  const nextAttempt = new Date(now.getTime() + deps.backoff(1));
  await Promise.all(parked.map((item) => deps.parking.park(item, nextAttempt)));
  ledger.parkedBlobs = parked.length;
  ledger.deadLetterBlobs = (await deps.deadLetters.write(origin, deadLetters)) ? 1 : 0;
  for (const record of deadLetters) noteReason(ledger, `${record.stage}: ${record.reason}`);

  fates.count(ledger);
  if (deps.heartbeat && sightings.size > 0)
    ledger.heartbeatFailures = await deps.heartbeat.record([...sightings.values()]);
  ledger.problems = auditLedger(ledger);
  return ledger;
}

interface Settlement {
  batch: Batch;
  origin: BatchOrigin;
  slots: Slot[];
  fates: Fates;
  deadLetters: DeadLetterRecord[];
  parked: ParkedItem[];
  now: Date;
}

/** Refused rows dead-letter their event (once, however many of its parts were refused); failed rows are parked. */
function settleLogs(stream: string, shortfall: LogsShortfall<Row>, s: Settlement): void {
  const dest = `logs:${stream}`;
  if (shortfall.first) s.fates.failed(dest, shortfall.first);
  for (const { row, failure } of shortfall.rejected) {
    if (s.fates.is(dest, row.owner, Fate.DeadLettered)) continue;
    s.fates.mark(dest, row.owner, Fate.DeadLettered);
    const slot = s.slots[row.owner]!;
    s.deadLetters.push({
      stage: 'logs',
      reason: `Logs Ingestion refused part ${row.partIndex + 1} of ${row.partCount} for ${dest}: ${failureText(failure)}`,
      body: row.event.toString('utf8'),
      encoding: 'utf8',
      ...place(slot.message, s.batch.partitionId),
      index: slot.index,
      eventKey: slot.eventKey,
      dataType: slot.dataType,
      failure,
    });
  }
  for (const { rows, failure } of shortfall.failed) {
    // An event dead-lettered for another of its parts is kept whole in the dead letters: do not park the rest.
    const still = rows.filter((row) => !s.fates.is(dest, row.owner, Fate.DeadLettered));
    for (const row of still) s.fates.mark(dest, row.owner, Fate.Parked);
    if (still.length === 0) continue;
    s.parked.push({
      version: 1,
      origin: s.origin,
      destination: 'logs',
      stream,
      rows: still.map((row) => row.bytes.toString('utf8')),
      events: new Set(still.map((row) => row.owner)).size,
      attempts: 1,
      firstParkedAt: s.now.toISOString(),
      lastError: failure,
    });
  }
}

/** A blob that could not be written is parked with its lines. */
function settleArchive(
  results: ArchiveResult[],
  s: Pick<Settlement, 'origin' | 'fates' | 'parked' | 'now'>,
): void {
  for (const result of results) {
    for (const owner of result.owners)
      s.fates.mark('archive', owner, result.ok ? Fate.Delivered : Fate.Parked);
    if (result.ok) continue;
    s.fates.failed('archive', result.failure);
    s.parked.push({
      version: 1,
      origin: s.origin,
      destination: 'archive',
      blobName: result.name,
      lines: result.lines,
      events: result.owners.length,
      attempts: 1,
      firstParkedAt: s.now.toISOString(),
      lastError: result.failure,
    });
  }
}
