import { describe, expect, it } from 'vitest';
import { workload } from '../../dev/workload';
import { ingestBatch } from '../../lib/ingest';
import { fault } from '../../lib/memory';
import { MAX_REQUEST_BYTES } from '../../lib/outbox/logsOutbox';
import { BatchFault, processBatch, type Batch } from '../../lib/pipeline';
import type { ArchiveMetadata, ArchiveSink, LogsSink } from '../../lib/ports';
import { normalizeMessage } from '../../lib/records/normalize';
import type { LogsRow, RowIdentity } from '../../lib/records/row';
import { createRouter, type Router } from '../../lib/routing/route';
import { DEFAULT_ROUTES, type Rule } from '../../lib/routing/rules';
import { batchOf, eventHubSampleBodies } from '../helpers/batches';
import { alertWithEntities } from '../helpers/events';
import {
  BACKOFF_STEP_MS,
  eventsFromRows,
  eventsInLogs,
  expectBalanced,
  LOGS,
  memoryPipeline,
  NOW,
  parkedArchive,
  parkedLogs,
  RECORD_LIMIT,
  rowsOf,
  sorted,
  STREAM,
} from '../helpers/memoryDeps';
import { eventsOf } from '../helpers/samples';

/** The batch, message and enqueued time batchOf gives every message. */
const ENQUEUED = '2026-11-24T10:15:00.000Z';
const FIRST_SEQUENCE = 100;

const bodies = eventHubSampleBodies();
const expected = eventsOf(bodies);

/** Each event of `bodies` with the identity the pipeline gives it (for routing expectations). */
function identities(list: readonly unknown[]): Array<{ json: string; identity: RowIdentity }> {
  return list.flatMap((body) =>
    normalizeMessage(body, { enqueuedTimeUtc: ENQUEUED }).events.map((e) => ({
      json: JSON.stringify(e.event),
      identity: e.identity,
    })),
  );
}

const POISONED = { SystemAlertId: 'poisoned-1', AlertType: 'X', AlertDisplayName: 'POISON' };
const isPoisoned = (row: Record<string, unknown>) => JSON.stringify(row.Properties).includes('POISON');

/** A LogsSink that delegates to the memory sink and records each request's size and how many ran at once. */
class MeasuringSink implements LogsSink {
  inFlight = 0;
  maxInFlight = 0;
  readonly bodyBytes: number[] = [];
  constructor(private readonly inner: LogsSink) {}
  async upload(stream: string, body: Buffer): Promise<void> {
    this.bodyBytes.push(body.length);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.inner.upload(stream, body);
    } finally {
      this.inFlight--;
    }
  }
}

/** An ArchiveSink that delegates to the memory archive and records what each create answered. */
class AnsweringArchive implements ArchiveSink {
  readonly answers: Array<'created' | 'exists'> = [];
  constructor(private readonly inner: ArchiveSink) {}
  async create(name: string, content: Buffer, metadata: ArchiveMetadata) {
    const answer = await this.inner.create(name, content, metadata);
    this.answers.push(answer);
    return answer;
  }
}

