import { describe, expect, it } from 'vitest';
import { fault, type MemoryParkingStore } from '../../lib/memory';
import { processBatch } from '../../lib/pipeline';
import type { ParkedItem, ParkedRef, ParkingStore } from '../../lib/ports';
import type { LogsRow } from '../../lib/records/row';
import { redriveParked } from '../../lib/redrive';
import { batchOf, eventHubSampleBodies } from '../helpers/batches';
import {
  BACKOFF_STEP_MS,
  eventsFromRows,
  eventsInLogs,
  expectBalanced,
  LOGS,
  memoryPipeline,
  NOW,
  parkedArchive,
  parkedItems,
  parkedLogs,
  rowsOf,
  sorted,
  STREAM,
  TestClock,
} from '../helpers/memoryDeps';
import { eventsOf } from '../helpers/samples';

const HOUR = 3_600_000;
const bodies = eventHubSampleBodies();
const expected = eventsOf(bodies);
const POISONED = { SystemAlertId: 'poisoned-1', AlertType: 'X', AlertDisplayName: 'POISON' };
const isPoisoned = (row: Record<string, unknown>) => JSON.stringify(row.Properties).includes('POISON');

/** A pipeline whose first batch left its logs rows (and, with `archive`, its archive lines) parked. */
async function parkedBatch(options: { archive?: boolean; bodies?: unknown[]; status?: number } = {}) {
  const pipeline = memoryPipeline();
  pipeline.logs.faults.inject(fault.fail(Infinity, options.status ?? 503));
  if (options.archive) pipeline.archive.faults.inject(fault.fail(Infinity, 503));
  const ledger = await processBatch(batchOf(options.bodies ?? bodies), pipeline.deps);
  expectBalanced(ledger);
  expect(ledger.destinations[LOGS]!.parked).toBe(ledger.routed);
  pipeline.logs.faults.clear();
  pipeline.archive.faults.clear();
  return { ...pipeline, ledger };
}

const parkedRows = (parking: MemoryParkingStore) =>
  parkedLogs(parking).flatMap((item) => item.rows.map((row) => JSON.parse(row) as LogsRow));

