import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROW_COLUMNS } from '../../lib/records/row';
import { onlyRow } from '../helpers/normalize';
import { sample } from '../helpers/samples';

/**
 * Names a custom table may not declare. The Logs Ingestion API overview lists "Type, TenantId, resource,
 * resourceid, resourcename, resourcetype, subscriptionid, tenanted" as reserved (its earlier text also
 * named `id`); Log Analytics compares column names case-insensitively, and users report a table creation
 * refused for declaring `TenantId`. Every table also has standard columns, all starting with `_`
 * (`_ResourceId`, `_SubscriptionId`, `_BilledSize`, `_IsBillable`, `_ItemId`, ...).
 */
const RESERVED = [
  'Type',
  'TenantId',
  'resource',
  'resourceid',
  'resourcename',
  'resourcetype',
  'subscriptionid',
  'tenanted',
  'id',
];

/** The documented rule for a column name: starts with a letter, at most 45 letters, digits, `_` or `-`. */
const VALID_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,44}$/;

const reservedHit = (name: string) =>
  name.startsWith('_') || RESERVED.some((reserved) => reserved.toLowerCase() === name.toLowerCase());

const tableColumns = (
  JSON.parse(readFileSync('infra/row-columns.json', 'utf8')) as { columns: { name: string }[] }
).columns.map((c) => c.name);

describe('the row columns', () => {
  it('take no reserved or standard Log Analytics name, in any case', () => {
    expect(ROW_COLUMNS.map((c) => c.name).filter(reservedHit)).toEqual([]);
    expect(tableColumns.filter(reservedHit)).toEqual([]);
  });

  it('follow the documented column-name rule', () => {
    expect(tableColumns.filter((name) => !VALID_NAME.test(name))).toEqual([]);
  });

  it('catches the names a table would be refused for', () => {
    expect(
      ['TenantId', 'tenantid', 'SubscriptionId', 'ResourceId', 'TYPE', '_ResourceId'].map(reservedHit),
    ).toEqual([true, true, true, true, true, true]);
    // The names DefenderExportEvents gives the tenant and the resource at query time, as Microsoft's own
    // tables do, look like reserved ones but are not.
    expect(['AADTenantId', 'AzureSubscriptionId', 'AzureResourceId'].map(reservedHit)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('name no column after the reserved TenantId: the Entra tenant stays in Properties', () => {
    const rowColumns = ROW_COLUMNS.map((c) => c.name);
    for (const columns of [rowColumns, tableColumns]) {
      expect(columns.filter((name) => /tenant/i.test(name))).toEqual([]);
      expect(columns.filter(reservedHit)).toEqual([]);
      expect(columns).toContain('AzureSubscriptionId');
    }
    const assessment = sample('assessment-eventhub-example-1-delete.json');
    const row = onlyRow(assessment);
    expect(Object.keys(row)).toEqual(rowColumns);
    expect(row.Properties).toEqual(assessment);
    expect(row.Properties).toHaveProperty('tenantId', 'aa40685b-417d-4664-b4ec-8f7640719adb');
  });
});
