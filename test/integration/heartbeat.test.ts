import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBatch } from '../../lib/pipeline';
import { HEARTBEAT_TABLE, subscriptionKey } from '../../lib/state/heartbeat';
import { batchOf } from '../helpers/batches';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';
import { sample } from '../helpers/samples';

let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

describe('heartbeat', () => {
  it('records the last time each subscription sent each data type, at most once per key per batch and refresh', async () => {
    const deps = await local.deps(local.env());
    const table = TableClient.fromConnectionString(local.azurite.connectionString(), HEARTBEAT_TABLE, {
      allowInsecureConnection: true,
    });
    const snapshot = sample<Record<string, Record<string, unknown>>>(
      'assessment-eventhub-example-2-insert.json',
    );
    snapshot.securityEventDataEnrichment!.isSnapshot = true;
    const hostile = {
      id: `/subscriptions/Evil\\'"sub/providers/Microsoft.Security/assessments/x`,
      type: 'Microsoft.Security/assessments',
    };
    const bodies = [
      sample('assessment-eventhub-example-1-delete.json'),
      sample('alert-eventhub-example-1-sample-alert.json'),
      sample('assessment-eventhub-example-1-delete.json'),
      snapshot,
      hostile,
    ];

    await processBatch(batchOf(bodies, { enqueuedTimeUtc: '2026-11-24T10:00:00.000Z' }), deps);
    const rows = async () => {
      const all: Array<{
        partitionKey: string;
        rowKey: string;
        lastSeen: Date;
        etag: string;
        subscriptionId: string;
      }> = [];
      for await (const entity of table.listEntities<{ lastSeen: Date; subscriptionId: string }>())
        all.push(entity as never);
      return all.sort((a, b) => `${a.partitionKey}${a.rowKey}`.localeCompare(`${b.partitionKey}${b.rowKey}`));
    };
    const first = await rows();
    expect(first.map((r) => [r.partitionKey, r.rowKey, r.lastSeen.toISOString()])).toEqual(
      expect.arrayContaining([
        ['12cabcb4-86e8-404f-a3d2-1dc9982f45ca', 'Alert-streaming', '2026-11-24T10:00:00.000Z'],
        ['12cabcb4-86e8-404f-a3d2-1dc9982f45ca', 'Recommendation-streaming', '2026-11-24T10:00:00.000Z'],
        ['1111111-1111-1111-111-11111111', 'Recommendation-snapshot', '2026-11-24T10:00:00.000Z'],
      ]),
    );
    const escaped = first.find((r) => r.subscriptionId === `evil\\'"sub`)!;
    expect(escaped.partitionKey).toBe(subscriptionKey(`evil\\'"sub`));
    expect(escaped.partitionKey).toMatch(/^x-[0-9a-f]{40}$/);

    // Two minutes later the same keys are not rewritten; seven minutes later they are.
    await processBatch(
      batchOf(bodies, { enqueuedTimeUtc: '2026-11-24T10:02:00.000Z', firstSequenceNumber: 200 }),
      deps,
    );
    expect((await rows()).map((r) => r.etag)).toEqual(first.map((r) => r.etag));
    await processBatch(
      batchOf(bodies, { enqueuedTimeUtc: '2026-11-24T10:07:00.000Z', firstSequenceNumber: 300 }),
      deps,
    );
    expect(new Set((await rows()).map((r) => r.lastSeen.toISOString()))).toEqual(
      new Set(['2026-11-24T10:07:00.000Z']),
    );
  });
});
