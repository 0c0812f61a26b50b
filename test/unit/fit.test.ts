import { describe, expect, it } from 'vitest';
import { FitError } from '../../lib/errors';
import { fitRow, type FitOptions } from '../../lib/fit/fit';
import { jsonBytes } from '../../lib/fit/measure';
import { reassemble } from '../../lib/fit/reassemble';
import { recordKey } from '../../lib/records/eventKey';
import type { JsonObject } from '../../lib/records/json';
import { normalizeEvent } from '../../lib/records/normalize';
import type { LogsRow } from '../../lib/records/row';
import { alertWithEntities } from '../helpers/events';
import { sample } from '../helpers/samples';

const LIMIT = 32_768;
const split: FitOptions = {
  limit: LIMIT,
  strategy: 'split',
  archiveBlob: 'alert/y=2026/m=11/d=24/h=10/batch.ndjson.gz',
};
const trim: FitOptions = { ...split, strategy: 'trim' };

function fit(event: JsonObject, options: FitOptions) {
  return fitRow(normalizeEvent(event, { index: 0, enqueuedTimeUtc: '2026-11-24T10:00:00Z' }), options);
}

const identityOf = ({ PartIndex: _i, PartPath: _p, Properties: _props, ...identity }: LogsRow) => identity;

describe('a row that fits', () => {
  it('goes whole, with OriginalBytes equal to its own size as sent', () => {
    const { outcome, rows } = fit(sample('alert-eventhub-example-1-sample-alert.json'), split);
    expect(outcome).toBe('whole');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      PartIndex: 0,
      PartCount: 1,
      PartPath: '',
      Trimmed: false,
      ArchiveBlob: '',
    });
    expect(rows[0]!.OriginalBytes).toBe(jsonBytes(rows[0]));
  });
});

describe('split', () => {
  const alert = alertWithEntities(400);

  it('cuts an alert with 400 entities (about 120 KB) into parts under 32,768 bytes that reassemble exactly', () => {
    expect(jsonBytes(alert)).toBeGreaterThan(110_000);
    const { outcome, rows, originalBytes } = fit(alert, split);
    expect(outcome).toBe('split');
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) expect(jsonBytes(row)).toBeLessThanOrEqual(LIMIT);
    expect(rows.map((r) => r.PartIndex)).toEqual(rows.map((_, i) => i));
    expect(new Set(rows.map((r) => r.PartCount))).toEqual(new Set([rows.length]));
    expect(new Set(rows.map((r) => JSON.stringify(identityOf(r))))).toHaveProperty('size', 1);
    expect(rows[0]).toMatchObject({
      DataType: 'Alert',
      RecordId: recordKey('400-entities'),
      Severity: 'Medium',
      OriginalBytes: originalBytes,
    });
    expect(rows[0]!.ArchiveBlob).toBe(split.archiveBlob);
    const back = reassemble(rows);
    expect(back).toEqual(alert);
    expect(JSON.stringify(back)).toBe(JSON.stringify(alert)); // key order too
  });

  it('keeps each part queryable: the entities stay whole entity objects under Properties.Entities', () => {
    const { rows } = fit(alert, split);
    const [head, ...rest] = rows;
    expect(head!.PartPath).toBe('$');
    expect((head!.Properties as JsonObject).AlertDisplayName).toBe(alert.AlertDisplayName);
    expect((head!.Properties as JsonObject).Entities).toEqual([]);
    const entities = rest.flatMap((row) => {
      expect(row.PartPath).toBe('$["Entities"]');
      return (row.Properties as { Entities: JsonObject[] }).Entities;
    });
    expect(entities).toEqual(alert.Entities);
  });

  it('splits a finding along its AdditionalData and falls back to cutting one long string', () => {
    const finding = sample<JsonObject>('subassessment-eventhub-example-1.json');
    const data = ((finding.Properties as JsonObject).AdditionalData as JsonObject).Data as JsonObject;
    data.Cves = Array.from({ length: 1500 }, (_, i) => ({
      Title: `CVE-2026-${10_000 + i}`,
      Link: `https://nvd.example/${i}`,
    }));
    data.Evidence = 'x\u0001"\u00e9'.repeat(20_000);
    const { rows } = fit(finding, split);
    for (const row of rows) expect(jsonBytes(row)).toBeLessThanOrEqual(LIMIT);
    const paths = new Set(rows.map((r) => r.PartPath));
    expect(paths).toContain('$["Properties"]["AdditionalData"]["Data"]["Cves"]');
    expect(paths).toContain('$["Properties"]["AdditionalData"]["Data"]["Evidence"]');
    expect(reassemble(rows)).toEqual(finding);
  });

  it('splits an attack path along its graph', () => {
    const attackPath: JsonObject = {
      id: '/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Security/attackPaths/p1',
      type: 'Microsoft.Security/attackPaths',
      properties: {
        displayName: 'Internet exposed VM can reach a key vault',
        riskLevel: 'High',
        graphComponent: {
          entities: Array.from({ length: 500 }, (_, i) => ({
            entityInternalId: `e${i}`,
            entityName: `vm-${i}`,
            entityType: 'virtualmachine',
          })),
          connections: Array.from({ length: 500 }, (_, i) => ({
            sourceEntityInternalId: `e${i}`,
            targetEntityInternalId: `e${i + 1}`,
            title: 'can authenticate as',
          })),
          insights: [],
        },
      },
    };
    const { rows } = fit(attackPath, split);
    const graphPaths = rows.map((r) => r.PartPath).filter((p) => p.includes('graphComponent'));
    expect(graphPaths).toContain('$["properties"]["graphComponent"]["entities"]');
    expect(graphPaths).toContain('$["properties"]["graphComponent"]["connections"]');
    expect(reassemble(rows)).toEqual(attackPath);
  });

  it('falls back to pieces of the JSON text when the nesting is too deep to follow', () => {
    let deep: JsonObject = { leaf: 'y'.repeat(50_000) };
    for (let i = 0; i < 60; i++) deep = { level: deep };
    const { rows } = fit(deep, split);
    expect(new Set(rows.map((r) => r.PartPath))).toEqual(new Set(['json']));
    for (const row of rows) expect(jsonBytes(row)).toBeLessThanOrEqual(LIMIT);
    expect(reassemble(rows)).toEqual(deep);
  });

  it('reassembles parts given in any order', () => {
    const { rows } = fit(alert, split);
    expect(reassemble([...rows].reverse())).toEqual(alert);
  });

  it('says which part is missing', () => {
    const { rows } = fit(alert, split);
    expect(() => reassemble(rows.filter((r) => r.PartIndex !== 2))).toThrow(
      /expected part 2 of \d+, found part 3/,
    );
  });
});

