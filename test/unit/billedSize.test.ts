import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { billedSize, entryText, rawEventBytes, type BilledColumn } from '../../lib/cost/billedSize';
import { ROW_COLUMNS } from '../../lib/records/row';

const columns: BilledColumn[] = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'Name', type: 'string' },
  { name: 'Flag', type: 'boolean' },
  { name: 'Count', type: 'int' },
  { name: 'Size', type: 'long' },
  { name: 'Ratio', type: 'real' },
  { name: 'Id', type: 'guid' },
  { name: 'Bag', type: 'dynamic' },
];

describe('billed size of a record', () => {
  it('adds up the text of every entry, without column names or JSON punctuation', () => {
    const row = {
      TimeGenerated: '2026-11-24T10:15:00.000Z', // 2026-11-24T10:15:00Z: 20
      Name: 'café', // 5 (é is 2 bytes)
      Flag: false, // 5
      Count: 42, // 2
      Size: 1234567, // 7
      Ratio: 0.5, // 3
      Id: '00fb8673-8b42-4c83-a548-4f3e32248c1e', // 36
      Bag: { a: 'é', b: [1, true] }, // {"a":"é","b":[1,true]}: 23
    };
    expect(billedSize(row, columns)).toBe(20 + 5 + 5 + 2 + 7 + 3 + 36 + 23);
  });

  it('bills nothing for an empty string, null or a missing value', () => {
    expect(billedSize({ Name: '', Bag: null, Count: undefined }, columns)).toBe(0);
    expect(billedSize({ Name: 'x' }, columns)).toBe(1);
  });

  it('leaves out the standard columns the documentation excludes', () => {
    const standard = {
      _ResourceId: '/subscriptions/x',
      _SubscriptionId: 'x',
      _ItemId: 'x',
      _IsBillable: 'true',
      _BilledSize: 12,
      _TenantId: 'x',
      Type: 'DefenderExport_CL',
    };
    expect(billedSize({ ...standard, Name: 'abc' }, columns)).toBe(3);
  });

  it('bills a field that is not a column, as its JSON text', () => {
    expect(billedSize({ Extra: { k: 1 } }, columns)).toBe(7); // {"k":1}
    expect(billedSize({ Extra: 'abc' }, columns)).toBe(3);
  });

  it('writes a datetime as Kusto prints it, whatever form was sent', () => {
    expect(entryText('2026-11-24T10:15:00.000Z', 'datetime')).toBe('2026-11-24T10:15:00Z');
    expect(entryText('2026-11-24T10:15:00.1234567Z', 'datetime')).toBe('2026-11-24T10:15:00.1234567Z');
    expect(entryText('2026-11-24T10:15:00.120Z', 'datetime')).toBe('2026-11-24T10:15:00.12Z');
    expect(entryText('2026-11-24 10:15:00Z', 'datetime')).toBe('2026-11-24T10:15:00Z');
    expect(entryText('2026-11-24T11:15:00+01:00', 'datetime')).toBe('2026-11-24T10:15:00Z');
    expect(entryText(new Date(Date.UTC(2026, 10, 24, 10, 15)), 'datetime')).toBe('2026-11-24T10:15:00Z');
  });

  it('writes booleans, numbers and dynamic strings as their text', () => {
    expect(entryText(true, 'boolean')).toBe('true');
    expect(entryText('False', 'bool')).toBe('false');
    expect(entryText('17', 'int')).toBe('17');
    expect(entryText(3.25, 'real')).toBe('3.25');
    expect(entryText('a "quoted" piece', 'dynamic')).toBe('a "quoted" piece'); // not its JSON form
    expect(entryText('tab\there', 'string')).toBe('tab\there'); // no escapes
  });

  it('refuses a column type it has no rule for', () => {
    expect(() => billedSize({ X: 1 }, [{ name: 'X', type: 'decimal' }])).toThrow(/decimal/);
  });

  it("has a rule for every type of the DCR stream's columns", () => {
    const dcr = JSON.parse(readFileSync(path.resolve(__dirname, '../../infra/row-columns.json'), 'utf8')) as {
      columns: BilledColumn[];
    };
    const row = Object.fromEntries(dcr.columns.map((c) => [c.name, c.type === 'dynamic' ? {} : '1']));
    expect(() => billedSize(row, dcr.columns)).not.toThrow();
    expect(dcr.columns.map((c) => c.type)).toEqual(ROW_COLUMNS.map((c) => c.type));
  });

  it('bills a whole row as its values: the hand count of a small one', () => {
    const row = {
      TimeGenerated: '2026-11-24T10:15:00.000Z', // 20
      DataType: 'Alert', // 5
      Category: '',
      RecordId: 'id-1', // 4
      EventKey: 'k', // 1
      AzureSubscriptionId: '',
      Severity: 'High', // 4
      State: 'New', // 3
      DisplayName: '',
      Action: '',
      IsSnapshot: false, // 5
      PartIndex: 0, // 1
      PartCount: 1, // 1
      PartPath: '',
      Trimmed: false, // 5
      OriginalBytes: 512, // 3
      ArchiveBlob: '',
      Properties: { SystemAlertId: 'id-1' }, // {"SystemAlertId":"id-1"}: 24
    };
    expect(billedSize(row, ROW_COLUMNS)).toBe(20 + 5 + 4 + 1 + 4 + 3 + 5 + 1 + 1 + 5 + 3 + 24);
  });
});

describe('raw size of an event', () => {
  it('is the UTF-8 length of its minified JSON', () => {
    expect(rawEventBytes({ a: 'é', b: [1, 2] })).toBe(Buffer.byteLength('{"a":"é","b":[1,2]}'));
    expect(rawEventBytes(JSON.parse('{ "a" :\n "x" }'))).toBe(9); // {"a":"x"}
  });
});
