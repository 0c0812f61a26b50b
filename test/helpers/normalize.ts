import { fitRow, MAX_RECORD_LIMIT } from '../../lib/fit/fit';
import { normalizeMessage, type MessageContext, type NormalizedEvent } from '../../lib/records/normalize';
import type { LogsRow, RowIdentity } from '../../lib/records/row';

export const ENQUEUED = '2026-11-24T10:00:00.000Z';

function normalized(body: unknown, context: MessageContext): NormalizedEvent[] {
  const { events, rejections } = normalizeMessage(body, context);
  if (rejections.length > 0)
    throw new Error(`unexpected rejections: ${rejections.map((r) => r.reason).join('; ')}`);
  return events;
}

/** The identity columns of every event in one message body, with a fixed enqueued time. */
export function identities(
  body: unknown,
  context: MessageContext = { enqueuedTimeUtc: ENQUEUED },
): RowIdentity[] {
  return normalized(body, context).map((e) => e.identity);
}

export function only(body: unknown): RowIdentity {
  const all = identities(body);
  if (all.length !== 1) throw new Error(`expected one event, got ${all.length}`);
  return all[0]!;
}

/** The whole row the one event of a message body becomes, Properties and all, as sent to Log Analytics. */
export function onlyRow(body: unknown): LogsRow {
  const all = normalized(body, { enqueuedTimeUtc: ENQUEUED });
  if (all.length !== 1) throw new Error(`expected one event, got ${all.length}`);
  const { outcome, rows } = fitRow(all[0]!, { limit: MAX_RECORD_LIMIT, strategy: 'split', archiveBlob: '' });
  if (outcome !== 'whole') throw new Error(`expected a whole row, got ${outcome}`);
  return rows[0]!;
}
