import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeHealth, readPipelineHealth } from '../../lib/health/pipelineHealth';
import type { ParkedItem } from '../../lib/ports';
import { datePath, gzip } from '../../lib/sinks/blobs';
import { parkedItemJson } from '../../lib/sinks/parking';
import type { DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { HEARTBEAT_TABLE } from '../../lib/state/heartbeat';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function parkedItem(sequenceNumber: number, firstParkedAt: Date): ParkedItem {
  return {
    version: 1,
    origin: {
      source: 'defender-cloud',
      partitionId: '0',
      firstSequenceNumber: sequenceNumber,
      lastSequenceNumber: sequenceNumber,
    },
    destination: 'archive',
    blobName: `alert/batch-${sequenceNumber}.ndjson.gz`,
    lines: [`{"n":${sequenceNumber}}`],
    events: 1,
    attempts: 2,
    firstParkedAt: firstParkedAt.toISOString(),
    lastError: { message: 'HTTP 503', status: 503, code: 'ServiceUnavailable' },
  };
}

function deadLetterRecords(sequenceNumber: number, count: number): DeadLetterRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    stage: 'logs',
    reason: 'Logs Ingestion refused it',
    body: `{"n":${sequenceNumber},"i":${index}}`,
    encoding: 'utf8',
    partitionId: '0',
    sequenceNumber,
    enqueuedTimeUtc: '2026-11-24T10:00:00.000Z',
    index,
  }));
}

const startOfUtcDay = (time: Date) =>
  new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));

describe('pipeline health through the real Blob and Table adapters on Azurite', () => {
  it('reads parked items, the last day of dead letters and the heartbeat back', async () => {
    await local.dropTables([HEARTBEAT_TABLE]);
    const env = local.env();
    const deps = await local.deps(env);
    // Azurite stamps a dead-letter blob's creation with the machine's clock, so this reading uses it too.
    const now = new Date();

    const recent = parkedItem(1, new Date(now.getTime() - 3 * HOUR));
    await deps.parking.park(recent, new Date(now.getTime() + HOUR));
    // Parked before firstparkedat was written: only the date in its name tells when.
    const legacy = parkedItem(2, new Date(now.getTime() - 3 * DAY));
    const legacyName = `archive/${datePath(new Date(legacy.firstParkedAt), false)}/defender-cloud-p0-2-2-legacy.json.gz`;
    const content = await gzip(Buffer.from(parkedItemJson(legacy), 'utf8'));
    await deps.parking.container.getBlockBlobClient(legacyName).upload(content, content.length, {
      blobHTTPHeaders: { blobContentType: 'application/json', blobContentEncoding: 'gzip' },
      metadata: { attempts: '5', nextattemptat: new Date(now.getTime() - HOUR).toISOString() },
    });

    const origin = (n: number) => ({
      source: 'defender-cloud',
      partitionId: '0',
      firstSequenceNumber: n,
      lastSequenceNumber: n,
    });
    await deps.deadLetters.write(origin(10), deadLetterRecords(10, 3));
    await deps.deadLetters.write(origin(11), deadLetterRecords(11, 2));

    expect(
      await deps.heartbeat.record([
        {
          subscriptionId: 'sub-1',
          dataType: 'XdrEvent',
          snapshot: false,
          lastSeen: new Date(now.getTime() - HOUR),
        },
        {
          subscriptionId: 'sub-1',
          dataType: 'Recommendation',
          snapshot: true,
          lastSeen: new Date(now.getTime() - 9 * DAY),
        },
        {
          subscriptionId: 'sub-2',
          dataType: 'Recommendation',
          snapshot: false,
          lastSeen: new Date(now.getTime() - 2 * DAY),
        },
        {
          subscriptionId: 'sub-2',
          dataType: 'Alert',
          snapshot: false,
          lastSeen: new Date(now.getTime() - 5 * DAY),
        },
      ]),
    ).toBe(0);

    const stores = { parking: deps.parking, deadLetters: deps.deadLetters, heartbeat: deps.heartbeat };
    const health = await readPipelineHealth(stores, now);
    expect(health).toEqual({
      checkedAt: now.toISOString(),
      parked: { items: 2, oldest: startOfUtcDay(new Date(legacy.firstParkedAt)).toISOString(), dueNow: 1 },
      deadLetters: { since: new Date(now.getTime() - DAY).toISOString(), blobs: 2, records: 5 },
      dataTypes: [
        { dataType: 'XdrEvent', lastSeen: new Date(now.getTime() - HOUR).toISOString() },
        { dataType: 'Recommendation', lastSeen: new Date(now.getTime() - 2 * DAY).toISOString() },
        { dataType: 'Alert', lastSeen: new Date(now.getTime() - 5 * DAY).toISOString() },
      ],
    });
    expect(await deps.deadLetters.recent(new Date(now.getTime() + HOUR))).toEqual({ blobs: 0, records: 0 });

    const findings = judgeHealth(health, { staleAfterHours: 48, snapshotStaleAfterDays: 8 }, now);
    expect(findings.map((f) => [f.subject, f.status])).toEqual([
      ['parked items', 'fail'],
      ['dead letters', 'warn'],
      ['incoming data', 'pass'],
      ['XdrEvent', 'pass'],
      ['Recommendation', 'pass'],
      ['Alert', 'pass'],
    ]);
    expect(findings[1]!.text).toBe('5 records dead-lettered in the last 24 hours (2 blobs)');

    // A reschedule writes firstparkedat: the legacy blob now tells the exact time.
    const refs = [];
    for await (const ref of deps.parking.list()) refs.push(ref);
    const legacyRef = refs.find((ref) => ref.name === legacyName)!;
    const read = await deps.parking.read(legacyRef);
    await deps.parking.reschedule(legacyRef, { ...read, attempts: 6 }, new Date(now.getTime() + HOUR));
    const after = await readPipelineHealth(stores, now);
    expect(after.parked).toEqual({ items: 2, oldest: legacy.firstParkedAt, dueNow: 0 });
    expect(refs.find((ref) => ref.name !== legacyName)?.firstParkedAt).toEqual(
      new Date(recent.firstParkedAt),
    );
  });
});