describe('redriveParked against the in-memory sinks', () => {
  it('delivers parked logs rows and archive lines once the faults clear, as a clean run would have', async () => {
    const clean = memoryPipeline();
    await processBatch(batchOf(bodies), clean.deps);

    const { logs, archive, parking, deadLetters, clock, redriveDeps } = await parkedBatch({ archive: true });
    const items = parkedItems(parking);
    const rows = parkedRows(parking).length;
    const lines = parkedArchive(parking).flatMap((item) => item.lines).length;
    expect(lines).toBe(expected.length);

    clock.advance(BACKOFF_STEP_MS + 1_000);
    const report = await redriveParked(redriveDeps());
    expect(report).toEqual({
      parked: items.length,
      due: items.length,
      delivered: items.length,
      rescheduled: 0,
      gaveUp: 0,
      skipped: 0,
      rowsDelivered: rows + lines,
      rowsDeadLettered: 0,
    });
    expect(parking.items.size).toBe(0);
    expect(deadLetters.records()).toEqual([]);
    expect(eventsInLogs(logs, STREAM)).toEqual(sorted(expected));
    expect(sorted(rowsOf(logs).map((r) => r.EventKey))).toEqual(
      sorted(rowsOf(clean.logs).map((r) => r.EventKey)),
    );
    // The archive ends as a clean run leaves it: the same blob names, lines and metadata.
    expect(sorted(archive.blobs.keys())).toEqual(sorted(clean.archive.blobs.keys()));
    for (const [name, blob] of clean.archive.blobs) {
      expect(sorted(archive.lines(name))).toEqual(sorted(clean.archive.lines(name)));
      expect(archive.blobs.get(name)!.metadata).toEqual(blob.metadata);
    }

    // Nothing is left to do.
    clock.advance(HOUR);
    expect(await redriveParked(redriveDeps())).toMatchObject({ parked: 0, due: 0 });
  });

  it('does not retry what is not due yet', async () => {
    const clock = new TestClock();
    const { deps, logs, parking, redriveDeps } = memoryPipeline({ clock });
    logs.faults.inject(fault.fail(2, 503));
    const first = batchOf(bodies.slice(0, 4), { firstSequenceNumber: 100 });
    const second = batchOf(bodies.slice(4), { firstSequenceNumber: 200 });
    await processBatch(first, deps); // parked at NOW, due at NOW + 60 s
    clock.advance(45_000);
    await processBatch(second, deps); // parked at NOW + 45 s, due at NOW + 105 s
    expect(parkedLogs(parking)).toHaveLength(2);
    const requests = logs.requests.length;

    clock.now = new Date(NOW.getTime() + BACKOFF_STEP_MS - 1);
    expect(await redriveParked(redriveDeps())).toMatchObject({ parked: 2, due: 0, delivered: 0 });
    expect(logs.requests.length).toBe(requests);

    clock.now = new Date(NOW.getTime() + BACKOFF_STEP_MS);
    expect(await redriveParked(redriveDeps())).toMatchObject({ parked: 2, due: 1, delivered: 1 });
    expect(eventsInLogs(logs)).toEqual(sorted(eventsOf(bodies.slice(0, 4))));
    const [left] = parkedLogs(parking);
    expect(left!.origin.firstSequenceNumber).toBe(200);

    clock.now = new Date(NOW.getTime() + 45_000 + BACKOFF_STEP_MS);
    expect(await redriveParked(redriveDeps())).toMatchObject({ parked: 1, due: 1, delivered: 1 });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    expect(parking.items.size).toBe(0);
  });

  it('reschedules what fails again, with the attempt counted, a longer wait and the new error', async () => {
    const { logs, parking, clock, redriveDeps } = await parkedBatch({ status: 429 });
    const [before] = parkedLogs(parking);
    expect(before!.lastError.status).toBe(429);

    logs.faults.inject(fault.fail(1, 503));
    const at = clock.advance(BACKOFF_STEP_MS);
    expect(await redriveParked(redriveDeps())).toMatchObject({
      due: 1,
      rescheduled: 1,
      delivered: 0,
      gaveUp: 0,
    });
    const [entry] = parking.items.values();
    expect(entry!.item).toMatchObject({
      attempts: 2,
      firstParkedAt: NOW.toISOString(),
      lastError: { status: 503, code: 'Http503', requestId: expect.any(String) },
      rows: before!.rows,
      events: before!.events,
    });
    expect(entry!.nextAttemptAt).toEqual(new Date(at.getTime() + 2 * BACKOFF_STEP_MS));

    clock.advance(2 * BACKOFF_STEP_MS - 1);
    expect(await redriveParked(redriveDeps())).toMatchObject({ due: 0 });
    clock.advance(1);
    expect(await redriveParked(redriveDeps())).toMatchObject({ due: 1, delivered: 1 });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
  });

  it('gives up after maxAttempts: dead-letters every parked row and line as redrive, with the last error', async () => {
    const { logs, archive, parking, deadLetters, clock, redriveDeps } = await parkedBatch({ archive: true });
    logs.faults.inject(fault.fail(Infinity, 503));
    archive.faults.inject(fault.fail(Infinity, 500));
    const items = parkedItems(parking).length;
    const rows = parkedRows(parking);
    const deps = redriveDeps({ maxAttempts: 3, maxAgeMs: 1_000 * HOUR });

    clock.advance(HOUR);
    expect(await redriveParked(deps)).toMatchObject({ due: items, rescheduled: items, gaveUp: 0 });
    expect(deadLetters.records()).toEqual([]);
    clock.advance(HOUR);
    expect(await redriveParked(deps)).toMatchObject({
      due: items,
      rescheduled: 0,
      gaveUp: items,
      rowsDeadLettered: rows.length + expected.length,
    });
    expect(parking.items.size).toBe(0);

    const records = deadLetters.records();
    for (const record of records) {
      expect(record).toMatchObject({
        stage: 'redrive',
        partitionId: '0',
        sequenceNumber: 100,
        encoding: 'utf8',
      });
      expect(record.reason).toMatch(
        /^gave up after 3 attempts over 2\.0 h; last error: HTTP 50[03] Http50[03]/,
      );
    }
    // Nothing lost: the logs dead letters hold every row, the archive ones every original line.
    const logsRecords = records.filter((r) => r.eventKey !== undefined);
    const archiveRecords = records.filter((r) => r.eventKey === undefined);
    for (const record of logsRecords) {
      const row = JSON.parse(record.body) as LogsRow;
      expect(record).toMatchObject({
        eventKey: row.EventKey,
        dataType: row.DataType,
        failure: { status: 503 },
      });
    }
    const deadRows = logsRecords.map((r) => JSON.parse(r.body) as LogsRow);
    expect(sorted(eventsFromRows(deadRows).values())).toEqual(sorted(expected));
    expect(sorted(archiveRecords.map((r) => r.body))).toEqual(sorted(expected));
    for (const record of archiveRecords) expect(record.failure).toMatchObject({ status: 500 });

    clock.advance(HOUR);
    expect(await redriveParked(deps)).toMatchObject({ parked: 0 });
  });

  it('gives up once an item has been parked longer than maxAgeMs, whatever its attempts', async () => {
    const { logs, parking, deadLetters, clock, redriveDeps } = await parkedBatch();
    logs.faults.inject(fault.throttle(Infinity));
    const rows = parkedRows(parking);
    clock.advance(3 * HOUR);
    const report = await redriveParked(redriveDeps({ maxAttempts: 100, maxAgeMs: 2 * HOUR }));
    expect(report).toMatchObject({ due: 1, gaveUp: 1, rescheduled: 0, rowsDeadLettered: rows.length });
    expect(parking.items.size).toBe(0);
    const records = deadLetters.records();
    expect(records).toHaveLength(rows.length);
    for (const record of records) {
      expect(record.stage).toBe('redrive');
      expect(record.reason).toMatch(
        /^gave up after 2 attempts over 3\.0 h; last error: HTTP 429 TooManyRequests/,
      );
      expect(record.failure).toMatchObject({ status: 429, code: 'TooManyRequests' });
    }
  });

  it('dead-letters a row refused during the redrive and delivers the rest', async () => {
    const all = [...bodies, JSON.stringify(POISONED)];
    const { logs, parking, deadLetters, clock, redriveDeps } = await parkedBatch({ bodies: all });
    logs.faults.inject(fault.refuseRows(isPoisoned, 400));
    const rows = parkedRows(parking);
    const poisonRow = rows.find((row) => JSON.stringify(row.Properties).includes('POISON'))!;

    clock.advance(BACKOFF_STEP_MS);
    expect(await redriveParked(redriveDeps())).toMatchObject({
      due: 1,
      delivered: 1,
      rescheduled: 0,
      rowsDelivered: rows.length - 1,
      rowsDeadLettered: 1,
    });
    expect(parking.items.size).toBe(0);
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    const records = deadLetters.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      stage: 'redrive',
      eventKey: poisonRow.EventKey,
      dataType: 'Alert',
      failure: { status: 400, code: 'InvalidRecord', requestId: expect.any(String) },
    });
    expect(JSON.parse(records[0]!.body)).toEqual(poisonRow);
    expect(records[0]!.reason).toMatch(
      new RegExp(`^Logs Ingestion refused part 1 of 1 for ${LOGS}: HTTP 400`),
    );
  });

  it('keeps refused, delivered and still-failing rows apart when all three happen in one attempt', async () => {
    const all = [...bodies, JSON.stringify(POISONED)];
    const { logs, parking, deadLetters, clock, redriveDeps } = await parkedBatch({ bodies: all });
    const rows = parkedRows(parking);
    logs.faults.inject(fault.refuseRows(isPoisoned, 413));
    logs.faults.inject(fault.fail(1, 503));

    clock.advance(BACKOFF_STEP_MS);
    const report = await redriveParked(redriveDeps());
    expect(report).toMatchObject({ due: 1, rescheduled: 1, rowsDeadLettered: 1 });
    const [left] = parkedLogs(parking);
    const leftRows = left!.rows.map((row) => JSON.parse(row) as LogsRow);
    expect(leftRows.length).toBeGreaterThan(0);
    expect(leftRows.some((row) => isPoisoned(row as unknown as Record<string, unknown>))).toBe(false);
    expect(left).toMatchObject({ attempts: 2, events: new Set(leftRows.map((r) => r.EventKey)).size });
    expect(report.rowsDelivered + leftRows.length + 1).toBe(rows.length);
    expect(deadLetters.records()).toHaveLength(1);

    clock.advance(2 * BACKOFF_STEP_MS);
    expect(await redriveParked(redriveDeps())).toMatchObject({
      due: 1,
      delivered: 1,
      rowsDelivered: leftRows.length,
    });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    expect(parking.items.size).toBe(0);
  });

  describe('an item changed by another run between list and read', () => {
    /** A parking store over the memory one where another redrive acts on an item just before this one reads it. */
    class RacingParking implements ParkingStore {
      constructor(
        private readonly inner: MemoryParkingStore,
        private readonly otherRun: (name: string) => Promise<void>,
      ) {}
      park(item: ParkedItem, nextAttemptAt: Date) {
        return this.inner.park(item, nextAttemptAt);
      }
      list() {
        return this.inner.list();
      }
      async read(ref: ParkedRef) {
        await this.otherRun(ref.name);
        return this.inner.read(ref);
      }
      reschedule(ref: ParkedRef, item: ParkedItem, nextAttemptAt: Date) {
        return this.inner.reschedule(ref, item, nextAttemptAt);
      }
      remove(ref: ParkedRef) {
        return this.inner.remove(ref);
      }
    }

    const current = async (parking: MemoryParkingStore, name: string) => {
      for await (const ref of parking.list()) if (ref.name === name) return ref;
      throw new Error(`${name} is not parked`);
    };

    it('is skipped when the other run rescheduled it (etag changed)', async () => {
      const { logs, parking, deadLetters, clock, redriveDeps } = await parkedBatch();
      const [name] = parking.items.keys();
      const later = new Date(NOW.getTime() + 10 * HOUR);
      const racing = new RacingParking(parking, async (n) => {
        const ref = await current(parking, n);
        const item = await parking.read(ref);
        await parking.reschedule(ref, { ...item, attempts: item.attempts + 1 }, later);
      });
      const requests = logs.requests.length;

      clock.advance(BACKOFF_STEP_MS);
      expect(await redriveParked(redriveDeps({ parking: racing }))).toMatchObject({
        due: 1,
        skipped: 1,
        delivered: 0,
        rescheduled: 0,
        gaveUp: 0,
      });
      expect(logs.requests.length).toBe(requests);
      expect(deadLetters.records()).toEqual([]);
      // The other run's version stands.
      expect(parking.items.get(name!)).toMatchObject({ item: { attempts: 2 }, nextAttemptAt: later });
    });

    it('is skipped when the other run removed it', async () => {
      const { logs, parking, deadLetters, clock, redriveDeps } = await parkedBatch();
      const racing = new RacingParking(parking, async (n) => parking.remove(await current(parking, n)));
      const requests = logs.requests.length;

      clock.advance(BACKOFF_STEP_MS);
      expect(await redriveParked(redriveDeps({ parking: racing }))).toMatchObject({ due: 1, skipped: 1 });
      expect(logs.requests.length).toBe(requests);
      expect(deadLetters.records()).toEqual([]);
    });
  });
});
