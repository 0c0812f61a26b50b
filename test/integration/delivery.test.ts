import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reassemble, type PartRow } from '../../lib/fit/reassemble';
import { processBatch } from '../../lib/pipeline';
import type { LogsRow } from '../../lib/records/row';
import { redriveParked } from '../../lib/redrive';
import type { DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { batchOf, eventHubSampleBodies } from '../helpers/batches';
import { alertWithEntities } from '../helpers/events';
import { eventsOf } from '../helpers/samples';
import { FAST, readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';

let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

/** The rows the stand-in accepted, put back together per EventKey. */
function acceptedEvents(rows: Array<Record<string, unknown>>): Map<string, string> {
  const byKey = new Map<string, PartRow[]>();
  for (const row of rows as unknown as LogsRow[])
    byKey.set(row.EventKey, [...(byKey.get(row.EventKey) ?? []), row]);
  return new Map([...byKey].map(([key, parts]) => [key, JSON.stringify(reassemble(parts))]));
}

describe('delivery through the real SDKs to Azurite and the https Logs Ingestion stand-in', () => {
  it('delivers every sample and an oversized alert to logs and archive, and the ledger balances', async () => {
    local.logs.reset();
    const env = local.env();
    const deps = await local.deps(env);
    const bodies = [...eventHubSampleBodies(), JSON.stringify(alertWithEntities(400))];
    const ledger = await processBatch(batchOf(bodies), deps);

    const expected = eventsOf(bodies);
    expect(ledger).toMatchObject({
      messages: bodies.length,
      received: expected.length,
      invalid: 0,
      dropped: 0,
      routed: expected.length,
      split: 1,
      problems: [],
      destinations: {
        'logs:Custom-DefenderExport': {
          routed: expected.length,
          delivered: expected.length,
          parked: 0,
          deadLettered: 0,
        },
        archive: { routed: expected.length, delivered: expected.length, parked: 0, deadLettered: 0 },
      },
    });
    const rows = local.logs.accepted('Custom-DefenderExport');
    for (const row of rows) expect(Buffer.byteLength(JSON.stringify(row))).toBeLessThanOrEqual(32_768);
    expect([...acceptedEvents(rows).values()].sort()).toEqual([...expected].sort());

    const archived = await readContainer(deps.archive.container);
    expect(archived.flatMap((b) => b.lines).sort()).toEqual([...expected].sort());
    expect(archived.map((b) => b.name)).toContain(
      'alert/y=2026/m=11/d=24/h=10/defender-cloud-p0-100-' + (99 + bodies.length) + '.ndjson.gz',
    );
    const split = rows.find((r) => (r as unknown as LogsRow).PartCount > 1) as unknown as LogsRow;
    expect(archived.map((b) => b.name)).toContain(split.ArchiveBlob);
  });

  it('rides out 429s with Retry-After through the SDK and delivers everything', async () => {
    local.logs.reset();
    local.logs.inject({ status: 429, code: 'TooManyRequests', times: 2, retryAfterMs: 20 });
    const deps = await local.deps(local.env());
    const ledger = await processBatch(batchOf(eventHubSampleBodies()), deps);
    expect(ledger.destinations['logs:Custom-DefenderExport']).toMatchObject({ parked: 0, deadLettered: 0 });
    expect(local.logs.requests.map((r) => r.status)).toEqual([429, 429, 204]);
  });

  it('parks the rows while the endpoint answers 500, and redrive delivers them once it recovers', async () => {
    local.logs.reset();
    local.logs.inject({ status: 500, code: 'InternalServerError', times: Infinity });
    let now = new Date('2026-11-24T10:20:00Z');
    const deps = await local.deps(local.env(), { ...FAST, clock: () => now });
    const bodies = eventHubSampleBodies();
    const ledger = await processBatch(batchOf(bodies), deps);
    const logs = ledger.destinations['logs:Custom-DefenderExport']!;
    expect(logs).toMatchObject({
      routed: ledger.routed,
      delivered: 0,
      parked: ledger.routed,
      deadLettered: 0,
    });
    expect(ledger.destinations.archive).toMatchObject({ delivered: ledger.routed, parked: 0 });
    expect(ledger.problems).toEqual([]);
    const [parked] = await readContainer(deps.parking.container);
    expect(JSON.parse(parked!.lines[0]!)).toMatchObject({
      destination: 'logs',
      attempts: 1,
      lastError: { status: 500, code: 'InternalServerError' },
    });

    // Not due yet: the backoff is one minute.
    expect(await redriveParked(deps)).toMatchObject({ parked: 1, due: 0 });
    local.logs.clearFaults();
    now = new Date(now.getTime() + 61_000);
    expect(await redriveParked(deps)).toMatchObject({
      parked: 1,
      due: 1,
      delivered: 1,
      rowsDelivered: ledger.routed,
    });
    expect(await readContainer(deps.parking.container)).toEqual([]);
    expect([...acceptedEvents(local.logs.accepted()).values()].sort()).toEqual(eventsOf(bodies).sort());
  });

  it('gives up after REDRIVE_MAX_ATTEMPTS, dead-letters the parked rows with the last error, and removes them', async () => {
    local.logs.reset();
    local.logs.inject({ status: 503, code: 'ServiceUnavailable', times: Infinity });
    let now = new Date('2026-11-24T10:20:00Z');
    const deps = await local.deps(local.env({ REDRIVE_MAX_ATTEMPTS: '3' }), { ...FAST, clock: () => now });
    const ledger = await processBatch(batchOf(eventHubSampleBodies().slice(0, 3)), deps);
    const parked = ledger.destinations['logs:Custom-DefenderExport']!.parked;
    expect(parked).toBe(3);
    const reports = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      now = new Date(now.getTime() + 3_600_000);
      reports.push(await redriveParked(deps));
    }
    expect(reports.map((r) => [r.due, r.rescheduled, r.gaveUp])).toEqual([
      [1, 1, 0],
      [1, 0, 1],
      [0, 0, 0],
    ]);
    expect(await readContainer(deps.parking.container)).toEqual([]);
    const records = (await readContainer(deps.deadLetters.container)).flatMap((b) =>
      b.lines.map((l) => JSON.parse(l) as DeadLetterRecord),
    );
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record).toMatchObject({
        stage: 'redrive',
        failure: { status: 503, code: 'ServiceUnavailable' },
      });
      expect(record.reason).toMatch(
        /^gave up after 3 attempts over 2\.0 h; last error: HTTP 503 ServiceUnavailable/,
      );
      expect(JSON.parse(record.body)).toHaveProperty('EventKey');
    }
  });

  it('dead-letters only the one row the endpoint refuses with 413, with status, code and request id', async () => {
    local.logs.reset();
    local.logs.inject({
      status: 413,
      code: 'ContentLengthLimitExceeded',
      times: Infinity,
      when: (rows) => rows.some((row) => JSON.stringify(row).includes('POISON')),
    });
    const deps = await local.deps(local.env());
    const poisoned = { SystemAlertId: 'poisoned-1', AlertType: 'X', AlertDisplayName: 'POISON' };
    const bodies = [...eventHubSampleBodies(), JSON.stringify(poisoned)];
    const ledger = await processBatch(batchOf(bodies), deps);
    expect(ledger.destinations['logs:Custom-DefenderExport']).toMatchObject({
      delivered: ledger.routed - 1,
      deadLettered: 1,
      parked: 0,
    });
    const [deadLetter] = await readContainer(deps.deadLetters.container);
    const records = deadLetter!.lines.map((line) => JSON.parse(line) as DeadLetterRecord);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      stage: 'logs',
      body: JSON.stringify(poisoned),
      partitionId: '0',
      sequenceNumber: 100 + bodies.length - 1,
      enqueuedTimeUtc: '2026-11-24T10:15:00.000Z',
      failure: {
        status: 413,
        code: 'ContentLengthLimitExceeded',
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    });
    expect(acceptedEvents(local.logs.accepted()).size).toBe(ledger.routed - 1);
  });

  it('writes no new blob when the same batch is delivered twice', async () => {
    local.logs.reset();
    const deps = await local.deps(local.env());
    const batch = batchOf([...eventHubSampleBodies(), '{"broken":']);
    await processBatch(batch, deps);
    const before = [
      ...(await readContainer(deps.archive.container)),
      ...(await readContainer(deps.deadLetters.container)),
    ];
    const again = await processBatch(batch, deps);
    const after = [
      ...(await readContainer(deps.archive.container)),
      ...(await readContainer(deps.deadLetters.container)),
    ];
    expect(after.map((b) => [b.name, b.etag])).toEqual(before.map((b) => [b.name, b.etag]));
    expect(again.destinations.archive).toMatchObject({ delivered: again.routed, parked: 0 });
    // The rows go to Log Analytics again, with the same EventKeys, so queries can drop the duplicates.
    const keys = local.logs.accepted().map((row) => row.EventKey as string);
    expect(new Set(keys).size).toBe(keys.length / 2);
  });

  it('still delivers to logs during a blob outage, and parks the archive share', async () => {
    local.logs.reset();
    const env = local.env();
    const deps = await local.deps(env);
    local.proxy.inject({
      method: 'PUT',
      path: new RegExp(`/${env.ARCHIVE_CONTAINER}/`),
      status: 503,
      code: 'ServerBusy',
    });
    try {
      const ledger = await processBatch(batchOf(eventHubSampleBodies()), deps);
      expect(ledger.destinations['logs:Custom-DefenderExport']).toMatchObject({
        delivered: ledger.routed,
        parked: 0,
      });
      expect(ledger.destinations.archive).toMatchObject({ delivered: 0, parked: ledger.routed });
      expect(ledger.problems).toEqual([]);
      const parked = await readContainer(deps.parking.container);
      expect(parked.map((b) => JSON.parse(b.lines[0]!).destination)).toEqual(
        expect.arrayContaining(['archive']),
      );
      expect(parked.reduce((n, b) => n + (JSON.parse(b.lines[0]!) as { events: number }).events, 0)).toBe(
        ledger.routed,
      );
    } finally {
      local.proxy.clear();
    }
  });

  it('delivers the good events of a batch that also holds malformed ones, and dead-letters those with reasons', async () => {
    local.logs.reset();
    const deps = await local.deps(local.env());
    const good = eventHubSampleBodies();
    const malformed = [
      '{"VendorName": "Microsoft", "AlertType": ',
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      JSON.stringify({ records: 'not an array' }),
      JSON.stringify({ AlertType: 'X', VendorName: 'Microsoft' }),
    ];
    const ledger = await processBatch(batchOf([...malformed, ...good]), deps);
    expect(ledger).toMatchObject({ invalid: 4, routed: eventsOf(good).length, problems: [] });
    expect(acceptedEvents(local.logs.accepted()).size).toBe(eventsOf(good).length);
    const records = (await readContainer(deps.deadLetters.container)).flatMap((b) =>
      b.lines.map((l) => JSON.parse(l) as DeadLetterRecord),
    );
    expect(records.map((r) => [r.sequenceNumber, r.encoding, r.reason.split(':')[0]])).toEqual([
      [100, 'utf8', 'body is not valid JSON'],
      [101, 'base64', 'body is not valid UTF-8 (first bad byte at offset 2)'],
      [102, 'utf8', 'envelope field "records" is a string, not an array'],
      [103, 'utf8', 'Alert lacks SystemAlertId'],
    ]);
    expect(Buffer.from(records[1]!.body, 'base64')).toEqual(malformed[1]);
  });
});
