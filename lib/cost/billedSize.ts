/**
 * What Log Analytics bills for a record, by the rule of "Azure Monitor Logs cost calculations and options",
 * section "Data size calculation" (https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs): the
 * billed size is that of "a string representation of the column entries" stored for the record, without the
 * standard columns the section lists as excluded. Column names, quotes and JSON punctuation are not entries,
 * so they are not counted.
 *
 * The documentation does not say how each type is written as a string. The choices here, each the text
 * Kusto itself prints for the value, are ours:
 * - string, guid: the text, in UTF-8 bytes (no quotes, no JSON escapes);
 * - datetime: ISO 8601 in UTC with the fraction's trailing zeros dropped (`2026-11-24T10:15:00Z`, up to
 *   seven fractional digits), whatever form was sent;
 * - boolean: `true` or `false`; int, long, real: the decimal number;
 * - dynamic: the minified JSON text, except that a string value is its text;
 * - null, a missing value and an empty string: nothing (Kusto keeps no text for an empty string).
 */

/** The Logs Ingestion API's column types (DCR stream declarations) and the table's `bool` and `guid`. */
import { jsonBytes } from '../fit/measure';

export type BilledColumnType =
  'string' | 'guid' | 'datetime' | 'boolean' | 'bool' | 'int' | 'long' | 'real' | 'dynamic';

export interface BilledColumn {
  name: string;
  /** A BilledColumnType; a string so that infra/row-columns.json can be passed as it is read. */
  type: string;
}

/** Standard columns left out of the billed size (Analytics and Basic plans; the section lists these). */
export const EXCLUDED_COLUMNS: ReadonlySet<string> = new Set([
  '_ResourceId',
  '_SubscriptionId',
  '_ItemId',
  '_IsBillable',
  '_BilledSize',
  '_TenantId',
  'Type',
]);

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/i;

/** Kusto's text of a datetime: `YYYY-MM-DDTHH:MM:SS[.fffffff]Z` without trailing zeros in the fraction. */
function datetimeText(value: unknown): string {
  const sent = value instanceof Date ? value.toISOString() : String(value).trim();
  let match = ISO_TIME.exec(sent);
  if (!match) {
    const parsed = new Date(sent);
    if (Number.isNaN(parsed.getTime())) return sent; // stored as sent or refused: count what was sent
    match = ISO_TIME.exec(parsed.toISOString())!;
  }
  const [, date, time, fraction = ''] = match;
  const digits = fraction.slice(0, 7).replace(/0+$/, '');
  return `${date}T${time}${digits ? `.${digits}` : ''}Z`;
}

/** The text a value of a column of type `type` is billed as ('' when nothing is). */
export function entryText(value: unknown, type: string): string {
  if (value === null || value === undefined) return '';
  switch (type as BilledColumnType) {
    case 'string':
    case 'guid':
    case 'dynamic':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'datetime':
      return datetimeText(value);
    case 'boolean':
    case 'bool':
      return String(value === true || String(value).toLowerCase() === 'true');
    case 'int':
    case 'long':
    case 'real':
      return String(Number(value));
    default:
      throw new Error(`no billing rule for column type ${type}`);
  }
}

/**
 * Billed bytes of one record: the UTF-8 bytes of each entry's text (entryText). A field that is not a
 * declared column is billed too (the section: entries that do not match the table's schema are billed
 * though not stored), as a dynamic value; the excluded standard columns are free.
 */
export function billedSize(row: Readonly<Record<string, unknown>>, columns: readonly BilledColumn[]): number {
  const types = typesOf(columns);
  let bytes = 0;
  for (const [name, value] of Object.entries(row)) {
    if (EXCLUDED_COLUMNS.has(name)) continue;
    bytes += utf8(entryText(value, types.get(name) ?? 'dynamic'));
  }
  return bytes;
}

/**
 * Size of an event as received: the UTF-8 bytes of its minified JSON (as JSON.stringify writes it). A
 * message body's own whitespace, envelope (`{"records":[...]}`) or double encoding is not the event's, so
 * the baseline is the event itself: the same bytes the archive keeps and whole rows carry in Properties.
 */
export const rawEventBytes: (event: unknown) => number = jsonBytes;

/** Each column's type by name, made once per list of columns (a bench measures thousands of rows with one). */
const columnTypes = new WeakMap<readonly BilledColumn[], Map<string, string>>();
function typesOf(columns: readonly BilledColumn[]): Map<string, string> {
  let types = columnTypes.get(columns);
  if (!types) {
    types = new Map(columns.map((c) => [c.name, c.type]));
    columnTypes.set(columns, types);
  }
  return types;
}