describe('processBatch against the in-memory sinks', () => {
  it('delivers every event, an oversized one split, to logs and archive, and accounts for all', async () => {
    const { deps, logs, archive, parking, deadLetters } = memoryPipeline();
    const oversized = JSON.stringify(alertWithEntities(400));
    const all = [...bodies, oversized];
    const ledger = await processBatch(batchOf(all), deps);

    const events = eventsOf(all);
    expectBalanced(ledger);
    expect(ledger).toMatchObject({
      messages: all.length,
      received: events.length,
      invalid: 0,
      dropped: 0,
      routed: events.length,
      split: 1,
      parkedBlobs: 0,
      deadLetterBlobs: 0,
    });
    expect(ledger.parts).toBeGreaterThan(1);
    expect(ledger.destinations[LOGS]).toEqual({
      routed: events.length,
      delivered: events.length,
      parked: 0,
      deadLettered: 0,
    });
    expect(ledger.destinations.archive).toEqual({
      routed: events.length,
      delivered: events.length,
      parked: 0,
      deadLettered: 0,
    });
    expect(eventsInLogs(logs, STREAM)).toEqual(sorted(events));
    for (const row of rowsOf(logs))
      expect(Buffer.byteLength(JSON.stringify(row))).toBeLessThanOrEqual(RECORD_LIMIT);
    expect(sorted(archive.lines())).toEqual(sorted(events));
    const split = rowsOf(logs).find((row) => row.PartCount > 1)!;
    expect(archive.blobs.has(split.ArchiveBlob)).toBe(true);
    expect(archive.lines(split.ArchiveBlob)).toContain(oversized);
    expect(parking.items.size).toBe(0);
    expect(deadLetters.records()).toEqual([]);
  });

  it.each([
    ['throttled beyond retries', fault.throttle(1), 429, 'TooManyRequests'],
    ['failing with 503', fault.fail(1, 503), 503, 'Http503'],
    ['failing with 500', fault.fail(1, 500), 500, 'Http500'],
  ])(
    'parks the logs rows when Logs Ingestion is %s, and still archives',
    async (_, injected, status, code) => {
      const { deps, logs, archive, parking } = memoryPipeline();
      logs.faults.inject(injected);
      const ledger = await processBatch(batchOf(bodies), deps);

      expectBalanced(ledger);
      expect(ledger.destinations[LOGS]).toMatchObject({
        routed: expected.length,
        delivered: 0,
        parked: expected.length,
        deadLettered: 0,
        failure: { status, code, requestId: expect.any(String) },
      });
      expect(ledger.destinations.archive).toMatchObject({ delivered: expected.length, parked: 0 });
      expect(sorted(archive.lines())).toEqual(sorted(expected));
      expect(logs.rows()).toEqual([]);

      const [item, ...others] = parkedLogs(parking);
      expect(others).toEqual([]);
      expect(item).toMatchObject({
        destination: 'logs',
        stream: STREAM,
        attempts: 1,
        events: expected.length,
        firstParkedAt: NOW.toISOString(),
        origin: { source: 'defender-cloud', partitionId: '0', firstSequenceNumber: FIRST_SEQUENCE },
        lastError: { status, code, requestId: ledger.destinations[LOGS]!.failure!.requestId },
      });
      // Nothing lost: the parked rows are the events, whole.
      const parkedEvents = eventsFromRows(item!.rows.map((json) => JSON.parse(json) as LogsRow));
      expect(sorted(parkedEvents.values())).toEqual(sorted(expected));
      const [entry] = parking.items.values();
      expect(entry!.nextAttemptAt).toEqual(new Date(NOW.getTime() + BACKOFF_STEP_MS));
      expect(ledger.parkedBlobs).toBe(1);
    },
  );

  it('parks the archive share with its lines when the archive fails, and still delivers to logs', async () => {
    const { deps, logs, archive, parking } = memoryPipeline();
    archive.faults.inject(fault.fail(Infinity, 503));
    const ledger = await processBatch(batchOf(bodies), deps);

    expectBalanced(ledger);
    expect(ledger.destinations[LOGS]).toMatchObject({ delivered: expected.length, parked: 0 });
    expect(ledger.destinations.archive).toMatchObject({
      routed: expected.length,
      delivered: 0,
      parked: expected.length,
      failure: { status: 503, code: 'Http503', requestId: expect.any(String) },
    });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    expect(archive.blobs.size).toBe(0);

    const items = parkedArchive(parking);
    expect(sorted(items.flatMap((item) => item.lines))).toEqual(sorted(expected));
    expect(new Set(items.map((item) => item.blobName)).size).toBe(items.length);
    for (const item of items) {
      expect(item.events).toBe(item.lines.length);
      expect(item.lastError).toMatchObject({ status: 503 });
      expect(item.blobName).toMatch(/\/y=2026\/m=11\/d=24\/h=10\/defender-cloud-p0-\d+-\d+\.ndjson\.gz$/);
    }
    expect(ledger.parkedBlobs).toBe(items.length);
  });

  it('parks only the blob that failed: the other data types are archived', async () => {
    const { deps, archive, parking } = memoryPipeline();
    archive.faults.inject({
      ...fault.fail(Infinity, 503),
      when: (name: string) => name.startsWith('alert/'),
    });
    const ledger = await processBatch(batchOf(bodies), deps);

    const alerts = identities(bodies).filter((e) => e.identity.DataType === 'Alert');
    expect(alerts.length).toBeGreaterThan(0);
    expectBalanced(ledger);
    expect(ledger.destinations.archive).toMatchObject({
      delivered: expected.length - alerts.length,
      parked: alerts.length,
    });
    const [item, ...others] = parkedArchive(parking);
    expect(others).toEqual([]);
    expect(sorted(item!.lines)).toEqual(sorted(alerts.map((a) => a.json)));
    expect(sorted(archive.lines())).toEqual(sorted(expected.filter((e) => !item!.lines.includes(e))));
  });

  it.each([
    [400, 'InvalidRecord'],
    [413, 'ContentLengthLimitExceeded'],
  ])('dead-letters only the event whose row is refused with %i', async (status, code) => {
    const { deps, logs, archive, parking, deadLetters } = memoryPipeline();
    logs.faults.inject(fault.refuseRows(isPoisoned, status));
    const all = [...bodies, JSON.stringify(POISONED)];
    const ledger = await processBatch(batchOf(all), deps);

    expectBalanced(ledger);
    const routed = expected.length + 1;
    expect(ledger.destinations[LOGS]).toMatchObject({
      routed,
      delivered: routed - 1,
      parked: 0,
      deadLettered: 1,
      failure: { status, code, requestId: expect.any(String) },
    });
    expect(ledger.destinations.archive).toMatchObject({ delivered: routed });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    expect(archive.lines()).toContain(JSON.stringify(POISONED));
    expect(parking.items.size).toBe(0);

    const records = deadLetters.records();
    expect(records).toHaveLength(1);
    const [poisoned] = identities([JSON.stringify(POISONED)]);
    expect(records[0]).toMatchObject({
      stage: 'logs',
      body: JSON.stringify(POISONED),
      encoding: 'utf8',
      partitionId: '0',
      sequenceNumber: FIRST_SEQUENCE + all.length - 1,
      enqueuedTimeUtc: ENQUEUED,
      offset: String(4096 * (FIRST_SEQUENCE + all.length - 1)),
      index: 0,
      eventKey: poisoned!.identity.EventKey,
      dataType: 'Alert',
      failure: { status, code, requestId: expect.any(String) },
    });
    expect(records[0]!.reason).toMatch(
      new RegExp(`^Logs Ingestion refused part 1 of 1 for ${LOGS}: HTTP ${status} ${code}`),
    );
    // The first failure met: the whole request's refusal, before halving isolated the row.
    expect(ledger.destinations[LOGS]!.failure).toEqual({
      ...records[0]!.failure,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(ledger.destinations[LOGS]!.failure!.requestId).not.toBe(records[0]!.failure!.requestId);
    expect(ledger.deadLetterBlobs).toBe(1);
    expect(ledger.deadLetterReasons).toEqual([`logs: ${records[0]!.reason}`]);
  });

  it('dead-letters a split event once when parts are refused, and parks none of its other parts', async () => {
    const { deps, logs, archive, parking, deadLetters } = memoryPipeline();
    const oversized = JSON.stringify(alertWithEntities(400));
    const isSplit = (row: Record<string, unknown>) => (row.PartCount as number) > 1;
    // Parts 2 and 3 are refused; requests holding any other part of the event fail for a passing reason.
    logs.faults.inject(fault.refuseRows((row) => isSplit(row) && [1, 2].includes(row.PartIndex as number)));
    logs.faults.inject({
      status: 503,
      code: 'ServerBusy',
      times: Infinity,
      when: (rows) => rows.some(isSplit),
    });
    const all = [...bodies, oversized];
    const ledger = await processBatch(batchOf(all), deps);

    expectBalanced(ledger);
    expect(ledger.split).toBe(1);
    expect(ledger.parts).toBeGreaterThanOrEqual(3);
    const d = ledger.destinations[LOGS]!;
    expect(d.deadLettered).toBe(1);
    expect(d.failure).toMatchObject({ status: 400, code: 'InvalidRecord' });

    const records = deadLetters.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ stage: 'logs', body: oversized, index: 0, dataType: 'Alert' });
    expect(records[0]!.reason).toMatch(new RegExp(`refused part [23] of ${ledger.parts} for ${LOGS}`));
    const splitKey = records[0]!.eventKey;

    // None of its parts wait in parking; neighbours that shared a failed request do, and are counted as parked.
    const parkedRows = parkedLogs(parking).flatMap((item) => item.rows.map((r) => JSON.parse(r) as LogsRow));
    expect(parkedRows.filter((row) => row.EventKey === splitKey)).toEqual([]);
    expect(new Set(parkedRows.map((row) => row.EventKey)).size).toBe(d.parked);
    // Every other event is delivered or parked: nothing lost.
    const delivered = [...eventsFromRows(rowsOf(logs).filter((row) => row.EventKey !== splitKey)).values()];
    const parked = [...eventsFromRows(parkedRows).values()];
    expect(sorted([...delivered, ...parked])).toEqual(sorted(expected));
    expect(d.delivered).toBe(delivered.length);
    // The original is archived whole, where its rows point.
    expect(archive.lines()).toContain(oversized);
  });

  describe('routing rules', () => {
    const run = async (rules: Rule[]) => {
      const pipeline = memoryPipeline({ rules });
      const ledger = await processBatch(batchOf(bodies), pipeline.deps);
      expectBalanced(ledger);
      return { ...pipeline, ledger };
    };
    const events = identities(bodies);
    const jsonOf = (predicate: (identity: RowIdentity) => boolean) =>
      sorted(events.filter((e) => predicate(e.identity)).map((e) => e.json));

    it('drops what a drop rule matches, and counts it as dropped', async () => {
      const { ledger, logs, archive, deadLetters } = await run([
        { match: { dataTypes: ['XdrEvent'] }, to: ['drop'] },
        { to: ['logs', 'archive'] },
      ]);
      const xdr = jsonOf((i) => i.DataType === 'XdrEvent');
      expect(xdr.length).toBeGreaterThan(0);
      expect(ledger).toMatchObject({ dropped: xdr.length, routed: expected.length - xdr.length, invalid: 0 });
      expect(ledger.destinations[LOGS]).toMatchObject({ routed: expected.length - xdr.length });
      expect(eventsInLogs(logs)).toEqual(jsonOf((i) => i.DataType !== 'XdrEvent'));
      expect(sorted(archive.lines())).toEqual(jsonOf((i) => i.DataType !== 'XdrEvent'));
      expect(deadLetters.records()).toEqual([]);
    });

    it('sends an archive-only type to the archive and not to logs', async () => {
      const { ledger, logs, archive } = await run([
        { match: { dataTypes: ['RegulatoryCompliance'] }, to: ['archive'] },
        { to: ['logs', 'archive'] },
      ]);
      const compliance = jsonOf((i) => i.DataType === 'RegulatoryCompliance');
      expect(compliance.length).toBeGreaterThan(0);
      expect(ledger.routed).toBe(expected.length);
      expect(ledger.destinations[LOGS]).toMatchObject({
        routed: expected.length - compliance.length,
        delivered: expected.length - compliance.length,
      });
      expect(ledger.destinations.archive).toMatchObject({
        routed: expected.length,
        delivered: expected.length,
      });
      expect(eventsInLogs(logs)).toEqual(jsonOf((i) => i.DataType !== 'RegulatoryCompliance'));
      expect(sorted(archive.lines())).toEqual(sorted(expected));
      expect(rowsOf(logs).some((row) => row.DataType === 'RegulatoryCompliance')).toBe(false);
    });

    it('sends the rows to two streams, each accounted for on its own', async () => {
      const { ledger, logs, archive } = await run([
        { match: { dataTypes: ['Alert'] }, to: ['logs', 'logs:Custom-Alerts'] },
        { to: ['logs'] },
      ]);
      const alerts = jsonOf((i) => i.DataType === 'Alert');
      expect(ledger.destinations[LOGS]).toMatchObject({
        routed: expected.length,
        delivered: expected.length,
      });
      expect(ledger.destinations['logs:Custom-Alerts']).toMatchObject({
        routed: alerts.length,
        delivered: alerts.length,
      });
      expect(ledger.destinations.archive).toBeUndefined();
      expect(eventsInLogs(logs, STREAM)).toEqual(sorted(expected));
      expect(eventsInLogs(logs, 'Custom-Alerts')).toEqual(alerts);
      expect(archive.blobs.size).toBe(0);
    });

    it('sends only events at or above minSeverity to logs', async () => {
      const { ledger, logs, archive } = await run([
        { match: { minSeverity: 'Low' }, to: ['logs', 'archive'] },
        { to: ['archive'] },
      ]);
      const atLeastLow = (i: RowIdentity) => ['Low', 'Medium', 'High'].includes(i.Severity);
      const kept = jsonOf(atLeastLow);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(expected.length);
      expect(events.some((e) => e.identity.Severity === 'Informational')).toBe(true);
      expect(ledger.destinations[LOGS]).toMatchObject({ routed: kept.length, delivered: kept.length });
      expect(eventsInLogs(logs)).toEqual(kept);
      expect(rowsOf(logs).map((row) => row.Severity)).not.toContain('Informational');
      expect(rowsOf(logs).map((row) => row.Severity)).not.toContain('');
      expect(sorted(archive.lines())).toEqual(sorted(expected));
    });
  });

  it('dead-letters malformed bodies as input with their reasons, and delivers their neighbours', async () => {
    const { deps, logs, archive, deadLetters } = memoryPipeline();
    const good = { SystemAlertId: 'in-an-envelope', AlertType: 'X', AlertDisplayName: 'beside a number' };
    const malformed = [
      '{"VendorName": "Microsoft", "AlertType": ',
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      JSON.stringify({ records: 'not an array' }),
      JSON.stringify({ AlertType: 'X', VendorName: 'Microsoft' }),
      JSON.stringify([good, 42]),
    ];
    const all = [...malformed, ...bodies];
    const ledger = await processBatch(batchOf(all), deps);

    const deliverable = [JSON.stringify(good), ...expected];
    expectBalanced(ledger);
    expect(ledger).toMatchObject({
      invalid: 5,
      routed: deliverable.length,
      received: deliverable.length + 5,
    });
    expect(eventsInLogs(logs)).toEqual(sorted(deliverable));
    expect(sorted(archive.lines())).toEqual(sorted(deliverable));

    const records = deadLetters.records();
    expect(
      records.map((r) => [r.stage, r.sequenceNumber, r.encoding, r.index, r.reason.split(':')[0]]),
    ).toEqual([
      ['input', 100, 'utf8', undefined, 'body is not valid JSON'],
      ['input', 101, 'base64', undefined, 'body is not valid UTF-8 (first bad byte at offset 2)'],
      ['input', 102, 'utf8', undefined, 'envelope field "records" is a string, not an array'],
      ['input', 103, 'utf8', 0, 'Alert lacks SystemAlertId'],
      ['input', 104, 'utf8', 1, 'element[1] is a number, not an object'],
    ]);
    expect(records[0]!.body).toBe(malformed[0]);
    expect(Buffer.from(records[1]!.body, 'base64')).toEqual(malformed[1]);
    expect(records[3]!.body).toBe(malformed[3]);
    expect(records[4]!.body).toBe('42');
    // The ledger's log line says why, without opening the blob.
    expect(ledger.deadLetterReasons).toEqual(records.map((r) => `input: ${r.reason}`));
  });

  describe('when a store fails, processBatch rejects so the host runs the batch again', () => {
    it('rejects when parking fails, reports nothing, and the retry parks the rows', async () => {
      const { deps, logs, parking } = memoryPipeline();
      logs.faults.inject(fault.fail(2, 503));
      parking.faults.inject(fault.fail(1, 503));
      const lines: string[] = [];
      const log = (_level: string, line: string) => void lines.push(line);
      const batch = batchOf(bodies);

      await expect(ingestBatch(batch, deps, log)).rejects.toMatchObject({ statusCode: 503 });
      expect(lines).toEqual([]);
      expect(parking.items.size).toBe(0);

      const ledger = await ingestBatch(batch, deps, log);
      expectBalanced(ledger);
      expect(ledger.destinations[LOGS]).toMatchObject({ parked: expected.length });
      expect(ledger.destinations.archive).toMatchObject({ delivered: expected.length });
      expect(parkedLogs(parking)).toHaveLength(1);
      expect(lines).toHaveLength(1);
    });

    it('rejects when the dead-letter store fails, reports nothing, and the retry writes the dead letters', async () => {
      const { deps, deadLetters } = memoryPipeline();
      deadLetters.faults.inject(fault.fail(1, 500));
      const lines: string[] = [];
      const log = (_level: string, line: string) => void lines.push(line);
      const batch = batchOf(['{"broken":', ...bodies]);

      await expect(ingestBatch(batch, deps, log)).rejects.toMatchObject({ statusCode: 500 });
      expect(lines).toEqual([]);
      expect(deadLetters.records()).toEqual([]);

      const ledger = await ingestBatch(batch, deps, log);
      expectBalanced(ledger);
      expect(ledger).toMatchObject({ invalid: 1, deadLetterBlobs: 1 });
      expect(deadLetters.records()).toHaveLength(1);
    });
  });

  it('delivers every event when the heartbeat store fails, and counts the failures', async () => {
    const control = memoryPipeline();
    await processBatch(batchOf(bodies), control.deps);
    const sightings = control.heartbeat.seen.size;
    expect(sightings).toBeGreaterThan(0);

    const { deps, logs, archive, heartbeat } = memoryPipeline();
    heartbeat.faults.inject(fault.fail(Infinity, 503));
    const ledger = await processBatch(batchOf(bodies), deps);
    expectBalanced(ledger);
    expect(ledger.heartbeatFailures).toBe(sightings);
    expect(ledger.destinations[LOGS]).toMatchObject({ delivered: expected.length });
    expect(ledger.destinations.archive).toMatchObject({ delivered: expected.length });
    expect(eventsInLogs(logs)).toEqual(sorted(expected));
    expect(sorted(archive.lines())).toEqual(sorted(expected));
    expect(heartbeat.seen.size).toBe(0);
  });

  it('writes no archive blob twice when the same batch comes again, and logs get the same EventKeys', async () => {
    const pipeline = memoryPipeline();
    const archive = new AnsweringArchive(pipeline.archive);
    const deps = { ...pipeline.deps, archive };
    const batch = batchOf([...bodies, '{"broken":']);

    const first = await processBatch(batch, deps);
    const blobs = new Map(pipeline.archive.blobs);
    const firstKeys = rowsOf(pipeline.logs).map((row) => row.EventKey);
    expect(archive.answers.length).toBeGreaterThan(0);
    expect(archive.answers.every((a) => a === 'created')).toBe(true);
    archive.answers.length = 0;

    const again = await processBatch(batch, deps);
    expectBalanced(first);
    expectBalanced(again);
    expect(again.destinations.archive).toMatchObject({ delivered: again.routed, parked: 0 });
    expect(archive.answers).toEqual(Array(blobs.size).fill('exists'));
    expect([...pipeline.archive.blobs.keys()]).toEqual([...blobs.keys()]);
    for (const [name, blob] of blobs) expect(pipeline.archive.blobs.get(name)!.content).toBe(blob.content);
    // Logs get the rows again, with the same EventKeys, so queries can drop the duplicates.
    const allKeys = rowsOf(pipeline.logs).map((row) => row.EventKey);
    expect(allKeys).toHaveLength(2 * firstKeys.length);
    expect(sorted(allKeys.slice(firstKeys.length))).toEqual(sorted(firstKeys));
    // The dead letter of the broken body is written once.
    expect(pipeline.deadLetters.blobs.size).toBe(1);
  });

  describe('logs requests', () => {
    /** About 2.2 MB of generated events of every type, each well under the record limit, for logs only. */
    const generated = [...workload({ count: 440, bytes: 5_000, seed: 11 })];
    const logsOnly: Rule[] = [{ to: ['logs'] }];

    it('are cut below 1 MB and carry every row', async () => {
      const pipeline = memoryPipeline({ rules: logsOnly });
      const measuring = new MeasuringSink(pipeline.logs);
      const ledger = await processBatch(batchOf(generated), { ...pipeline.deps, logs: measuring });

      expectBalanced(ledger);
      expect(ledger.destinations[LOGS]).toMatchObject({
        routed: generated.length,
        delivered: generated.length,
      });
      const total = measuring.bodyBytes.reduce((a, b) => a + b, 0);
      expect(measuring.bodyBytes.length).toBeGreaterThanOrEqual(3);
      for (const bytes of measuring.bodyBytes) expect(bytes).toBeLessThan(MAX_REQUEST_BYTES);
      // Cut as they fill, not into needlessly many small requests.
      expect(measuring.bodyBytes.length).toBeLessThanOrEqual(Math.ceil(total / (MAX_REQUEST_BYTES - 10_000)));
      expect(pipeline.logs.requests.reduce((n, r) => n + r.rows, 0)).toBe(generated.length);
      expect(pipeline.logs.requests.every((r) => r.status === 204)).toBe(true);
      expect(eventsInLogs(pipeline.logs)).toEqual(sorted(eventsOf(generated)));
    });

    it('keep no more than maxRequestsInFlight in flight', async () => {
      // Each request answers long after the next could be ready, so only the limit holds them back.
      const pipeline = memoryPipeline({ rules: logsOnly });
      pipeline.logs.faults.inject(fault.slow(150, Infinity));
      const measuring = new MeasuringSink(pipeline.logs);
      const ledger = await processBatch(batchOf(generated), {
        ...pipeline.deps,
        logs: measuring,
        maxRequestsInFlight: 2,
      });

      expectBalanced(ledger);
      expect(ledger.destinations[LOGS]).toMatchObject({ delivered: generated.length });
      expect(measuring.bodyBytes.length).toBeGreaterThan(2);
      expect(measuring.maxInFlight).toBe(2);
    });

    it("the ledger's failure is the first failure met, when requests fail in turn", async () => {
      const pipeline = memoryPipeline({ rules: logsOnly, overrides: { maxRequestsInFlight: 1 } });
      pipeline.logs.faults.inject(fault.throttle(1));
      pipeline.logs.faults.inject(fault.fail(1, 500));
      const events = generated.slice(0, 240); // two requests
      const ledger = await processBatch(batchOf(events), pipeline.deps);

      expectBalanced(ledger);
      const items = parkedLogs(pipeline.parking);
      expect(items.map((item) => item.lastError.status).sort()).toEqual([429, 500]);
      const throttled = items.find((item) => item.lastError.status === 429)!;
      expect(ledger.destinations[LOGS]!.failure).toEqual(throttled.lastError);
      expect(ledger.destinations[LOGS]!.parked).toBe(items.reduce((n, item) => n + item.events, 0));
      expect(pipeline.logs.requests.map((r) => r.status)).toEqual([429, 500]);
      expect(ledger.destinations[LOGS]!.parked).toBe(events.length);
    });

    it('the ledger has no failure when everything was delivered', async () => {
      const { deps } = memoryPipeline();
      const ledger = await processBatch(batchOf(bodies), deps);
      expect(ledger.destinations[LOGS]!.failure).toBeUndefined();
      expect(ledger.destinations.archive!.failure).toBeUndefined();
    });
  });

  describe('a fault in our own code (a router that throws for one event)', () => {
    const base = createRouter(DEFAULT_ROUTES, { stream: STREAM, oversize: 'split' });
    const faulty: Router = (identity) => {
      if (identity.DataType === 'SecureScoreControl') throw new TypeError('router bug');
      return base(identity);
    };
    const victim = identities(bodies).find((e) => e.identity.DataType === 'SecureScoreControl')!;
    const batch = (deadLetterFaults: boolean): Batch => ({ ...batchOf(bodies), deadLetterFaults });

    it('fails the batch with a BatchFault on the first attempt, and archives nothing', async () => {
      const { deps, archive, parking, deadLetters } = memoryPipeline({ overrides: { route: faulty } });
      await expect(processBatch(batch(false), deps)).rejects.toBeInstanceOf(BatchFault);
      expect(archive.blobs.size).toBe(0);
      expect(parking.items.size).toBe(0);
      expect(deadLetters.records()).toEqual([]);
    });

    it('dead-letters that event as internal once retried, counts it as a fault (not bad input), and delivers its neighbours', async () => {
      const { deps, logs, archive, parking, deadLetters } = memoryPipeline({ overrides: { route: faulty } });
      const ledger = await processBatch(batch(true), deps);

      const neighbours = expected.filter((json) => json !== victim.json);
      expectBalanced(ledger);
      expect(ledger).toMatchObject({ invalid: 0, faults: 1, routed: neighbours.length });
      expect(eventsInLogs(logs)).toEqual(sorted(neighbours));
      expect(sorted(archive.lines())).toEqual(sorted(neighbours));
      expect(parking.items.size).toBe(0);
      const records = deadLetters.records();
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ stage: 'internal', body: victim.json, index: 0 });
      expect(records[0]!.reason).toMatch(/router bug/);
      expect(ledger.deadLetterReasons).toEqual([`internal: ${records[0]!.reason}`]);
    });
  });
});
