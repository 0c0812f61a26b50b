import { describe, expect, it } from 'vitest';
import type { ParkedItem } from '../../lib/ports';
import { parkedItemJson, parseParkedItem } from '../../lib/sinks/parking';

const ORIGIN = {
  source: 'defender-cloud',
  partitionId: '0',
  firstSequenceNumber: 100,
  lastSequenceNumber: 101,
};
const FAILURE = { message: 'HTTP 503', status: 503, code: 'ServiceUnavailable' };

/** A parked logs item exactly as the version before the streaming core wrote it (rows as JSON objects). */
const WRITTEN_BEFORE = JSON.stringify({
  version: 1,
  origin: ORIGIN,
  destination: 'logs',
  stream: 'Custom-DefenderExport',
  rows: [
    {
      TimeGenerated: '2026-11-24T10:15:00.000Z',
      DataType: 'Alert',
      EventKey: 'k1',
      PartIndex: 0,
      Properties: { a: 'é' },
    },
    {
      TimeGenerated: '2026-11-24T10:15:00.000Z',
      DataType: 'Alert',
      EventKey: 'k2',
      PartIndex: 0,
      Properties: [1, 2.5, null],
    },
  ],
  events: 2,
  attempts: 1,
  firstParkedAt: '2026-11-24T10:20:00.000Z',
  lastError: FAILURE,
});

describe('parked items', () => {
  it('read a blob the previous version wrote: each row becomes exactly the JSON that was sent', () => {
    const item = parseParkedItem(WRITTEN_BEFORE);
    const rows = (JSON.parse(WRITTEN_BEFORE) as { rows: unknown[] }).rows;
    expect(item).toMatchObject({
      destination: 'logs',
      stream: 'Custom-DefenderExport',
      events: 2,
      attempts: 1,
    });
    expect(item.destination === 'logs' && item.rows).toEqual(rows.map((row) => JSON.stringify(row)));
  });

  it('are written in that same format, rows as objects, and read back unchanged', () => {
    const item = parseParkedItem(WRITTEN_BEFORE);
    expect(JSON.parse(parkedItemJson(item))).toEqual(JSON.parse(WRITTEN_BEFORE));
    expect(parseParkedItem(parkedItemJson(item))).toEqual(item);
  });

  it('keep archive lines as they are', () => {
    const item: ParkedItem = {
      version: 1,
      origin: ORIGIN,
      destination: 'archive',
      blobName: 'alert/y=2026/m=11/d=24/h=10/defender-cloud-p0-100-101.ndjson.gz',
      lines: ['{"a":1}', '{"b":"é"}'],
      events: 2,
      attempts: 3,
      firstParkedAt: '2026-11-24T10:20:00.000Z',
      lastError: FAILURE,
    };
    expect(parseParkedItem(parkedItemJson(item))).toEqual(item);
  });
});