describe('trim', () => {
  it('keeps one row under the limit, cuts the largest content with a visible marker, and points at the original', () => {
    const alert = alertWithEntities(400);
    const { outcome, rows, originalBytes } = fit(alert, trim);
    expect(outcome).toBe('trimmed');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(jsonBytes(row)).toBeLessThanOrEqual(LIMIT);
    expect(row).toMatchObject({
      Trimmed: true,
      ArchiveBlob: trim.archiveBlob,
      OriginalBytes: originalBytes,
      PartCount: 1,
    });
    const properties = row.Properties as JsonObject;
    // Everything small survives; the 400 entities are what was cut.
    for (const key of [
      'AlertDisplayName',
      'SystemAlertId',
      'ExtendedProperties',
      'ResourceIdentifiers',
      'AlertUri',
    ]) {
      expect(properties[key]).toEqual(alert[key]);
    }
    const entities = properties.Entities as unknown[];
    expect(entities.length).toBeLessThan(400);
    expect(entities.at(-1)).toMatch(/^…\[trimmed \d+ of 400 elements\]$/);
    expect(() => reassemble(rows)).toThrow(/was trimmed; its original is archived at alert\//);
  });

  it('cuts one huge string, keeping its beginning', () => {
    const event = { id: 'x', Description: 'd'.repeat(100_000), Severity: 'High' };
    const row = fit(event, trim).rows[0]!;
    const description = (row.Properties as { Description: string }).Description;
    expect(description).toMatch(/^d+…\[trimmed \d+ bytes\]$/);
    expect((row.Properties as { Severity: string }).Severity).toBe('High');
    expect(jsonBytes(row)).toBeLessThanOrEqual(LIMIT);
  });
});

describe('limits', () => {
  it('refuses a limit outside 1 KB to 1 MB', () => {
    expect(() => fit({ a: 1 }, { ...split, limit: 1000 })).toThrow(FitError);
    expect(() => fit({ a: 1 }, { ...split, limit: 2_000_000 })).toThrow(/outside 1024..1048576/);
  });

  it('is a clear error when the identity columns alone leave no room', () => {
    // RecordId is a short key whatever the id; the text columns are cut at MAX_TEXT_COLUMN characters, which
    // in three-byte characters fill the record by themselves.
    const long = '€'.repeat(3000);
    const event = {
      id: `/subscriptions/s/${'r'.repeat(3000)}`,
      type: 'Microsoft.Security/assessments',
      properties: { displayName: long, metadata: { categories: [long] } },
      big: 'x'.repeat(5000),
    };
    for (const options of [split, trim]) {
      expect(() => fit(event, { ...options, limit: 2048 })).toThrow(
        /identity columns of Recommendation .* take \d+ bytes/,
      );
    }
  });
});
