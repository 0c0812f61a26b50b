import { z } from 'zod';
import { InvalidEventError } from '../errors';

/**
 * A zod object whose keys match case-insensitively: Defender's casing differs by data type and drifts
 * between API versions (`securityEventDataEnrichment` vs `SecurityEventDataEnrichment`). Only the declared
 * keys are read; everything else stays in the untouched original that the row carries as `Properties`.
 */
export function ciObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const canonical = new Map(Object.keys(shape).map((key) => [key.toLowerCase(), key]));
  return z.preprocess((input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
    const folded: Record<string, unknown> = {};
    const source = input as Record<string, unknown>;
    for (const key in source) {
      if (!Object.hasOwn(source, key)) continue;
      const name = canonical.get(key.toLowerCase());
      // An exact-case key wins over a differently cased duplicate.
      if (name !== undefined && (!Object.hasOwn(folded, name) || key === name)) folded[name] = source[key];
    }
    return folded;
  }, z.object(shape));
}

/** An optional field of the wrong type is ignored, not fatal: the event is still worth delivering. */
export const optionalText = z.string().optional().catch(undefined);
export const optionalFlag = z
  .union([
    z.boolean(),
    z.enum(['true', 'false', 'True', 'False']).transform((s) => s.toLowerCase() === 'true'),
  ])
  .optional()
  .catch(undefined);
export function optional<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}
/** A field the type cannot do without: a non-empty string. */
export const requiredText = z.string().trim().min(1);

/** Parses `event` or throws InvalidEventError naming every field that is missing or of the wrong type. */
export function parseEvent<T extends z.ZodType>(schema: T, event: unknown, dataType: string): z.output<T> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(event)';
    return issue.code === 'invalid_type' && /received undefined/.test(issue.message)
      ? `lacks ${field}`
      : `${field}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
  throw new InvalidEventError(`${dataType} ${problems.join('; ')}`);
}

const SUBSCRIPTION_IN_ID = /\/subscriptions\/([^/?#\s]+)/i;

/** The subscription id in the first ARM resource id that has one, lower-cased. */
export function subscriptionOf(...resourceIds: Array<string | undefined>): string {
  for (const id of resourceIds) {
    const match = id === undefined ? null : SUBSCRIPTION_IN_ID.exec(id);
    if (match?.[1]) return match[1].toLowerCase();
  }
  return '';
}

/** A subscription id given on its own (not inside a resource id), lower-cased. */
export function bareSubscription(id: string | undefined): string {
  return id === undefined ? '' : id.trim().toLowerCase();
}

/** ARM resource ids compare case-insensitively; the row carries them lower-cased so joins just work. */
export function armId(id: string | undefined): string {
  return id === undefined ? '' : id.trim().toLowerCase();
}

/** The resource an assessment or finding is about: its id up to the nested Microsoft.Security provider. */
export function parentResourceId(id: string | undefined): string {
  if (id === undefined) return '';
  const at = id.toLowerCase().lastIndexOf('/providers/microsoft.security/');
  return at > 0 ? armId(id.slice(0, at)) : '';
}

const SEVERITIES: Record<string, string> = {
  critical: 'High',
  high: 'High',
  medium: 'Medium',
  moderate: 'Medium',
  low: 'Low',
  informational: 'Informational',
  information: 'Informational',
  info: 'Informational',
};

/** `High` / `Medium` / `Low` / `Informational`, whatever the source casing; unknown values become ''. */
export function severity(value: string | undefined): string {
  return value === undefined ? '' : (SEVERITIES[value.trim().toLowerCase()] ?? '');
}

const ACTIONS: Record<string, string> = { insert: 'Insert', delete: 'Delete', write: 'Write' };

/** `Insert` / `Delete` / `Write`; an unexpected value is kept as sent (capped) rather than guessed. */
export function action(value: string | undefined): string {
  return value === undefined ? '' : (ACTIONS[value.trim().toLowerCase()] ?? text(value));
}

/** Free text for a column: trimmed and capped so a hostile event cannot make the identity columns huge. */
export const MAX_TEXT_COLUMN = 512;
export function text(value: string | undefined): string {
  if (value === undefined) return '';
  const trimmed = value.trim();
  if (trimmed.length <= MAX_TEXT_COLUMN) return trimmed;
  let cut = MAX_TEXT_COLUMN - 1;
  const last = trimmed.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1; // never split a surrogate pair
  return `${trimmed.slice(0, cut)}…`;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 time as `YYYY-MM-DDTHH:MM:SS[.fffffff]Z`, or undefined when it is not one. Defender writes
 * seven fractional digits, which are kept; a time without an offset (the XDR stream's `time`) is UTC.
 */
export function isoTime(value: string | undefined): string | undefined {
  const match = value === undefined ? null : ISO_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone = 'Z'] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || Number(y) < 1900)
    return undefined;
  if (zone.toUpperCase() !== 'Z') {
    const withZone = new Date(
      `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction ? `.${fraction.slice(0, 3)}` : ''}${zone}`,
    );
    return Number.isNaN(withZone.getTime()) ? undefined : withZone.toISOString();
  }
  const digits = fraction.slice(0, 7);
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${digits ? `.${digits}` : ''}Z`;
}
